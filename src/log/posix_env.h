// The POSIX implementation of Env: open/pwrite/fallocate/fdatasync/fsync/ftruncate/flock.
//
// Thread safety: as Env. The object holds no state.
#ifndef XATM_SRC_LOG_POSIX_ENV_H_
#define XATM_SRC_LOG_POSIX_ENV_H_

#include "log/env.h"

namespace xatm::internal {

class PosixEnv final : public Env {
 public:
  Result<bool> create_dir(const std::string& dir) override;
  Result<std::vector<std::string>> list_dir(const std::string& dir) override;
  Result<std::string> read_file(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> reopen_writable_file(const std::string& path) override;
  Status remove_file(const std::string& path) override;
  Status sync_dir(const std::string& dir) override;
  Result<std::unique_ptr<FileLock>> lock_dir(const std::string& dir) override;
  std::chrono::system_clock::time_point now() override;
};

// The process-wide PosixEnv; lives until the program exits.
Env& posix_env();

}  // namespace xatm::internal

#endif  // XATM_SRC_LOG_POSIX_ENV_H_
