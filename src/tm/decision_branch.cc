// Logging last resource (docs/protocol.md, "Decisions in a participant's table"): the decision
// of a 2PC transaction becomes durable in the local commit of one of its own branches, D, on a
// data source that keeps a decision table. D is never prepared and xatm's log is not written:
//   1. phase 1 on every other branch (a no vote rolls back everything, D included);
//   2. every other branch read-only: D commits in one phase, no row;
//   3. the decision: D's session inserts the row ('C') and commits, in one round trip where the
//      driver can; past the deadline it rolls back instead;
//   4. D's answer lost: the fence settles it (DecisionTable::fence: 'C' committed, 'A' never
//      will); if even that fails the outcome is unknown and recovery settles it the same way;
//   5. phase 2 on the others; when all confirm, the row is deleted with a later decision.
#include <atomic>
#include <vector>

#include "testing_hooks.h"
#include "tm/branch_outcomes.h"
#include "tm/coordinator.h"
#include "xatm/driver/decision_table.h"
#include "xatm/driver/logging.h"

namespace xatm::internal {
namespace {

bool can_decide(const Branch& branch) {
  return branch.state == BranchState::kActive && branch.connection != nullptr &&
         branch.resource != nullptr && branch.resource->decision_table() != nullptr;
}

// The other branches that wait for the decision, for the row.
std::string waiting_branches(const TransactionState& tx) {
  std::vector<DecisionBranch> waiting;
  for (const Branch& branch : tx.branches) {
    if (branch.state == BranchState::kPrepared) waiting.push_back({*branch.data_source, branch.xid});
  }
  return format_branches(waiting);
}

}  // namespace

Branch* decision_branch(TransactionState& tx) {
  Branch* chosen = nullptr;
  for (Branch& branch : tx.branches) {
    if (!can_decide(branch)) continue;
    // The first in enlistment order, unless a later one decides in one round trip.
    if (chosen == nullptr || (!chosen->resource->decision_table()->decides_in_one_round_trip() &&
                              branch.resource->decision_table()->decides_in_one_round_trip())) {
      chosen = &branch;
    }
  }
  return chosen;
}

Outcome Coordinator::commit_through_decision_branch(TransactionState& tx, Branch& decider) {
  std::atomic<bool> stop{false};
  Laps laps;
  run_phase(
      tx,
      [&](Branch& branch) {
        if (&branch == &decider) return Sent::kDone;
        return send_end_and_prepare(branch, stop) ? Sent::kAwaiting : Sent::kDone;
      },
      [&](Branch& branch) { receive_vote(branch, stop); },
      [&](Branch& branch) {
        if (&branch != &decider) end_and_prepare(branch, stop);
      });
  tx.ending.prepare = laps.lap();
  if (stop) return roll_back_all(tx, no_vote_reason(tx));
  const std::string others = waiting_branches(tx);
  if (others.empty()) {
    stats_.read_only();  // every other branch read-only: D alone decides, without a row
    Outcome outcome = commit_one_phase(tx, decider);
    tx.ending.commit = laps.lap();
    return outcome;
  }
  if (tx.past_deadline()) return roll_back_all(tx, "deadline exceeded before the decision");
  DecisionTable& table = *decider.resource->decision_table();
  XATM_CRASH_POINT(kCrashBeforeDecisionCommit);
  laps.lap();
  commit_with_decision(decider, DecisionRow{tx.global, node_name_, 'C', others});
  const std::string where = "the decision's commit on data source '" + *decider.data_source + "'";
  if (decider.state == BranchState::kPending) {
    Result<char> fenced = table.fence(tx.global, node_name_);
    if (!fenced.ok()) {
      // The other branches stay prepared; recovery fences again and finishes them.
      return {Outcome::Kind::kUnknown,
              where + " lost its answer (" + xa_code_name(decider.last_code) +
                  ") and the fence could not tell whether it committed: " +
                  fenced.status().to_string(),
              {}};
    }
    XATM_LOG(info) << "transaction " << tx.global.to_string() << ": " << where
                   << " lost its answer; the fence says " << (*fenced == 'C' ? "committed" : "not committed");
    decider.state = *fenced == 'C' ? BranchState::kCommitted : BranchState::kRolledBack;
  }
  tx.ending.decision = laps.lap();
  if (decider.state != BranchState::kCommitted) {
    return roll_back_all(tx, where + " did not commit (" + xa_code_name(decider.last_code) +
                                 (decider.detail.empty() ? "" : ": " + decider.detail) + ")");
  }
  XATM_CRASH_POINT(kCrashAfterDecisionCommit);
  laps.lap();
  commit_prepared_branches(tx);
  tx.ending.commit = laps.lap();
  XATM_CRASH_POINT(kCrashBeforeDone);
  if (all_confirmed(tx)) table.finished(tx.global);
  return {classify(tx, /*decided_commit=*/true), "", {}};
}

}  // namespace xatm::internal
