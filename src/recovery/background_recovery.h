// A running TransactionManager's recovery (docs/recovery.md, "What happens automatically"): a
// pass at start(), a pass every interval on a thread of its own, and a pass on demand
// (TransactionManager::recover()). Passes never overlap. Each pass's report is logged.
//
// Thread safety: run_pass() may be called from any thread.
#ifndef XATM_SRC_RECOVERY_BACKGROUND_RECOVERY_H_
#define XATM_SRC_RECOVERY_BACKGROUND_RECOVERY_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "xatm/decision_log.h"
#include "xatm/driver/resource.h"
#include "xatm/recovery.h"

namespace xatm::internal {

// The prepared branches of this node that the last pass left unresolved, and how many the
// passes so far resolved.
struct InDoubtSummary {
  std::uint64_t resolved_total = 0;
  std::uint64_t branches = 0;
  // The creation time of the oldest one's transaction (from its XID); unset when none.
  std::optional<std::chrono::system_clock::time_point> oldest_created;
};

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
  // What the last pass left in doubt; never waits for a pass in progress.
  InDoubtSummary in_doubt() const;

 private:
  RecoveryReport run_pass_locked();

  Recoverer recoverer_;
  const std::string node_name_;
  const std::function<bool(const Xid& global)> in_flight_;
  std::mutex mutex_;  // one pass at a time; guards stopping_
  std::condition_variable wakeup_;
  bool stopping_ = false;
  std::thread thread_;
  mutable std::mutex summary_mutex_;
  InDoubtSummary summary_;  // guarded by summary_mutex_
};

}  // namespace xatm::internal

#endif  // XATM_SRC_RECOVERY_BACKGROUND_RECOVERY_H_
