// What the branches of a transaction say about its outcome, for the coordinator's paths
// (coordinator.cc, decision_branch.cc).
//
// Thread safety: pure functions of a TransactionState the caller holds.
#ifndef XATM_SRC_TM_BRANCH_OUTCOMES_H_
#define XATM_SRC_TM_BRANCH_OUTCOMES_H_

#include <string>

#include "tm/transaction_state.h"
#include "xatm/outcome.h"

namespace xatm::internal {

// "data source 'x' voted no (XA_RBROLLBACK: ...)" for the first branch that voted no.
std::string no_vote_reason(const TransactionState& tx);

// The Outcome kind when the decision was `commit` (or rollback), from what every branch became.
Outcome::Kind classify(const TransactionState& tx, bool decided_commit);

// Every branch confirmed committed.
bool all_confirmed(const TransactionState& tx);

}  // namespace xatm::internal

#endif  // XATM_SRC_TM_BRANCH_OUTCOMES_H_
