// PgDecisionLog: the DecisionLog of xatm/postgresql/decision_log.h (schema and ownership there;
// docs/decision-log.md, "The PostgreSQL backend").
//
// Group commit (leader/follower, as the file log): log_commit queues its record and waits; the
// first waiter that finds no leader leads: it takes the queued COMMIT records (at most
// kMaxBatchRecords) and the DONE records deferred so far, writes them in one statement (one
// implicit transaction: the fence on the node row, a DELETE of the finished decisions, a
// multi-row INSERT), applies them to the in-memory records and wakes their appenders and the
// next leader. Records queued meanwhile go out in the next statement, at once: no timer. DONE
// records are not forced: they ride with the next COMMIT batch, or go alone once
// kMaxDeferredDone of them wait.
//
// Failure: a failed write fails the log (every queued and later append gets the error), as the
// file log. Unless the failure says the node was taken over (permanent), health() tries, at most
// once a second, to open a new session, retake the node's sign of life, check that the epoch is
// still this log's and reread the open records: a log whose database was down for a while comes
// back by itself; one whose node was taken over never does, nor one whose database no longer
// holds a record it had acknowledged (kDataLoss).
//
// Thread safety: mu_ guards the queue, the records and the failure. The session belongs to the
// thread that holds the lead (leading_), which passes through mu_.
#ifndef XATM_DRIVERS_POSTGRESQL_PG_DECISION_LOG_H_
#define XATM_DRIVERS_POSTGRESQL_PG_DECISION_LOG_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pg_session.h"
#include "xatm/decision_log.h"
#include "xatm/postgresql/decision_log.h"

namespace xatm::postgresql::internal {

// The records of a log that are still open, in log order (by sequence number).
struct OpenRecords {
  std::map<std::uint64_t, CommitRecord> commits;
  std::map<Xid, std::uint64_t> commit_seq;  // global -> key in commits
  std::map<std::uint64_t, HeuristicRecord> heuristics;
  std::uint64_t next_seq = 1;

  void add_commit(std::uint64_t seq, CommitRecord record);
  // Removes the record numbered `seq`, if open.
  void erase(std::uint64_t seq);
  // Both return the sequence numbers of the records they closed.
  std::vector<std::uint64_t> mark_done(const Xid& global);
  std::vector<std::uint64_t> forget(const DecisionBranch& branch);
};

class PgDecisionLog final : public DecisionLog {
 public:
  static constexpr std::size_t kMaxBatchRecords = 256;
  static constexpr std::size_t kMaxDeferredDone = 256;

  static Result<std::unique_ptr<PgDecisionLog>> open(const LogOptions& options);
  // Writes the deferred DONE records (unforced: failures are ignored) and closes the session,
  // which releases the node's sign of life.
  ~PgDecisionLog() override;

  PgDecisionLog(const PgDecisionLog&) = delete;
  PgDecisionLog& operator=(const PgDecisionLog&) = delete;

  Status log_commit(const CommitRecord& record) override;
  Status log_done(const Xid& global) override;
  Status log_heuristic(const HeuristicRecord& record) override;
  Status log_forget(const DecisionBranch& branch) override;
  Status reserve_sequences(std::uint64_t limit) override;
  std::chrono::system_clock::time_point birth() const override { return birth_; }
  std::uint64_t sequence_limit() const override;
  std::vector<CommitRecord> open_decisions() const override;
  std::vector<HeuristicRecord> open_heuristics() const override;
  Status health() const override;

  // The epoch this log owns its node under.
  [[nodiscard]] std::int64_t epoch() const { return epoch_; }
  // A reader (LogOptions::read_only) found no live owner and holds the node's sign of life.
  [[nodiscard]] bool owner_down() const { return owner_down_; }
  // What the log has written since it was opened, for benchmarks and tests.
  struct Stats {
    std::uint64_t commit_records = 0;  // COMMIT records written
    std::uint64_t statements = 0;      // statements (each its own transaction) that wrote them
  };
  [[nodiscard]] Stats stats() const;

