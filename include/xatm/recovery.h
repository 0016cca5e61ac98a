// Recovery: finishing what a crash left in doubt (docs/recovery.md).
//
// A Recoverer reads the decision log's open COMMIT decisions, asks every data source for its
// prepared branches, keeps those of xatm's formatID and this node's name, and then:
//   - commits every branch whose global transaction has a COMMIT decision;
//   - rolls back a branch without a decision (presumed abort) only when it cannot be in flight:
//     this process is not running it, and either its owner is provably down (the caller holds
//     the log lock and the XID's sequence number is below `owner_down_below_sequence`) or its
//     deadline plus `grace` has passed (the TM never logs COMMIT after a deadline);
//   - never presumes abort for an XID created before the log was born, or one whose sequence
//     number this log never issued: its decision may be in another log (a wrong, empty or new
//     log directory), so it is left for an operator (`needs_operator`);
//   - leaves an XID of xatm's formatID that it cannot decode for an operator too, and closes no
//     decision that names a data source holding one;
//   - writes DONE for a decision once every branch of it is gone from its (reachable) data source
//     and no unresolved heuristic remains;
//   - never assumes an outcome for an unreachable data source: it reports it and leaves its
//     branches for a later pass;
//   - records heuristic outcomes in the log and reports them for the operator.
// While the log is unhealthy (a failed append), nothing is rolled back: the failed COMMIT record
// might be on disk.
//
// Thread safety: a Recoverer is used by one thread at a time. The log and resources it borrows
// must outlive it; they may be used concurrently by a running TransactionManager.
#ifndef XATM_RECOVERY_H_
#define XATM_RECOVERY_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "xatm/decision_log.h"
#include "xatm/driver/resource.h"
#include "xatm/status.h"
#include "xatm/xid.h"

