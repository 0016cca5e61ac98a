// An Env for tests: an in-memory file system that knows which of its changes a sync made
// durable, and loses the others the way a power loss does.
//
//   PowerLossEnv env;
//   ... open a log over env, append from any threads ...
//   env.cut_power();                  // from now on every call fails, and changes nothing
//   ... let the threads see their errors, destroy the log ...
//   env.restore_power(PowerLossEnv::Loss::kRandomPrefix, seed);
//   ... reopen the log over env and check what survived ...
//
// The model is POSIX's strict one (LevelDB's fault_injection_test, SQLite's test6.c):
//  - File content. A successful sync_data() or sync() makes the file's content durable. The
//    writes, truncations and allocations since its last sync are unsynced: a power loss keeps
//    none of them, all of them, or a prefix of them cut at any byte (a write kept in part keeps
//    a prefix of its bytes; a truncation or an allocation counts as one byte).
//  - Directory entries. A file or directory created, or a file removed, changes its directory's
//    entries; sync_dir() of that directory makes its entries durable. A power loss keeps none,
//    all, or a prefix (in order) of each directory's unsynced entry changes: a file whose
//    creation was never made durable may vanish, synced content and all; a removed file may
//    come back with its durable content. Syncing a file does not make its name durable.
//  - A power loss also releases every lock and invalidates every open file: a WritableFile from
//    before it fails every call with kIOError. So does a process crash (Loss::kProcessCrash),
//    which loses nothing.
//
// Paths are absolute, '/'-separated, without "." or ".." components; "/" always exists.
//
// Thread safety: every method may be called concurrently (one mutex guards the whole file
// system). Lifetime: the Env must outlive every file and lock it returned.
#ifndef XATM_TESTING_LOG_POWER_LOSS_ENV_H_
#define XATM_TESTING_LOG_POWER_LOSS_ENV_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "log/env.h"

namespace xatm::internal {

class PowerLossEnv final : public Env {
 public:
  // What a power loss keeps of the unsynced changes.
  enum class Loss {
    kKeepNothing,   // every unsynced change is lost
    kRandomPrefix,  // per file and per directory, a random prefix of its unsynced changes
    // A process crash (kill -9), not a power loss: nothing is lost, and what was unsynced
    // stays unsynced (in the page cache), so a later power loss can still lose it.
    kProcessCrash,
  };

  // Counts of successful calls since construction.
  struct Counters {
    std::uint64_t writes = 0;
    std::uint64_t bytes_written = 0;
    std::uint64_t data_syncs = 0;  // sync_data
    std::uint64_t file_syncs = 0;  // sync
    std::uint64_t dir_syncs = 0;
  };

  PowerLossEnv();
  ~PowerLossEnv() override;

  PowerLossEnv(const PowerLossEnv&) = delete;
  PowerLossEnv& operator=(const PowerLossEnv&) = delete;

  // The power goes: every later call fails with kIOError and changes nothing, until
  // restore_power().
  void cut_power();
  // The power goes when `calls` more calls have succeeded: the call after them fails, as does
  // every later one. Deterministic for a single thread.
  void cut_power_after(std::uint64_t calls);
  [[nodiscard]] bool power_is_on() const;

  // Applies the loss to everything unsynced (using `seed` for kRandomPrefix; what survives a
  // power loss is then on disk, durable), drops every lock and open file, and turns the power
  // back on.
  void restore_power(Loss loss, std::uint64_t seed = 0);

  [[nodiscard]] Counters counters() const;
  // The total size of the files in `dir` (0 if there is none), as a reader would see them now.
  [[nodiscard]] std::uint64_t dir_bytes(const std::string& dir) const;

  Result<bool> create_dir(const std::string& dir) override;
  Result<std::vector<std::string>> list_dir(const std::string& dir) override;
  Result<std::string> read_file(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> reopen_writable_file(const std::string& path) override;
  Status remove_file(const std::string& path) override;
  Status sync_dir(const std::string& dir) override;
  Result<std::unique_ptr<FileLock>> lock_dir(const std::string& dir) override;
  // The real clock until set_now() fixes it (the clock survives a power loss).
  std::chrono::system_clock::time_point now() override;
  void set_now(std::chrono::system_clock::time_point now);

  // A file or a directory of the simulated file system (power_loss_env.cc).
  struct Node;

 private:
  class File;  // a WritableFile
  class Lock;  // a FileLock
  friend class File;
  friend class Lock;

  // Checks the power and counts the call: kIOError naming `what` and `path` when the power is
  // off. REQUIRES: mu_ held.
  Status begin_call(std::string_view what, const std::string& path);
  // The node at `path`, or nullptr. REQUIRES: mu_ held.
  std::shared_ptr<Node> find(const std::string& path) const;
  // Opens the file at `path` for writing; creates it when `create` (failing if it exists).
  Result<std::unique_ptr<WritableFile>> open_file(const std::string& path, bool create);

  mutable std::mutex mu_;
  std::shared_ptr<Node> root_;                  // guarded by mu_
  bool power_on_ = true;                        // guarded by mu_
  std::uint64_t calls_until_cut_ = UINT64_MAX;  // guarded by mu_
  std::uint64_t epoch_ = 0;                     // guarded by mu_: power losses so far
  std::uint64_t next_lock_id_ = 1;              // guarded by mu_
  std::map<std::string, std::uint64_t> locks_;  // guarded by mu_: directory -> lock id
  std::optional<std::chrono::system_clock::time_point> now_;  // guarded by mu_: set_now()
  Counters counters_;                           // guarded by mu_
};

}  // namespace xatm::internal

#endif  // XATM_TESTING_LOG_POWER_LOSS_ENV_H_
