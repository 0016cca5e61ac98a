#include <string>

#include "xatm/outcome.h"

namespace xatm {

std::string_view outcome_kind_name(Outcome::Kind kind) {
  switch (kind) {
    case Outcome::Kind::kCommitted: return "committed";
    case Outcome::Kind::kRolledBack: return "rolled back";
    case Outcome::Kind::kHeuristicRollback: return "heuristic rollback";
    case Outcome::Kind::kHeuristicCommit: return "heuristic commit";
    case Outcome::Kind::kHeuristicMixed: return "heuristic mixed";
    case Outcome::Kind::kHeuristicHazard: return "heuristic hazard";
    case Outcome::Kind::kUnknown: return "unknown";
    case Outcome::Kind::kUsageError: return "usage error";
  }
  return "invalid";
}

bool Outcome::pending() const {
  for (const BranchOutcome& branch : branches) {
    if (branch.pending) return true;
  }
  return false;
}

std::string Outcome::to_string() const {
  std::string text(outcome_kind_name(kind));
  if (!reason.empty()) text += ": " + reason;
  for (const BranchOutcome& branch : branches) {
    if (branch.pending) text += "; data source '" + branch.data_source + "' pending";
  }
  return text;
}

}  // namespace xatm
