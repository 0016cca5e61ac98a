#include "recovery/background_recovery.h"

#include <utility>

#include "xatm/driver/logging.h"

namespace xatm::internal {

BackgroundRecovery::BackgroundRecovery(DecisionLog& log, std::vector<Resource*> resources,
                                       RecoveryOptions options)
    : recoverer_(log, std::move(resources), options), node_name_(options.node_name),
      in_flight_(options.in_flight) {}

BackgroundRecovery::~BackgroundRecovery() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_all();
  if (thread_.joinable()) thread_.join();
}

RecoveryReport BackgroundRecovery::run_pass() {
  std::lock_guard lock(mutex_);
  return run_pass_locked();
}

void BackgroundRecovery::start(std::chrono::milliseconds interval) {
  if (interval <= std::chrono::milliseconds::zero()) return;
  thread_ = std::thread([this, interval] {
    std::unique_lock lock(mutex_);
    while (!wakeup_.wait_for(lock, interval, [this] { return stopping_; })) run_pass_locked();
  });
}

InDoubtSummary BackgroundRecovery::in_doubt() const {
  std::lock_guard lock(summary_mutex_);
  return summary_;
}

RecoveryReport BackgroundRecovery::run_pass_locked() {
  RecoveryReport report = recoverer_.run();
  std::size_t resolved = 0;
  InDoubtSummary summary;
  for (const InDoubtBranch& branch : report.branches) {
    resolved += branch.resolved ? 1 : 0;
    // A live transaction's own phase 2 finishes its prepared branches: not in doubt.
    if (branch.resolved || (in_flight_ && in_flight_(branch.xid.global()))) continue;
    ++summary.branches;
    Result<GtridInfo> gtrid = decode_gtrid(branch.xid);
    if (gtrid.ok() && (!summary.oldest_created || gtrid->created < *summary.oldest_created)) {
      summary.oldest_created = gtrid->created;
    }
  }
  {
    std::lock_guard lock(summary_mutex_);
    summary.resolved_total = summary_.resolved_total + resolved;
    summary_ = summary;
  }
  if (!report.branches.empty() || report.decisions_done > 0 || report.needs_attention()) {
    XATM_LOG(info) << "node '" << node_name_ << "' recovery: " << resolved << " of "
                   << report.branches.size() << " in-doubt branch(es) resolved, "
                   << report.decisions_done << " decision(s) closed, " << report.decisions_open
                   << " open";
  }
  for (const InDoubtBranch& branch : report.branches) {
    if (branch.needs_operator) {
      XATM_LOG(warning) << "node '" << node_name_ << "' recovery: data source '"
                        << branch.data_source << "', branch " << branch.xid.to_string()
                        << " needs an operator: " << branch.reason;
    }
  }
  for (const std::string& problem : report.problems) {
    XATM_LOG(warning) << "node '" << node_name_ << "' recovery: " << problem;
  }
  return report;
}

}  // namespace xatm::internal
