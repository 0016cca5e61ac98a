// The file layer under the decision log (STYLE 13).
//
// Every file, directory, sync, lock and clock call of src/log goes through an Env, so that tests can
// fail a chosen call (FaultInjectionEnv) and drop unsynced data to simulate a power loss
// (PowerLossEnv, an in-memory file system). posix_env() is the real one.
//
// Errors: kIOError naming the path and the system error, unless a method says otherwise.
// Thread safety: an Env's methods may be called from any thread concurrently. A WritableFile
// or FileLock is used by one thread at a time (its owner serializes calls).
// Lifetime: the Env must outlive every WritableFile and FileLock it returned.
#ifndef XATM_SRC_LOG_ENV_H_
#define XATM_SRC_LOG_ENV_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xatm/status.h"

namespace xatm::internal {

// A file open for writing at explicit offsets. Destroying it closes the file; it never syncs on
// its own.
class WritableFile {
 public:
  virtual ~WritableFile() = default;

  [[nodiscard]] virtual const std::string& path() const = 0;

  // Writes all of `data` at byte `offset` (pwrite), growing the file if it ends before. After an
  // error the file may hold any prefix of `data` there.
  virtual Status write_at(std::uint64_t offset, std::string_view data) = 0;

  // Makes the file at least `size` bytes long with its blocks allocated (fallocate): the new
  // bytes read as zeros, and later writes into them need no new blocks. Never shrinks the file.
  // Not synced: an fsync makes the new size durable.
  virtual Status allocate(std::uint64_t size) = 0;

  // fdatasync: the data and the metadata needed to read it back (the size) reach the disk.
  virtual Status sync_data() = 0;

  // fsync: the data and all of the file's metadata reach the disk.
  virtual Status sync() = 0;

  // Cuts the file to `size` bytes (ftruncate). Not synced.
  virtual Status truncate(std::uint64_t size) = 0;
};

// A held lock; destroying it releases the lock.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // Creates directory `dir` (not its parents) with mode 0700. true when it was created, false
  // when a directory of that name existed already.
  virtual Result<bool> create_dir(const std::string& dir) = 0;

  // The names in `dir`, without "." and "..", in no particular order.
  virtual Result<std::vector<std::string>> list_dir(const std::string& dir) = 0;

  // The whole content of the file at `path`.
  virtual Result<std::string> read_file(const std::string& path) = 0;

  // Creates the file at `path` with mode 0600; it must not exist yet.
  virtual Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path) = 0;

  // Opens the existing file at `path` for writing.
  virtual Result<std::unique_ptr<WritableFile>> reopen_writable_file(const std::string& path) = 0;

  virtual Status remove_file(const std::string& path) = 0;

  // fsync of the directory itself, so that files created or removed in it stay so.
  virtual Status sync_dir(const std::string& dir) = 0;

  // Takes an exclusive, non-blocking flock on the directory `dir` itself (not on a file in it,
  // which could be deleted) through a new open file description, so a second lock_dir() of the
  // same directory fails even within one process. kFailedPrecondition when anyone else holds it.
  virtual Result<std::unique_ptr<FileLock>> lock_dir(const std::string& dir) = 0;

  // The wall clock: a new log's birth time is read here.
  virtual std::chrono::system_clock::time_point now() = 0;
};

}  // namespace xatm::internal

#endif  // XATM_SRC_LOG_ENV_H_
