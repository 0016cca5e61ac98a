#include "tm/branch_outcomes.h"

namespace xatm::internal {

std::string no_vote_reason(const TransactionState& tx) {
  for (const Branch& branch : tx.branches) {
    if (branch.state == BranchState::kPrepared || branch.read_only || branch.last_code == XA_OK) {
      continue;  // voted yes, or was never asked because another branch had voted no
    }
    std::string reason = "data source '" + *branch.data_source + "' voted no (" +
                         xa_code_name(branch.last_code);
    if (!branch.detail.empty()) reason += ": " + branch.detail;
    return reason + ")";
  }
  return "a branch voted no";
}

Outcome::Kind classify(const TransactionState& tx, bool decided_commit) {
  bool hazard = false, mixed = false, against = false, with_decision = false;
  for (const Branch& branch : tx.branches) {
    if (branch.state == BranchState::kHeuristic) {
      hazard |= branch.heuristic_code == XA_HEURHAZ;
      mixed |= branch.heuristic_code == XA_HEURMIX;
      against |= branch.heuristic_code == (decided_commit ? XA_HEURRB : XA_HEURCOM);
    } else if (!branch.read_only) {
      with_decision |= branch.state == (decided_commit ? BranchState::kCommitted
                                                       : BranchState::kRolledBack);
    }
  }
  // Known damage outranks possible damage (the TX specification's order, and LIXA's): a
  // hazard beside a mix is reported as the mix.
  if (mixed || (against && with_decision)) return Outcome::Kind::kHeuristicMixed;
  if (hazard) return Outcome::Kind::kHeuristicHazard;
  if (against) {
    return decided_commit ? Outcome::Kind::kHeuristicRollback : Outcome::Kind::kHeuristicCommit;
  }
  return decided_commit ? Outcome::Kind::kCommitted : Outcome::Kind::kRolledBack;
}

bool all_confirmed(const TransactionState& tx) {
  for (const Branch& branch : tx.branches) {
    if (branch.state != BranchState::kCommitted) return false;
  }
  return true;
}

}  // namespace xatm::internal
