// The commit protocol (docs/protocol.md): presumed abort, one-phase and read-only
// optimisations, parallel phases, the deadline rule, heuristics. Reasons are here; what each
// step does to one branch is in branch_ops.cc.
#include "tm/coordinator.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "testing_hooks.h"
#include "tm/branch_outcomes.h"
#include "tm/reaper.h"
#include "xatm/driver/logging.h"

namespace xatm::internal {
namespace {

CommitRecord decision_of(const TransactionState& tx) {
  CommitRecord record{tx.global, {}};
  record.branches.reserve(tx.branches.size());
  for (const Branch& branch : tx.branches) {
    if (branch.state == BranchState::kPrepared) {
      record.branches.push_back({*branch.data_source, branch.xid});
    }
  }
  return record;
}

}  // namespace

Coordinator::Coordinator(DecisionLog& log, WorkerPool& workers, RetryPolicy retry,
                         StatsCounters& stats, LiveTransactions& live, std::string node_name,
                         const std::vector<std::shared_ptr<TransactionObserver>>& observers)
    : log_(log), workers_(workers), retry_(retry), stats_(stats), live_(live),
      node_name_(std::move(node_name)), observers_(observers) {}

void Coordinator::run_on_branches(TransactionState& tx, const std::function<void(Branch&)>& op) {
  workers_.run_all(tx.branches.size(), [&](std::size_t i) { op(tx.branches[i]); });
}

void Coordinator::run_phase(TransactionState& tx, const std::function<Sent(Branch&)>& send,
                            const std::function<void(Branch&)>& receive,
                            const std::function<void(Branch&)>& op) {
  std::vector<Branch*> awaited;
  std::vector<Branch*> others;
  for (Branch& branch : tx.branches) {
    const Sent sent = branch.connection != nullptr && branch.connection->splits_verbs()
                          ? send(branch)
                          : Sent::kNotSent;
    if (sent == Sent::kAwaiting) awaited.push_back(&branch);
    if (sent == Sent::kNotSent) others.push_back(&branch);
  }
  workers_.run_all(others.size(), [&](std::size_t i) { op(*others[i]); });
  for (Branch* branch : awaited) receive(*branch);
}

Outcome Coordinator::commit(TransactionState& tx) {
  if (tx.outcome) return *tx.outcome;
  const auto started = std::chrono::steady_clock::now();
  tx.ending = {};
  Outcome outcome;
  if (tx.timed_out) {
    outcome = roll_back_all(tx, *tx.timed_out);
  } else if (tx.rollback_only_reason) {
    outcome = roll_back_all(tx, "rollback-only: " + *tx.rollback_only_reason);
  } else if (tx.past_deadline()) {
    mark_timed_out(tx, stats_);
    outcome = roll_back_all(tx, *tx.timed_out);
  } else if (tx.branches.empty()) {
    tx.ending.path = CommitPath::kEmpty;
    outcome.kind = Outcome::Kind::kCommitted;
  } else if (tx.branches.size() == 1) {
    tx.ending.path = CommitPath::kOnePhase;
    Laps laps;
    outcome = commit_one_phase(tx, tx.branches.front());
    tx.ending.commit = laps.lap();
  } else if (Branch* decider = decision_branch(tx)) {
    tx.ending.path = CommitPath::kDecisionBranch;
    outcome = commit_through_decision_branch(tx, *decider);
  } else {
    tx.ending.path = CommitPath::kTwoPhase;
    outcome = commit_two_phase(tx);
  }
  return finish(tx, std::move(outcome), started);
}

Outcome Coordinator::rollback(TransactionState& tx, std::string reason) {
  if (tx.outcome) return *tx.outcome;
  const auto started = std::chrono::steady_clock::now();
  tx.ending = {};
  if (tx.timed_out) reason = *tx.timed_out;
  return finish(tx, roll_back_all(tx, std::move(reason)), started);
}

Outcome Coordinator::commit_one_phase(TransactionState& tx, Branch& branch) {
  internal::commit_one_phase(branch, log_);
  if (branch.state == BranchState::kEnded) return roll_back_all(tx, no_vote_reason(tx));
  if (branch.state == BranchState::kPending) {
    return {Outcome::Kind::kUnknown,
            "one-phase commit on data source '" + *branch.data_source + "' lost its answer (" +
                xa_code_name(branch.last_code) + "): the RM alone knows whether it committed",
            {}};
  }
  if (branch.state == BranchState::kCommitted) stats_.one_phase();
  Outcome outcome{classify(tx, /*decided_commit=*/true), "", {}};
  if (branch.state == BranchState::kRolledBack) {
    outcome.kind = Outcome::Kind::kRolledBack;
    outcome.reason = no_vote_reason(tx);
  }
  return outcome;
}

Outcome Coordinator::commit_two_phase(TransactionState& tx) {
  std::atomic<bool> stop{false};
  Laps laps;
  run_phase(
      tx,
      [&](Branch& branch) {
        return send_end_and_prepare(branch, stop) ? Sent::kAwaiting : Sent::kDone;
      },
      [&](Branch& branch) { receive_vote(branch, stop); },
      [&](Branch& branch) { end_and_prepare(branch, stop); });
  tx.ending.prepare = laps.lap();
  if (stop) return roll_back_all(tx, no_vote_reason(tx));
  CommitRecord decision = decision_of(tx);
  if (decision.branches.empty()) {
    stats_.read_only();
    return {Outcome::Kind::kCommitted, "", {}};  // every branch read-only: all finished
  }
  if (tx.past_deadline()) return roll_back_all(tx, "deadline exceeded before the decision");
  if (decision.branches.size() > 1) {
    XATM_CRASH_POINT(kCrashBeforeDecision);
    laps.lap();
    Status logged = log_.log_commit(decision);
    tx.ending.decision = laps.lap();
    if (logged.code() == StatusCode::kAborted) {
      // Certainly not written (another owner took the log's node): nobody can commit it now.
      return roll_back_all(tx, "the decision log refused the decision: " + logged.to_string());
    }
    if (!logged.ok()) {
      // The record may or may not be on disk: rolling back could contradict a durable COMMIT.
      // The branches stay prepared for recovery, which reads the log and decides.
      return {Outcome::Kind::kUnknown, "the decision log failed: " + logged.to_string(), {}};
    }
    XATM_CRASH_POINT(kCrashAfterDecision);
  } else {
    stats_.read_only();  // every other branch read-only: the lone writer commits without a record
  }
  laps.lap();
  commit_prepared_branches(tx);
  tx.ending.commit = laps.lap();
  XATM_CRASH_POINT(kCrashBeforeDone);
  if (decision.branches.size() == 1) return commit_lone_writer(tx, decision);
  if (all_confirmed(tx)) log_.log_done(tx.global).ignore_error();  // unforced, may be lost
  return {classify(tx, /*decided_commit=*/true), "", {}};
}

void Coordinator::commit_prepared_branches(TransactionState& tx) {
  run_phase(
      tx,
      [&](Branch& branch) {
        if (branch.state != BranchState::kPrepared) return Sent::kDone;
        return send_commit(branch) ? Sent::kAwaiting : Sent::kNotSent;
      },
      [&](Branch& branch) { receive_commit(branch, log_, retry_); },
      [&](Branch& branch) {
        if (branch.state == BranchState::kPrepared) commit_prepared(branch, log_, retry_);
      });
}

// The only prepared branch (the one `decision` names) was committed without a decision record.
// If its answer never came, writing `decision` now makes the outcome certain: the branch is
// committed or still prepared, and recovery will commit it.
Outcome Coordinator::commit_lone_writer(TransactionState& tx, const CommitRecord& decision) {
  const DecisionBranch& writer = decision.branches.front();
  const bool pending = std::any_of(tx.branches.begin(), tx.branches.end(), [&](const Branch& b) {
    return b.xid == writer.xid && b.state == BranchState::kPending;
  });
  if (!pending) return {classify(tx, /*decided_commit=*/true), "", {}};
  if (!tx.past_deadline() && log_.log_commit(decision).ok()) return {Outcome::Kind::kCommitted, "", {}};
  return {Outcome::Kind::kUnknown,
          "commit of the only writing branch on data source '" + writer.data_source +
              "' was not confirmed and no decision could be logged",
          {}};
}

Outcome Coordinator::roll_back_all(TransactionState& tx, std::string reason) {
  run_on_branches(tx, [&](Branch& branch) { rollback_branch(branch, log_, retry_); });
  Outcome outcome{classify(tx, /*decided_commit=*/false), std::move(reason), {}};
  return outcome;
}

Outcome Coordinator::finish(TransactionState& tx, Outcome outcome,
                            std::chrono::steady_clock::time_point started) {
  outcome.branches.reserve(tx.branches.size());
  std::size_t pending_branches = 0;
  for (Branch& branch : tx.branches) {
    release_session(branch);
    const bool pending = branch.state == BranchState::kPending ||
                         branch.state == BranchState::kPrepared ||
                         branch.state == BranchState::kInDoubt;
    if (pending) ++pending_branches;
    outcome.branches.push_back(
        {*branch.data_source, branch.xid, branch.last_code, branch.detail, pending});
  }
  stats_.ended(outcome, pending_branches);
  if (!outcome.committed() && !outcome.rolled_back()) {
    XATM_LOG(error) << "transaction " << tx.global.to_string() << ": " << outcome.to_string();
  }
  tx.outcome = outcome;
  live_.remove(tx.global);
  tx.ending.kind = outcome.kind;
  tx.ending.branches = tx.branches.size();
  tx.ending.total = std::chrono::steady_clock::now() - started;
  for (const std::shared_ptr<TransactionObserver>& observer : observers_) observer->ended(tx.ending);
  return outcome;
}

}  // namespace xatm::internal
