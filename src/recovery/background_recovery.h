// A running TransactionManager's recovery (docs/recovery.md, "What happens automatically"): a
// pass at start(), a pass every interval on a thread of its own, and a pass on demand
// (TransactionManager::recover()). Passes never overlap. Each pass's report is logged.
//
// Thread safety: run_pass() may be called from any thread.
#ifndef XATM_SRC_RECOVERY_BACKGROUND_RECOVERY_H_
#define XATM_SRC_RECOVERY_BACKGROUND_RECOVERY_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "xatm/decision_log.h"
#include "xatm/driver/resource.h"
#include "xatm/recovery.h"

namespace xatm::internal {

class BackgroundRecovery {
 public:
  // The log and the resources must outlive this object.
  BackgroundRecovery(DecisionLog& log, std::vector<Resource*> resources, RecoveryOptions options);
  // Stops the background thread (after the pass it may be running).
  ~BackgroundRecovery();
  BackgroundRecovery(const BackgroundRecovery&) = delete;
  BackgroundRecovery& operator=(const BackgroundRecovery&) = delete;

  // One pass now, on this thread.
  RecoveryReport run_pass();
  // A pass every `interval` on a thread of its own, from now on. Zero: none.
  void start(std::chrono::milliseconds interval);

 private:
  RecoveryReport run_pass_locked();

  Recoverer recoverer_;
  const std::string node_name_;
  std::mutex mutex_;  // one pass at a time; guards stopping_
  std::condition_variable wakeup_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace xatm::internal

#endif  // XATM_SRC_RECOVERY_BACKGROUND_RECOVERY_H_
