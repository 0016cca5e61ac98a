#include "tm/worker_pool.h"

#include <algorithm>
#include <atomic>

namespace xatm::internal {

// One run_all call. Indices are claimed with an atomic counter, so whichever thread gets to
// the batch first does the next piece of work.
struct WorkerPool::Batch {
  Batch(std::size_t n, const std::function<void(std::size_t)>& fn) : size(n), work(fn) {}

  // Claims and runs indices until none is left.
  void help() {
    for (std::size_t i = next.fetch_add(1); i < size; i = next.fetch_add(1)) {
      work(i);
      if (done.fetch_add(1) + 1 == size) {
        std::lock_guard lock(mutex);
        finished = true;
        all_done.notify_all();
      }
    }
  }

  const std::size_t size;
  const std::function<void(std::size_t)>& work;  // lives in run_all's caller until finished
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::mutex mutex;
  std::condition_variable all_done;
  bool finished = false;  // guarded by mutex
};

WorkerPool::WorkerPool(std::size_t threads) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { worker_loop(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void WorkerPool::run_all(std::size_t n, const std::function<void(std::size_t)>& fn) {
  if (n == 0) return;
  if (n == 1 || threads_.empty()) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  auto batch = std::make_shared<Batch>(n, fn);
  std::size_t helpers = std::min(n - 1, threads_.size());
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < helpers; ++i) queue_.push_back(batch);
  }
  if (helpers == 1) {
    work_ready_.notify_one();
  } else {
    work_ready_.notify_all();
  }
  batch->help();
  std::unique_lock lock(batch->mutex);
  batch->all_done.wait(lock, [&] { return batch->finished; });
  // A helper that dequeues this batch later finds no index left and never touches `fn`.
}

void WorkerPool::worker_loop() {
  for (;;) {
    std::shared_ptr<Batch> batch;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    batch->help();
  }
}

}  // namespace xatm::internal