 private:
  // What an appender waits for: set by the thread that wrote (or failed) its record. Each has
  // its own condition variable, so that a batch wakes its own appenders and the next leader
  // only, not every queued appender (at 64 appenders, half of them would go back to sleep).
  struct Waiter {
    bool done = false;  // guarded by mu_
    Status status;      // guarded by mu_
    std::condition_variable cv;
  };
  struct Queued {
    CommitRecord record;
    std::shared_ptr<Waiter> waiter;
  };
  // How take_node opens: taking the node (a new epoch), healing (the same epoch, refused once
  // the node was taken over), or reading (nothing written; the sign of life probed).
  enum class Mode { kTake, kHeal, kRead };
  // A session that holds the node, with the node's state read under it.
  struct Owned {
    std::unique_ptr<PgSession> session;
    std::int64_t epoch = 0;
    std::chrono::system_clock::time_point birth;
    std::uint64_t sequence_limit = 0;
    OpenRecords records;
    bool owner_down = false;  // kRead: the sign of life was free (and is now held by the reader)
  };

  PgDecisionLog(LogOptions options, Owned owned);
  static Result<Owned> take_node(const LogOptions& options, Mode mode, std::int64_t epoch);
  static Result<OpenRecords> read_records(PgSession& session, const LogOptions& options,
                                          const std::string& where);

  // Waits until `waiter`'s record is durable (OK) or failed, leading when no one does.
  Status wait_for_locked(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Waiter>& waiter);
  // Writes one batch from the queue's front (and the deferred DONE records) as the leader.
  void lead_locked(std::unique_lock<std::mutex>& lock);
  // Runs `write` as the leader, with the lock released, handing it the deferred DONE records to
  // write in the same statement and a sequence number of its own; a failure fails the log.
  Status run_exclusive_locked(
      std::unique_lock<std::mutex>& lock,
      const std::function<Status(const std::vector<std::uint64_t>& dones, std::uint64_t seq)>& write);
  // Gives up the lead: wakes the threads that wait for it (exclusive writes) and the appender
  // at the queue's front, which leads next.
  void end_lead_locked();
  // Fails the log: every queued record's waiter gets `status`.
  void fail_locked(const Status& status);
  void restore_dones_locked(const std::vector<std::uint64_t>& dones);
  Status heal();

  // One row of the log's table.
  struct Row {
    std::uint64_t seq;
    char kind;  // 'C' or 'H'
    std::string global;
    std::string branches;
    int xa_code;
  };
  // The one statement every write runs (prepared on each session), and a run of it: OK only
  // when its transaction committed under our epoch (kAborted when the node was taken over).
  static std::string write_sql(const LogOptions& options);
  Status write(const std::vector<std::uint64_t>& gone, const std::vector<Row>& rows,
               const std::string& what);
  Status write_batch(const std::vector<std::pair<std::uint64_t, const CommitRecord*>>& commits,
                     const std::vector<std::uint64_t>& dones);
  std::string literal(const std::string& text) const;

  const LogOptions options_;
  const std::string nodes_table_;
  std::int64_t epoch_;
  std::chrono::system_clock::time_point birth_;
  const bool owner_down_;
  std::unique_ptr<PgSession> session_;  // the leader's (a reader's: used under mu_)

  mutable std::mutex mu_;
  std::condition_variable cv_;         // the lead was given up (appenders wait on their Waiter)
  mutable OpenRecords records_;        // guarded by mu_ (a reader refreshes it when asked)
  std::uint64_t sequence_limit_ = 0;   // guarded by mu_
  std::deque<Queued> queue_;           // guarded by mu_
  std::vector<std::uint64_t> deferred_done_;  // guarded by mu_: rows of closed records, by seq
  bool leading_ = false;               // guarded by mu_
  mutable Status failure_;             // guarded by mu_: OK while appends can succeed
  bool failed_for_good_ = false;       // guarded by mu_: taken over, or acknowledged records lost
  std::chrono::steady_clock::time_point last_heal_{};  // guarded by mu_
  Stats stats_;                        // guarded by mu_
};

}  // namespace xatm::postgresql::internal

#endif  // XATM_DRIVERS_POSTGRESQL_PG_DECISION_LOG_H_
