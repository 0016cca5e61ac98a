#include "tm/stats.h"

namespace xatm::internal {

void StatsCounters::ended(const Outcome& outcome, std::size_t pending) {
  pending_branches_ += pending;
  switch (outcome.kind) {
    case Outcome::Kind::kCommitted: ++committed_; break;
    case Outcome::Kind::kRolledBack: ++rolled_back_; break;
    case Outcome::Kind::kUnknown: ++unknown_; break;
    case Outcome::Kind::kUsageError: break;  // never reaches here: nothing was done
    default: ++heuristic_; break;
  }
}

Stats StatsCounters::snapshot() const {
  Stats s;
  s.begun = begun_;
  s.committed = committed_;
  s.rolled_back = rolled_back_;
  s.one_phase = one_phase_;
  s.read_only = read_only_;
  s.heuristic = heuristic_;
  s.unknown = unknown_;
  s.timed_out = timed_out_;
  s.pending_branches = pending_branches_;
  return s;
}

}  // namespace xatm::internal
