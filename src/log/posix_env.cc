#include "log/posix_env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace xatm::internal {
namespace {

Status posix_error(std::string_view call, const std::string& path, int error) {
  std::string message(call);
  message += " ";
  message += path;
  message += ": ";
  message += std::error_code(error, std::system_category()).message();
  return io_error(std::move(message));
}

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }
  // Gives up ownership: the caller closes the descriptor.
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Result<int> open_fd(const std::string& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return posix_error("open", path, errno);
  return fd;
}

// Syncs `fd`. Never retried: after a failed fsync the kernel may have dropped the dirty pages,
// so a second call could succeed without the data being on disk.
Status sync_fd(int fd, const std::string& path, bool data_only) {
#if defined(__APPLE__)
  // macOS fsync() does not flush the drive's cache; F_FULLFSYNC does.
  (void)data_only;
  if (::fcntl(fd, F_FULLFSYNC) == 0) return Status();
  return posix_error("fcntl(F_FULLFSYNC)", path, errno);
#else
  if ((data_only ? ::fdatasync(fd) : ::fsync(fd)) == 0) return Status();
  return posix_error(data_only ? "fdatasync" : "fsync", path, errno);
#endif
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  [[nodiscard]] const std::string& path() const override { return path_; }

  Status write_at(std::uint64_t offset, std::string_view data) override {
    while (!data.empty()) {
      ssize_t written = ::pwrite(fd_.get(), data.data(), data.size(), static_cast<off_t>(offset));
      if (written < 0) {
        if (errno == EINTR) continue;
        return posix_error("pwrite", path_, errno);
      }
      data.remove_prefix(static_cast<std::size_t>(written));
      offset += static_cast<std::uint64_t>(written);
    }
    return Status();
  }

  Status allocate(std::uint64_t size) override {
#if defined(__linux__)
    // Mode 0 allocates the blocks and grows the size; the new range reads as zeros.
    int result;
    do {
      result = ::fallocate(fd_.get(), 0, 0, static_cast<off_t>(size));
    } while (result != 0 && errno == EINTR);
    if (result == 0) return Status();
    if (errno != EOPNOTSUPP) return posix_error("fallocate", path_, errno);
      // A file system without fallocate (some network ones): a sparse extension reads as zeros
      // too; it only loses the head start on block allocation.
#endif
    struct stat info;
    if (::fstat(fd_.get(), &info) != 0) return posix_error("fstat", path_, errno);
    if (static_cast<std::uint64_t>(info.st_size) >= size) return Status();
    if (::ftruncate(fd_.get(), static_cast<off_t>(size)) == 0) return Status();
    return posix_error("ftruncate", path_, errno);
  }

  Status sync_data() override { return sync_fd(fd_.get(), path_, /*data_only=*/true); }
  Status sync() override { return sync_fd(fd_.get(), path_, /*data_only=*/false); }

  Status truncate(std::uint64_t size) override {
    if (::ftruncate(fd_.get(), static_cast<off_t>(size)) == 0) return Status();
    return posix_error("ftruncate", path_, errno);
  }

 private:
  std::string path_;
  Fd fd_;
};

// flock locks belong to the open file description, so closing our descriptor releases it.
class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}

 private:
  Fd fd_;
};

}  // namespace

Result<bool> PosixEnv::create_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return true;
  int error = errno;
  struct stat info;
  if (error == EEXIST && ::stat(dir.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) return false;
  return posix_error("mkdir", dir, error);
}

Result<std::vector<std::string>> PosixEnv::list_dir(const std::string& dir) {
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) return posix_error("opendir", dir, errno);
  std::vector<std::string> names;
  errno = 0;
  // readdir is safe on a stream no other thread uses (POSIX.1-2008 TC2); readdir_r is deprecated.
  while (struct dirent* entry = ::readdir(stream)) {  // NOLINT(concurrency-mt-unsafe)
    std::string_view name(entry->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int error = errno;
  ::closedir(stream);
  if (error != 0) return posix_error("readdir", dir, error);
  return names;
}

Result<std::string> PosixEnv::read_file(const std::string& path) {
  Result<int> opened = open_fd(path, O_RDONLY);
  if (!opened.ok()) return opened.status();
  Fd fd(*opened);
  std::string content;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t got = ::read(fd.get(), buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return posix_error("read", path, errno);
    if (got == 0) return content;
    content.append(buffer, static_cast<std::size_t>(got));
  }
}

Result<std::unique_ptr<WritableFile>> PosixEnv::new_writable_file(const std::string& path) {
  Result<int> fd = open_fd(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(path, *fd));
}

Result<std::unique_ptr<WritableFile>> PosixEnv::reopen_writable_file(const std::string& path) {
  Result<int> fd = open_fd(path, O_WRONLY);
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(path, *fd));
}

Status PosixEnv::remove_file(const std::string& path) {
  if (::unlink(path.c_str()) == 0) return Status();
  return posix_error("unlink", path, errno);
}

Status PosixEnv::sync_dir(const std::string& dir) {
  Result<int> opened = open_fd(dir, O_RDONLY | O_DIRECTORY);
  if (!opened.ok()) return opened.status();
  Fd fd(*opened);
  return sync_fd(fd.get(), dir, /*data_only=*/false);
}

// The lock is on the directory's own inode, through a descriptor of the directory: no file in
// it can be deleted or replaced to break the exclusion (a LOCK file could be, and two writers
// would then share one log).
Result<std::unique_ptr<FileLock>> PosixEnv::lock_dir(const std::string& dir) {
  Result<int> opened = open_fd(dir, O_RDONLY | O_DIRECTORY);
  if (!opened.ok()) return opened.status();
  Fd fd(*opened);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    if (error == EWOULDBLOCK) {
      return failed_precondition_error(dir + " is locked");
    }
    return posix_error("flock", dir, error);
  }
  return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(fd.release()));
}

std::chrono::system_clock::time_point PosixEnv::now() { return std::chrono::system_clock::now(); }

Env& posix_env() {
  static PosixEnv env;  // stateless, so it is safe to use until the program exits
  return env;
}

}  // namespace xatm::internal