namespace xatm {

struct RecoveryOptions {
  // Only XIDs whose gtrid carries this node name are touched.
  std::string node_name;
  // How long past its deadline an unlogged prepared branch must be before it may be presumed
  // aborted while its TM might still be alive. Covers a COMMIT record appended just before the
  // deadline that became durable just after it. Between kMinRecoveryGrace and kMaxRecoveryGrace.
  std::chrono::milliseconds grace{30'000};
  // XIDs whose sequence number (GtridInfo::sequence) is below this belong to TM incarnations
  // known to be down: the caller holds the log lock, and every sequence number below this was
  // issued by an incarnation before it (DecisionLog::sequence_limit() when the caller opened
  // the log). The default, 0, proves nothing.
  std::uint64_t owner_down_below_sequence = 0;
  // True for global transactions this process is still running; they are left alone, even
  // when they have a decision (their own phase 2 is finishing them).
  std::function<bool(const Xid& global)> in_flight;
  // The wall clock, for the deadline rule; the system clock when empty.
  std::function<std::chrono::system_clock::time_point()> clock;
};

inline constexpr std::chrono::milliseconds kMinRecoveryGrace{1'000};
inline constexpr std::chrono::milliseconds kMaxRecoveryGrace{30LL * 24 * 3600 * 1000};

// kInvalidArgument naming the field for an empty or invalid node name, or a grace outside
// [kMinRecoveryGrace, kMaxRecoveryGrace]: a negative or tiny grace would let recovery roll back
// a transaction whose COMMIT is on its way to the log.
Status validate_recovery_options(const RecoveryOptions& options);

// One prepared branch found on a data source, and what recovery makes of it.
struct InDoubtBranch {
  enum class Action {
    kCommit,    // a COMMIT decision exists
    kRollback,  // no decision, and it cannot be in flight: presumed abort
    kLeave,     // no decision yet, but it may still be in flight: look again later
  };
  std::string data_source;
  Xid xid;
  bool has_decision = false;
  Action action = Action::kLeave;
  std::string reason;        // why this action
  int result = 0;            // the RM's answer when the action was carried out (xa.h)
  bool resolved = false;     // the action was carried out and confirmed
  // Recovery will never decide it on its own: an operator must (`reason` says what to check).
  bool needs_operator = false;
};

struct RecoveryReport {
  std::vector<InDoubtBranch> branches;
  // Data sources that could not be asked (with the error), and data sources named by the log
  // that are not configured: their branches stay in doubt.
  std::vector<std::string> problems;
  std::vector<HeuristicRecord> heuristics;  // open HEURISTIC records, for the operator
  std::size_t decisions_done = 0;           // open decisions closed with DONE in this pass
  std::size_t decisions_open = 0;           // open decisions left after this pass

  // Something is left that a later pass or an operator must finish.
  bool needs_attention() const;
};

std::string_view in_doubt_action_name(InDoubtBranch::Action action);

// The prepared branches that recovery of node `node_name` would look at on `resources`: the
// node's own, and XIDs of xatm's formatID that do not decode (needs_operator). Nothing is
// resolved. kUnavailable (or the driver's error) naming the first data source that cannot be
// asked: then nobody can tell whether a branch of the node is prepared there.
Result<std::vector<InDoubtBranch>> find_prepared_branches(const std::vector<Resource*>& resources,
                                                          const std::string& node_name);

class Recoverer {
 public:
  // `resources` are borrowed and must outlive the Recoverer. If
  // validate_recovery_options(options) is not OK, a pass still commits the branches whose COMMIT
  // decision is in the log (that needs no option), but rolls nothing back: every other branch is
  // left as it is and the report names the invalid option.
  Recoverer(DecisionLog& log, std::vector<Resource*> resources, RecoveryOptions options);

  // Looks without touching anything: what `run` would do.
  RecoveryReport scan();

  // Resolves whatever is safe to resolve (see the header comment).
  RecoveryReport run();

  // Operator decisions for what recovery cannot decide. `xid` names a branch, or a whole global
  // transaction when its bqual is empty. commit() first makes a COMMIT decision durable for the
  // branches it finds, so that recovery can never roll back the rest; rollback() refuses
  // (kFailedPrecondition) when a COMMIT decision exists, and when the transaction may still be
  // in flight (this process runs it, or its TM is not provably down and its deadline plus the
  // grace has not passed). kNotFound when no prepared branch of that XID is found on a
  // reachable data source. Nothing else is touched.
  Result<RecoveryReport> commit(const Xid& xid);
  Result<RecoveryReport> rollback(const Xid& xid);

  // After an operator dealt with a heuristic outcome: tells the data source to forget each
  // heuristically completed branch that `xid` names (one branch, or every branch of a global
  // transaction when its bqual is empty) and closes its HEURISTIC record (FORGET). Nothing
  // else is touched: no other branch, decision or transaction. kNotFound when the log holds no
  // open heuristic outcome for `xid`; kUnavailable when its data source cannot be reached
  // (nothing is closed then).
  Result<RecoveryReport> forget(const Xid& xid);

 private:
  struct Scan;
  Scan collect(RecoveryReport& report);
  void plan(Scan& scan, RecoveryReport& report);
  void execute(Scan& scan, RecoveryReport& report);
  void close_finished_decisions(const Scan& scan, RecoveryReport& report);
  // Before a presumed abort: the fence in every decision table of the node (logging last
  // resource), so that no commit can land there afterwards. A fence that finds a COMMIT turns
  // the transaction's branches into commits; one that fails leaves them.
  void fence_presumed_aborts(Scan& scan, RecoveryReport& report);
  // Deletes the decision table rows of transactions that are finished everywhere.
  void erase_finished_rows(const Scan& scan, const RecoveryReport& report);
  Result<RecoveryReport> resolve_by_operator(const Xid& xid, bool commit);
  std::string unprovable_abort(const Scan& scan, const GtridInfo& info) const;
  Status check_not_in_flight(const InDoubtBranch& branch) const;
  Status check_decision_tables(Scan& scan, const Xid& xid, bool commit);
  std::chrono::system_clock::time_point now() const;

  DecisionLog& log_;
  std::vector<Resource*> resources_;
  RecoveryOptions options_;
  Status options_status_;  // validate_recovery_options(options_)
};

}  // namespace xatm

#endif  // XATM_RECOVERY_H_
