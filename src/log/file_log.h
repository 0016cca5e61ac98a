// The file decision log: the DecisionLog of xatm/decision_log.h over segment files in one
// directory (docs/log-format.md; group commit, durability and space: docs/decision-log.md).
//
// Group commit (STYLE 11, a leader/follower queue). An append encodes its record, queues it and
// waits (on an atomic of its own, not on mu_). The thread whose record is at the front of the
// queue leads: it takes the queued
// records from the front (at least one, at most kMaxBatchBytes of them), releases the mutex,
// writes them with one write and, when any of them must be durable (COMMIT, HEURISTIC), makes
// them durable with one fdatasync. Then it takes the mutex again, applies the batch to the
// in-memory state, completes every appender of the batch with the batch's status, and hands
// the lead to the thread whose record is now at the front. Records queued while a batch is
// written go out together in the next one, which starts as soon as this one ends: no timer.
//
// DONE records are not forced. log_done queues its record and returns at once: the record goes
// out with the next batch, synced or not, and the decision is closed in memory when log_done
// returns all the same. No batch is started for DONE records alone, unless kMaxDeferredBytes of
// records wait; the destructor writes those still queued. So a lone appender's transaction
// (COMMIT, then DONE) costs one write and one fdatasync: its DONE goes with the next COMMIT.
//
// Durability and failure: log_commit and log_heuristic return OK only after the fdatasync that
// covers their record. A failed write or sync (or a failed rotation step) is sticky: every
// appender of the failed batch gets the error, every queued record fails with it, every later
// append returns it and health() too. Nothing is retried; reopen the log to go on.
//
// Rotation: before a batch that does not fit into the current segment, the leader snapshots
// the live records under the mutex and starts a new segment outside it (segment_files.h).
//
// Thread safety: every method may be called from any thread. mu_ guards the queue, the state
// and the sticky failure. segments_ and the batch buffers belong to the leader: only the thread
// that holds the lead touches them; the lead passes from thread to thread through mu_ and the
// release/acquire of Waiter::state.
#ifndef XATM_SRC_LOG_FILE_LOG_H_
#define XATM_SRC_LOG_FILE_LOG_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "log/env.h"
#include "log/log_record.h"
#include "log/log_recovery.h"
#include "log/log_state.h"
#include "log/segment_files.h"
#include "xatm/decision_log.h"
#include "xatm/status.h"

namespace xatm::internal {

// xatm::open_file_log over `env`, which must outlive the returned log. Errors:
// kInvalidArgument for an invalid node name or an empty directory; kFailedPrecondition, naming
// the directory, when its lock is held (by another process or another open log in this one);
// kDataLoss naming file and offset for damage; kIOError when a file call fails.
Result<std::unique_ptr<DecisionLog>> open_file_log(const FileLogOptions& options, Env& env);

class FileLog final : public DecisionLog {
 public:
  // The most record bytes (headers included) one batch writes, unless its first record alone is
  // larger. Large enough that the queue never waits for a second batch in practice.
  static constexpr std::size_t kMaxBatchBytes = 1 << 20;
  // DONE records wait for the next batch; when this many bytes of records are queued and
  // nobody leads, log_done writes them itself.
  static constexpr std::size_t kMaxDeferredBytes = 64 << 10;

  // Takes over a locked, recovered directory. Use open_file_log().
  FileLog(Env& env, FileLogOptions options, std::unique_ptr<FileLock> lock, RecoveredLog log);
  // The last step of open_file_log, before the log is shared: gives a log without a LOG-INFO
  // its own (born at `now`, or before anything for an `older_format` log) and makes sure the
  // current segment is of the current format version. kIOError when a write fails.
  Status complete_open(std::chrono::system_clock::time_point now, bool older_format);
  // Writes the DONE records still queued (without a sync), closes the files and releases the
  // directory lock. REQUIRES: no call in progress. DONE records not yet synced may be lost in
  // a crash after that, which recovery tolerates.
  ~FileLog() override;

  FileLog(const FileLog&) = delete;
  FileLog& operator=(const FileLog&) = delete;

  // kInvalidArgument (the log stays usable) for a record that cannot be encoded (see
  // log_record.h); kAlreadyExists for a COMMIT of a global transaction that has a different
  // live or queued decision. A record identical to a live one returns OK and writes nothing.
  Status log_commit(const CommitRecord& record) override;
  Status log_done(const Xid& global) override;
  Status log_heuristic(const HeuristicRecord& record) override;
  Status log_forget(const DecisionBranch& branch) override;
  Status reserve_sequences(std::uint64_t limit) override;
  std::chrono::system_clock::time_point birth() const override;
  std::uint64_t sequence_limit() const override;

