#include "xa/control_thread.h"

namespace xatm::internal {

ControlThread::ControlThread() : thread_([this] { loop(); }) {}

ControlThread::~ControlThread() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void ControlThread::run(const std::function<void()>& fn) {
  // From the control thread itself (work that calls back into its own session): it is already
  // where fn must run, and handing it over would wait for itself forever.
  if (std::this_thread::get_id() == thread_.get_id()) {
    fn();
    return;
  }
  std::lock_guard caller(callers_);
  std::unique_lock lock(mutex_);
  pending_ = &fn;
  changed_.notify_all();
  changed_.wait(lock, [this] { return pending_ == nullptr; });
}

void ControlThread::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return pending_ != nullptr || stopping_; });
    if (pending_ == nullptr) return;  // stopping, and nothing left to run
    const std::function<void()>* fn = pending_;
    lock.unlock();
    (*fn)();
    lock.lock();
    pending_ = nullptr;
    changed_.notify_all();
  }
}

}  // namespace xatm::internal
