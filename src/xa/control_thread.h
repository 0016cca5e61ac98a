// One dedicated thread that runs, one at a time, the calls handed to it: the X/Open "thread of
// control" of an adopted xa_switch_t session (see xatm/xa_switch.h).
//
// run(fn) hands fn to the thread and blocks until it has returned, so the caller sees fn's
// effects as if it had called it itself. Called on the control thread itself (from inside an
// earlier fn), it runs fn there directly.
//
// Thread safety: run() may be called from any thread; concurrent calls are serialised.
#ifndef XATM_SRC_XA_CONTROL_THREAD_H_
#define XATM_SRC_XA_CONTROL_THREAD_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace xatm::internal {

class ControlThread {
 public:
  ControlThread();
  ControlThread(const ControlThread&) = delete;
  ControlThread& operator=(const ControlThread&) = delete;
  ~ControlThread();  // joins the thread; REQUIRES: no run() in progress

  // Runs fn on the control thread and returns when it has returned. fn must not throw.
  void run(const std::function<void()>& fn);

  std::thread::id id() const { return thread_.get_id(); }

 private:
  void loop();

  std::mutex callers_;  // one run() at a time
  std::mutex mutex_;
  std::condition_variable changed_;
  const std::function<void()>* pending_ = nullptr;  // guarded by mutex_
  bool stopping_ = false;                           // guarded by mutex_
  std::thread thread_;
};

}  // namespace xatm::internal

#endif  // XATM_SRC_XA_CONTROL_THREAD_H_
