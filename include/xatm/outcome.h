// Outcome: how a global transaction ended, and what became of each branch. A value type.
//
// Thread safety: a value type.
#ifndef XATM_OUTCOME_H_
#define XATM_OUTCOME_H_

#include <string>
#include <string_view>
#include <vector>

#include "xatm/xid.h"

namespace xatm {

// What happened to one branch when its transaction ended.
struct BranchOutcome {
  std::string data_source;
  Xid xid;
  int last_code = 0;      // the RM's last XA answer (xatm/xa.h)
  std::string detail;     // what the RM said with it
  bool pending = false;   // not confirmed yet: recovery will finish it as decided
};

// How a global transaction ended.
struct Outcome {
  enum class Kind {
    kCommitted,           // committed; branches still `pending` are finished by recovery
    kRolledBack,          // rolled back; `reason` says why
    kHeuristicRollback,   // decided commit, but every writing branch was rolled back by its RM
    kHeuristicCommit,     // decided rollback, but a branch was committed by its RM
    kHeuristicMixed,      // some branches committed, some rolled back, against the decision
                          // (also when another branch reports a hazard: known damage first)
    kHeuristicHazard,     // a branch may have been completed against the decision
    kUnknown,             // the outcome is not known (in doubt): recovery will decide it
    kUsageError,          // the call was invalid (a moved-from Transaction): nothing was done
  };

  Kind kind = Kind::kRolledBack;
  std::string reason;                  // for every kind but kCommitted: what happened
  std::vector<BranchOutcome> branches;

  bool committed() const { return kind == Kind::kCommitted; }
  bool rolled_back() const { return kind == Kind::kRolledBack; }
  bool heuristic() const {
    return kind == Kind::kHeuristicRollback || kind == Kind::kHeuristicCommit ||
           kind == Kind::kHeuristicMixed || kind == Kind::kHeuristicHazard;
  }
  // True when some branch has not confirmed the decision yet.
  bool pending() const;
  // e.g. "committed", "rolled back: branch 'billing' voted no (XA_RBDEADLOCK: ...)".
  std::string to_string() const;
};

std::string_view outcome_kind_name(Outcome::Kind kind);

}  // namespace xatm

#endif  // XATM_OUTCOME_H_
