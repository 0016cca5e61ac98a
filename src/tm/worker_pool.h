// A fixed set of threads that run the branches of one transaction's phase in parallel.
//
// run_all(n, fn) calls fn(0) .. fn(n-1), each exactly once, and returns when all have returned.
// The calling thread claims indices too, so a batch always progresses even when every pool
// thread is busy with other transactions: no deadlock, and no thread is spawned per call.
//
// Thread safety: run_all() may be called from many threads at once. fn must not throw.
#ifndef XATM_SRC_TM_WORKER_POOL_H_
#define XATM_SRC_TM_WORKER_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace xatm::internal {

class WorkerPool {
 public:
  // threads == 0: run_all runs everything on the calling thread, in index order.
  explicit WorkerPool(std::size_t threads);
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  ~WorkerPool();  // joins the threads; REQUIRES: no run_all in progress

  void run_all(std::size_t n, const std::function<void(std::size_t)>& fn);

 private:
  struct Batch;
  void worker_loop();

  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::deque<std::shared_ptr<Batch>> queue_;  // guarded by mutex_: one entry per helper wanted
  bool stopping_ = false;                     // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace xatm::internal

#endif  // XATM_SRC_TM_WORKER_POOL_H_
