// The decision log: the transaction manager's durable memory of what it decided.
//
// xatm presumes abort: only commit decisions are written. A global transaction is committed
// exactly when its COMMIT record is durable; before that, any crash means rollback. DONE tells
// the log that every branch of a decision has confirmed, so the decision can be forgotten.
// HEURISTIC records what a resource manager decided on its own, for the operator.
//
// Thread safety: every method may be called from any thread concurrently.
#ifndef XATM_DECISION_LOG_H_
#define XATM_DECISION_LOG_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xatm/status.h"
#include "xatm/xid.h"

namespace xatm {

// One branch a COMMIT decision must commit: the data source it lives on and its XID.
struct DecisionBranch {
  std::string data_source;
  Xid xid;

  friend bool operator==(const DecisionBranch&, const DecisionBranch&) = default;
};

// The decision to commit global transaction `global` (its XID with an empty bqual).
struct CommitRecord {
  Xid global;
  std::vector<DecisionBranch> branches;

  friend bool operator==(const CommitRecord&, const CommitRecord&) = default;
};

// A resource manager completed `branch` heuristically; `xa_code` is the XA_HEUR* code it
// answered (xatm/xa.h).
struct HeuristicRecord {
  DecisionBranch branch;
  int xa_code = 0;

  friend bool operator==(const HeuristicRecord&, const HeuristicRecord&) = default;
};

class DecisionLog {
 public:
  virtual ~DecisionLog() = default;

  // Appends a COMMIT record and returns only when it is durable (OK), or when it may not be
  // (any error). After an error the outcome of `record` is unknown: the caller must leave every
  // branch prepared for recovery, never roll back. The one exception is kAborted: the record was
  // certainly not written and never will be (a database log whose node another owner took over,
  // docs/decision-log.md), so the caller rolls back. kIOError after a failed write or sync, and
  // every later append fails too (the failure is sticky; reopen the log to go on). Concurrent
  // appends share writes and syncs (group commit); each still returns only once its own record
  // is durable.
  virtual Status log_commit(const CommitRecord& record) = 0;

  // Appends a DONE record for `global`. Not forced: after a crash the decision may reappear
  // and recovery finds its branches already committed, which is harmless. It may return before
  // the record is written, which then happens with the next appends (or when the log is
  // closed); either way, once it returns OK, open_decisions() and open_heuristics() no longer
  // list what it closed.
  virtual Status log_done(const Xid& global) = 0;

  // Appends a HEURISTIC record and returns when it is durable.
  virtual Status log_heuristic(const HeuristicRecord& record) = 0;

  // Appends a FORGET record for `branch` and returns when it is durable: the operator has dealt
  // with its heuristic outcome, and open_heuristics() no longer lists it. Nothing else changes:
  // the decision of its global transaction, if open, stays open.
  virtual Status log_forget(const DecisionBranch& branch) = 0;

  // When this log was created (docs/recovery.md). Recovery never presumes abort for
  // an XID created before the log was born: its decision may be in another log (a wrong, empty
  // or freshly created log directory). The epoch for a log older than this rule, which is older
  // than any XID.
  virtual std::chrono::system_clock::time_point birth() const = 0;

  // A durable high-water mark of XID sequence numbers: every sequence number this node issued
  // under this log is below it, so XIDs stay unique across restarts whatever the wall clock
  // does, and recovery can tell the XIDs of earlier incarnations from new ones without a clock.
  virtual std::uint64_t sequence_limit() const = 0;

  // Raises sequence_limit() to `limit` and returns when that is durable (OK at once when it is
  // there already). Errors as log_commit; the TM issues no sequence number at or above the
  // limit before this succeeded.
  virtual Status reserve_sequences(std::uint64_t limit) = 0;

  // The COMMIT decisions without DONE (those read at open and those appended since), in log order.
  virtual std::vector<CommitRecord> open_decisions() const = 0;

  // The HEURISTIC records of global transactions without DONE, in log order.
  virtual std::vector<HeuristicRecord> open_heuristics() const = 0;

  // OK while appends can succeed; the sticky error otherwise.
  virtual Status health() const = 0;
};

// The embedded file log (docs/log-format.md).
struct FileLogOptions {
  // The log directory. One TM node owns it: the directory itself is locked with an exclusive
  // flock while the log is open (so deleting a file cannot break the exclusion), and a second
  // opener gets kFailedPrecondition.
  std::string dir;
  // Create the directory (0700) and a new, empty log when `dir` holds none. Off by default:
  // a wrong or not yet mounted directory must be an error, not a new log in which every
  // earlier commit decision is missing.
  bool create_if_missing = false;
  // The owning node's name (validate_node_name). Written into every segment header; a log
  // directory of another node is refused.
  std::string node_name;
  // The size of a segment file: each is preallocated to it (zero-filled), and when the next
  // appends do not fit, a new segment is started, the live decisions are carried into it and
  // the older segments, which then hold only finished transactions, are deleted. A segment
  // grows past this size only when the live records alone fill it.
  std::uint64_t max_segment_bytes = 16 << 20;
};

// Opens (or, with create_if_missing, creates) the file log: takes the directory lock, reads
// every segment, truncates a torn record at the very end, and refuses damage anywhere else with
// kDataLoss naming the file and offset. kNotFound when the directory, or a log in it, does not
// exist and create_if_missing is off (nothing is created then); kFailedPrecondition when
// another process holds the lock.
Result<std::unique_ptr<DecisionLog>> open_file_log(const FileLogOptions& options);

// Whether `dir` holds a file log (at least one segment file). false when `dir` does not exist;
// kIOError when it cannot be read. Takes no lock and changes nothing.
Result<bool> file_log_exists(const std::string& dir);

}  // namespace xatm

#endif  // XATM_DECISION_LOG_H_
