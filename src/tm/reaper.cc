#include "tm/reaper.h"

#include <memory>
#include <string>
#include <utility>

#include "xatm/driver/logging.h"

namespace xatm::internal {

Reaper::Reaper(LiveTransactions& live, StatsCounters& stats, std::chrono::milliseconds interval)
    : live_(live), stats_(stats) {
  thread_ = std::thread([this, interval] { run(interval); });
}

Reaper::~Reaper() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_all();
  thread_.join();
}

void Reaper::run(std::chrono::milliseconds interval) {
  std::unique_lock lock(mutex_);
  while (!wakeup_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    pass();
    lock.lock();
  }
}

void Reaper::pass() {
  const auto now = std::chrono::steady_clock::now();
  for (const std::shared_ptr<TransactionState>& tx : live_.alive()) {
    if (tx->deadline > now) continue;  // fixed at begin(): readable without the mutex
    // A busy mutex means a call in progress: commit() and rollback() end the transaction
    // themselves, enlist() is retried at the next pass.
    std::unique_lock lock(tx->mu, std::try_to_lock);
    if (!lock.owns_lock() || tx->outcome || tx->manager == nullptr) continue;
    reap(*tx);
  }
}

void mark_timed_out(TransactionState& tx, StatsCounters& stats) {
  if (tx.timed_out) return;
  tx.timed_out = "timed out: past its deadline (its timeout was " +
                 std::to_string(tx.timeout.count()) + " ms), the transaction manager rolled it back";
  stats.timed_out();
}

void Reaper::reap(TransactionState& tx) {
  if (!tx.timed_out) {
    mark_timed_out(tx, stats_);
    XATM_LOG(warning) << "transaction " << tx.global.to_string()
                      << " passed its deadline: ending its branches' sessions to roll them back";
  }
  for (Branch& branch : tx.branches) {
    if (branch.state != BranchState::kActive && branch.state != BranchState::kEnded) continue;
    if (branch.connection == nullptr) {  // the session was lost: the RM rolled the branch back
      branch.state = BranchState::kRolledBack;
      continue;
    }
    const std::string key = branch.connection->session_key();
    if (key.empty()) continue;  // the driver cannot: the next call rolls it back
    Result<std::unique_ptr<XaConnection>> other = branch.pool->acquire();
    Status ended = other.ok() ? (*other)->end_session(key) : other.status();
    if (other.ok()) branch.pool->release(std::move(*other));
    if (!ended.ok()) {
      if (!branch.reap_failed) {
        XATM_LOG(warning) << "transaction " << tx.global.to_string() << ": data source '"
                          << *branch.data_source << "' could not end the session of branch "
                          << branch.xid.to_string() << " (retrying): " << ended.to_string();
      }
      branch.reap_failed = true;
      continue;
    }
    branch.state = BranchState::kRolledBack;
    branch.session_ended = true;
    branch.last_code = XA_RBTIMEOUT;
    branch.detail = "past its deadline: its session was ended on the server";
  }
}

}  // namespace xatm::internal
