#include "testing/log/fault_injection_env.h"

#include <utility>

namespace xatm::internal {
namespace {

// Forwards to the base file after asking the env whether this call fails.
class FaultInjectionFile final : public WritableFile {
 public:
  FaultInjectionFile(FaultInjectionEnv& env, std::unique_ptr<WritableFile> base)
      : env_(env), base_(std::move(base)) {}

  [[nodiscard]] const std::string& path() const override { return base_->path(); }

  Status write_at(std::uint64_t offset, std::string_view data) override {
    Status injected = env_.on_call({EnvOp::kWrite, path(), std::string(data), offset, false});
    if (injected.ok()) return base_->write_at(offset, data);
    // A failed write may leave part of the data behind; leave half, like a torn write.
    base_->write_at(offset, data.substr(0, data.size() / 2)).ignore_error();
    return injected;
  }

  Status allocate(std::uint64_t size) override {
    XATM_RETURN_IF_ERROR(env_.on_call({EnvOp::kAllocate, path(), {}, size, false}));
    return base_->allocate(size);
  }

  Status sync_data() override {
    XATM_RETURN_IF_ERROR(env_.on_call({EnvOp::kSyncData, path(), {}, 0, false}));
    return base_->sync_data();
  }

  Status sync() override {
    XATM_RETURN_IF_ERROR(env_.on_call({EnvOp::kSync, path(), {}, 0, false}));
    return base_->sync();
  }

  Status truncate(std::uint64_t size) override {
    XATM_RETURN_IF_ERROR(env_.on_call({EnvOp::kTruncate, path(), {}, size, false}));
    return base_->truncate(size);
  }

 private:
  FaultInjectionEnv& env_;
  std::unique_ptr<WritableFile> base_;
};

}  // namespace

std::string_view env_op_name(EnvOp op) {
  switch (op) {
    case EnvOp::kCreateDir: return "create_dir";
    case EnvOp::kListDir: return "list_dir";
    case EnvOp::kReadFile: return "read_file";
    case EnvOp::kNewFile: return "new_writable_file";
    case EnvOp::kReopenFile: return "reopen_writable_file";
    case EnvOp::kWrite: return "write";
    case EnvOp::kAllocate: return "allocate";
    case EnvOp::kSyncData: return "sync_data";
    case EnvOp::kSync: return "sync";
    case EnvOp::kTruncate: return "truncate";
    case EnvOp::kRemoveFile: return "remove_file";
    case EnvOp::kSyncDir: return "sync_dir";
    case EnvOp::kLockDir: return "lock_dir";
  }
  return "unknown";
}

void FaultInjectionEnv::fail_call(EnvOp op, int skip) {
  std::lock_guard lock(mu_);
  armed_.push_back({op, skip});
}

std::vector<EnvCall> FaultInjectionEnv::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

void FaultInjectionEnv::clear_calls() {
  std::lock_guard lock(mu_);
  calls_.clear();
}

void FaultInjectionEnv::set_recording(bool on) {
  std::lock_guard lock(mu_);
  recording_ = on;
}

void FaultInjectionEnv::set_call_hook(std::function<void(const EnvCall&)> hook) {
  std::lock_guard lock(mu_);
  hook_ = std::move(hook);
}

Status FaultInjectionEnv::on_call(EnvCall call) {
  std::function<void(const EnvCall&)> hook;
  {
    std::lock_guard lock(mu_);
    hook = hook_;
  }
  if (hook) hook(call);
  std::lock_guard lock(mu_);
  bool fail = false;
  for (auto it = armed_.begin(); it != armed_.end(); ++it) {
    if (it->op != call.op) continue;
    if (it->skip-- > 0) continue;
    armed_.erase(it);
    fail = true;
    break;
  }
  call.failed = fail;
  std::string path = call.path;
  EnvOp op = call.op;
  if (recording_) calls_.push_back(std::move(call));
  if (!fail) return Status();
  return io_error("injected failure of " + std::string(env_op_name(op)) + " " + path);
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::wrap(
    Result<std::unique_ptr<WritableFile>> file) {
  if (!file.ok()) return file.status();
  return std::unique_ptr<WritableFile>(
      std::make_unique<FaultInjectionFile>(*this, std::move(file).value()));
}

Result<bool> FaultInjectionEnv::create_dir(const std::string& dir) {
  XATM_RETURN_IF_ERROR(on_call({EnvOp::kCreateDir, dir, {}, 0, false}));
  return base_.create_dir(dir);
}

Result<std::vector<std::string>> FaultInjectionEnv::list_dir(const std::string& dir) {
  XATM_RETURN_IF_ERROR(on_call({EnvOp::kListDir, dir, {}, 0, false}));
  return base_.list_dir(dir);
}

Result<std::string> FaultInjectionEnv::read_file(const std::string& path) {
  XATM_RETURN_IF_ERROR(on_call({EnvOp::kReadFile, path, {}, 0, false}));
  return base_.read_file(path);
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::new_writable_file(
    const std::string& path) {
  XATM_RETURN_IF_ERROR(on_call({EnvOp::kNewFile, path, {}, 0, false}));
  return wrap(base_.new_writable_file(path));
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::reopen_writable_file(
    const std::string& path) {
  XATM_RETURN_IF_ERROR(on_call({EnvOp::kReopenFile, path, {}, 0, false}));
  return wrap(base_.reopen_writable_file(path));
}

Status FaultInjectionEnv::remove_file(const std::string& path) {
  XATM_RETURN_IF_ERROR(on_call({EnvOp::kRemoveFile, path, {}, 0, false}));
  return base_.remove_file(path);
}

Status FaultInjectionEnv::sync_dir(const std::string& dir) {
  XATM_RETURN_IF_ERROR(on_call({EnvOp::kSyncDir, dir, {}, 0, false}));
  return base_.sync_dir(dir);
}

Result<std::unique_ptr<FileLock>> FaultInjectionEnv::lock_dir(const std::string& dir) {
  XATM_RETURN_IF_ERROR(on_call({EnvOp::kLockDir, dir, {}, 0, false}));
  return base_.lock_dir(dir);
}

std::chrono::system_clock::time_point FaultInjectionEnv::now() {
  return base_.now();
}

}  // namespace xatm::internal
