// What the coordinator does to one branch in each phase, with the retry rules of docs/protocol.md.
//
// Each function reads and updates one Branch (its state, last answer and session); callers run
// them on the branches of a transaction in parallel, one worker per branch.
#ifndef XATM_SRC_TM_BRANCH_OPS_H_
#define XATM_SRC_TM_BRANCH_OPS_H_

#include <atomic>
#include <chrono>
#include <optional>

#include "tm/transaction_state.h"
#include "xatm/decision_log.h"

namespace xatm::internal {

// How long and how often phase 2 (and a rollback that must reach a prepared branch) retries.
struct RetryPolicy {
  std::chrono::milliseconds window{2'000};
  std::chrono::milliseconds backoff{10};
  std::chrono::milliseconds backoff_max{500};
};

// Phase 1: xa_end, then xa_prepare unless `stop` is set by then (another branch voted no: the
// "hanging" rule, nothing is prepared for a transaction that is rolling back). A no vote sets
// `stop`. Returns true for a yes (kPrepared) or read-only (kCommitted, read_only) vote.
bool end_and_prepare(Branch& branch, std::atomic<bool>& stop);

// Phase 1 in two halves, for a session that splits verbs (XaConnection::splits_verbs): the
// same steps and answers as end_and_prepare. send_end_and_prepare returns true when it sent
// the prepare; receive_vote must then follow, and returns what end_and_prepare would.
bool send_end_and_prepare(Branch& branch, std::atomic<bool>& stop);
bool receive_vote(Branch& branch, std::atomic<bool>& stop);

// One-phase commit of the only branch: xa_end, then xa_commit(TMONEPHASE). Leaves the branch
// kCommitted, kRolledBack, kHeuristic, or kPending when the answer was lost (outcome unknown).
void commit_one_phase(Branch& branch, DecisionLog& log);

// The decision branch's commit (logging last resource) on its active branch: the one-phase
// commit that also makes `row` durable (XaConnection::commit_with_decision). Leaves the branch
// kCommitted, kRolledBack, kPending (the answer was lost: unknown until fenced), or kActive
// (nothing happened; the caller rolls it back).
void commit_with_decision(Branch& branch, const DecisionRow& row);

// Phase 2 of a commit decision for a kPrepared branch: xa_commit, retried over fresh sessions
// after XAER_RMFAIL or XA_RETRY until the RM answers or the window ends (then kPending).
// `first_answer`, when given, answers the first attempt (one that receive_commit made).
void commit_prepared(Branch& branch, DecisionLog& log, const RetryPolicy& retry,
                     std::optional<XaReply> first_answer = std::nullopt);

// Phase 2 in two halves, for a session that splits verbs. send_commit sends the first xa_commit
// of a kPrepared branch and returns true, or returns false and does nothing (the branch is not
// prepared, or its session is gone: commit_prepared handles it). receive_commit follows a true
// and finishes as commit_prepared does, retries included.
bool send_commit(Branch& branch);
void receive_commit(Branch& branch, DecisionLog& log, const RetryPolicy& retry);

// Rolls the branch back from whatever state it is in. A branch that may be prepared is retried
// like commit_prepared (kPending when the window ends; presumed abort lets recovery finish it).
void rollback_branch(Branch& branch, DecisionLog& log, const RetryPolicy& retry);

// Hands the session back to the pool when the branch is finished with it, and closes it
// otherwise (a session whose branch is still prepared must let go of it, so that another
// session, in recovery, can finish it).
void release_session(Branch& branch);

}  // namespace xatm::internal

#endif  // XATM_SRC_TM_BRANCH_OPS_H_
