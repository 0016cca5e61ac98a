// TransactionObserver: a callback on every ended transaction, with the time each step took, for
// metrics (the optional xatm::prometheus target's histograms are one). Counters and gauges that
// need no callback are in TransactionManager::stats().
//
// Thread safety: ended() is called concurrently from every thread that ends a transaction.
#ifndef XATM_OBSERVER_H_
#define XATM_OBSERVER_H_

#include <chrono>
#include <cstddef>
#include <string_view>

#include "xatm/outcome.h"

namespace xatm {

// How commit() reached its outcome (docs/protocol.md).
enum class CommitPath {
  kRollback,        // rollback(), or commit() of a transaction that could only roll back
                    // (rollback-only, past its deadline); a no vote keeps the path it took
  kEmpty,           // commit() of a transaction that enlisted nothing
  kOnePhase,        // one branch: one-phase commit, nothing logged
  kTwoPhase,        // prepare, COMMIT record in the decision log, commit
  kDecisionBranch,  // prepare the others, the decision commits inside one branch (decision table)
};

// One ended transaction. A step that did not run has a zero duration.
struct EndedTransaction {
  Outcome::Kind kind = Outcome::Kind::kRolledBack;
  CommitPath path = CommitPath::kRollback;
  std::size_t branches = 0;
  std::chrono::nanoseconds total{0};     // the whole commit() or rollback() call
  std::chrono::nanoseconds prepare{0};   // phase 1 on every branch (xa_end + xa_prepare)
  std::chrono::nanoseconds decision{0};  // the COMMIT record's forced write, or the deciding
                                         // branch's commit (kDecisionBranch)
  std::chrono::nanoseconds commit{0};    // phase 2 (or the one-phase commit)
};

class TransactionObserver {
 public:
  virtual ~TransactionObserver() = default;
  // Called on the thread that ended the transaction, after its Outcome is final and before
  // commit() or rollback() returns: keep it short; it must not throw and must not call back
  // into the transaction.
  virtual void ended(const EndedTransaction& transaction) noexcept = 0;
};

std::string_view commit_path_name(CommitPath path);

}  // namespace xatm

#endif  // XATM_OBSERVER_H_
