#include "xatm/observer.h"

namespace xatm {

std::string_view commit_path_name(CommitPath path) {
  switch (path) {
    case CommitPath::kRollback: return "rollback";
    case CommitPath::kEmpty: return "empty";
    case CommitPath::kOnePhase: return "one_phase";
    case CommitPath::kTwoPhase: return "two_phase";
    case CommitPath::kDecisionBranch: return "decision_branch";
  }
  return "unknown";
}

}  // namespace xatm
