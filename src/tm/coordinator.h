// The commit protocol (docs/protocol.md): what commit() and rollback() do to the branches of
// one global transaction. Presumed abort: nothing is logged before the decision; with every
// vote yes, one COMMIT record made durable, then phase 2. One branch commits in one phase; a
// transaction whose other branches all voted read-only commits its lone writer without a record.
// A transaction with a branch on a data source that keeps a decision table decides inside that
// branch's own commit instead of the log (decision_branch.cc).
//
// Thread safety: commit() and rollback() may run for many transactions at once; one
// transaction is in one call at a time (its Transaction's mutex).
#ifndef XATM_SRC_TM_COORDINATOR_H_
#define XATM_SRC_TM_COORDINATOR_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tm/branch_ops.h"
#include "tm/live_transactions.h"
#include "tm/stats.h"
#include "tm/transaction_state.h"
#include "tm/worker_pool.h"
#include "xatm/decision_log.h"
#include "xatm/observer.h"
#include "xatm/outcome.h"

namespace xatm::internal {

// The branch in which the decision of `tx` is made (logging last resource): an active branch
// on a data source with a decision table, preferring one that decides in one round trip; null
// when there is none (the decision goes to the log).
Branch* decision_branch(TransactionState& tx);

// Times consecutive steps of a commit (TransactionState::ending): lap() is the time since the
// previous lap(), or since construction.
class Laps {
 public:
  std::chrono::nanoseconds lap() {
    const auto now = std::chrono::steady_clock::now();
    const std::chrono::nanoseconds elapsed = now - last_;
    last_ = now;
    return elapsed;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

class Coordinator {
 public:
  // Everything is borrowed and must outlive the Coordinator.
  Coordinator(DecisionLog& log, WorkerPool& workers, RetryPolicy retry, StatsCounters& stats,
              LiveTransactions& live, std::string node_name,
              const std::vector<std::shared_ptr<TransactionObserver>>& observers);
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Ends `tx`: rolled back when it is rollback-only or past its deadline, committed in one phase
  // with one branch, in two with more. Calling it again returns the first Outcome.
  Outcome commit(TransactionState& tx);
  // Ends `tx` by rolling back every branch; `reason` goes into the Outcome.
  Outcome rollback(TransactionState& tx, std::string reason);

 private:
  Outcome commit_one_phase(TransactionState& tx, Branch& branch);
  Outcome commit_two_phase(TransactionState& tx);
  // Logging last resource (decision_branch.cc): the decision commits with `decider`'s work.
  Outcome commit_through_decision_branch(TransactionState& tx, Branch& decider);
  // Phase 2 of a commit decision on every prepared branch.
  void commit_prepared_branches(TransactionState& tx);
  Outcome commit_lone_writer(TransactionState& tx, const CommitRecord& decision);
  Outcome roll_back_all(TransactionState& tx, std::string reason);
  void run_on_branches(TransactionState& tx, const std::function<void(Branch&)>& op);
  // One phase over every branch. A branch whose session splits verbs is sent on this thread
  // first; the others run `op` meanwhile, on the worker pool when there are several; the
  // awaited answers are received last. So MariaDB's verb and PostgreSQL's statement overlap
  // with no hand-off between threads.
  enum class Sent { kAwaiting, kDone, kNotSent };  // kNotSent: run `op` on the branch instead
  void run_phase(TransactionState& tx, const std::function<Sent(Branch&)>& send,
                 const std::function<void(Branch&)>& receive,
                 const std::function<void(Branch&)>& op);
  // Releases the sessions, counts, records the outcome in `tx` and tells the observers.
  Outcome finish(TransactionState& tx, Outcome outcome,
                 std::chrono::steady_clock::time_point started);

  DecisionLog& log_;
  WorkerPool& workers_;
  const RetryPolicy retry_;
  StatsCounters& stats_;
  LiveTransactions& live_;
  const std::string node_name_;
  const std::vector<std::shared_ptr<TransactionObserver>>& observers_;
};

}  // namespace xatm::internal

#endif  // XATM_SRC_TM_COORDINATOR_H_
