// An Env for tests: forwards to a base Env, records every call, and fails the calls it is told
// to fail.
//
//   FaultInjectionEnv env(posix_env());
//   env.fail_call(EnvOp::kSyncData);        // the next fdatasync fails with kIOError
//   env.fail_call(EnvOp::kWrite, 2);        // the third write from now fails
//
// An injected failure does not reach the base Env, except that a failed write first writes
// the first half of its data (a torn write). Each fail_call() arms one failure.
//
// Thread safety: all methods may be called concurrently (one mutex guards the call record and
// the armed failures). Lifetime: the base Env must outlive this one, which must outlive every
// file and lock it returned.
#ifndef XATM_TESTING_LOG_FAULT_INJECTION_ENV_H_
#define XATM_TESTING_LOG_FAULT_INJECTION_ENV_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "log/env.h"

namespace xatm::internal {

enum class EnvOp {
  kCreateDir,
  kListDir,
  kReadFile,
  kNewFile,
  kReopenFile,
  kWrite,     // WritableFile::write_at
  kAllocate,  // WritableFile::allocate
  kSyncData,  // WritableFile::sync_data (fdatasync)
  kSync,      // WritableFile::sync (fsync)
  kTruncate,
  kRemoveFile,
  kSyncDir,
  kLockDir,
};

std::string_view env_op_name(EnvOp op);

// One call as it reached the FaultInjectionEnv.
struct EnvCall {
  EnvOp op;
  std::string path;
  std::string data;        // kWrite: the bytes to write
  std::uint64_t size = 0;  // kWrite: the offset; kTruncate, kAllocate: the size
  bool failed = false;     // an injected failure
};

class FaultInjectionEnv final : public Env {
 public:
  explicit FaultInjectionEnv(Env& base) : base_(base) {}

  // Arms a failure: the call of `op` after `skip` further calls of `op` fails with kIOError.
  void fail_call(EnvOp op, int skip = 0);

  // Every call so far, oldest first; clear_calls() forgets them. set_recording(false) stops
  // recording (long tests), failures stay armed.
  std::vector<EnvCall> calls() const;
  void clear_calls();
  void set_recording(bool on);

  // Calls `hook` with every call before it is recorded and made, outside this Env's mutex, so
  // that it may block: tests hold a thread inside a call with it. An empty hook removes it.
  void set_call_hook(std::function<void(const EnvCall&)> hook);

  // Records `call` and returns kIOError if an armed failure matches it. Used by this Env's files.
  Status on_call(EnvCall call);

  Result<bool> create_dir(const std::string& dir) override;
  Result<std::vector<std::string>> list_dir(const std::string& dir) override;
  Result<std::string> read_file(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> reopen_writable_file(const std::string& path) override;
  Status remove_file(const std::string& path) override;
  Status sync_dir(const std::string& dir) override;
  Result<std::unique_ptr<FileLock>> lock_dir(const std::string& dir) override;
  std::chrono::system_clock::time_point now() override;  // the base Env's, never failed

 private:
  struct ArmedFailure {
    EnvOp op;
    int skip;
  };

  Result<std::unique_ptr<WritableFile>> wrap(Result<std::unique_ptr<WritableFile>> file);

  Env& base_;
  mutable std::mutex mu_;
  std::vector<EnvCall> calls_;                // guarded by mu_
  std::vector<ArmedFailure> armed_;           // guarded by mu_
  bool recording_ = true;                     // guarded by mu_
  std::function<void(const EnvCall&)> hook_;  // guarded by mu_
};

}  // namespace xatm::internal

#endif  // XATM_TESTING_LOG_FAULT_INJECTION_ENV_H_