  std::vector<CommitRecord> open_decisions() const override;
  std::vector<HeuristicRecord> open_heuristics() const override;
  Status health() const override;

  // What the log has written since it was opened, for benchmarks and tests.
  struct Stats {
    std::uint64_t records = 0;         // records written (carried copies not counted)
    std::uint64_t batches = 0;         // writes of a batch
    std::uint64_t synced_batches = 0;  // batches made durable by an fdatasync of their own
    std::uint64_t rotations = 0;       // new segments started
  };
  [[nodiscard]] Stats stats() const;
  // Records queued now, the batch being written included. For tests.
  [[nodiscard]] std::size_t queue_length() const;

 private:
  // An appender waiting for its record's batch. Shared by the appender and the leader, which
  // signals it after releasing mu_ (a waiter that sees kDone may return at once).
  struct Waiter {
    static constexpr int kWaiting = 0;
    static constexpr int kDone = 1;  // status is set
    static constexpr int kLead = 2;  // its record is at the front and no one leads: lead
    std::atomic<int> state{kWaiting};
    Status status;  // written before state becomes kDone
  };

  // A queued record.
  struct Pending {
    RecordType type;
    std::string payload;
    LogRecord record;                // applied to state_ once its batch is written (and synced)
    bool sync;                       // its batch must be fdatasynced
    std::shared_ptr<Waiter> waiter;  // nullptr: a DONE whose appender did not wait
  };

  // Whether `record` conflicts with, or is identical to, a live or queued COMMIT.
  LogState::Match match_locked(const CommitRecord& record) const;
  // Queues `pending`; with `wait`, returns its batch's status once written (and synced).
  Status append_locked(std::unique_lock<std::mutex>& lock, Pending pending, bool wait);
  // Leads: writes batches while the queue's front has no waiter, then passes the lead on.
  // Returns the first batch's status, with the lock released.
  Status lead_locked(std::unique_lock<std::mutex>& lock);
  // Writes (and syncs) one batch from the front of the queue and completes its appenders
  // (signalled with the lock released for a moment).
  Status write_batch_locked(std::unique_lock<std::mutex>& lock);
  // Points batch_records_ at a prefix of the queue (batch_bytes_ its size); whether it must be
  // synced.
  bool take_batch_locked();
  // Applies a written batch to the state (or makes its failure sticky), pops it and adds its
  // waiters, with their status, to `wake`.
  void complete_batch_locked(const Status& status, bool sync, bool rotate,
                             std::vector<std::shared_ptr<Waiter>>& wake);
  // Writes the batch outside the mutex (leader only); a rotation first carries `live`.
  Status write_batch(bool rotate, const std::vector<LogRecord>& live, bool sync);
  static Status encode_live(const std::vector<LogRecord>& live,
                            std::vector<SegmentFiles::LiveRecord>& encoded);
  // Completes every queued record with `status` (after a failure); adds their waiters to `wake`.
  void fail_queue_locked(const Status& status, std::vector<std::shared_ptr<Waiter>>& wake);
  // Tells each of `wake` that its record is done.
  static void wake_all(const std::vector<std::shared_ptr<Waiter>>& wake);

  const FileLogOptions options_;
  // Held for the whole life of this object; declared before the files so it is released last.
  const std::unique_ptr<FileLock> lock_;

  mutable std::mutex mu_;
  LogState state_;             // guarded by mu_
  std::deque<Pending> queue_;  // guarded by mu_; elements stay put while others are queued
  // Guarded by mu_: a thread leads, or has been told to (kLead). Set whenever a record with a
  // waiter is queued; it stays set while the leader drops mu_ and while the lead passes on.
  // When it is not set, the queue holds deferred DONE records only.
  bool leading_ = false;
  std::size_t waiting_ = 0;       // guarded by mu_: queued records with a waiter
  std::size_t queued_bytes_ = 0;  // guarded by mu_: framed size of the queued records
  Status failure_;                // guarded by mu_: the sticky error, OK until then
  Stats stats_;                   // guarded by mu_

  // The leader's.
  SegmentFiles segments_;
  std::vector<Pending*> batch_records_;  // the queued records of the batch being written
  std::size_t batch_bytes_ = 0;          // their size, framed
  std::string batch_;                    // their framed bytes
};

}  // namespace xatm::internal

#endif  // XATM_SRC_LOG_FILE_LOG_H_
