// The file decision log: the DecisionLog of xatm/decision_log.h over segment files in one
// directory (docs/log-format.md).
//
// Durability: log_commit and log_heuristic write their record and fdatasync it before returning
// OK; log_done writes without syncing. A failed write or sync, or a failed step of a rotation,
// makes the log unusable: the first such error is kept and returned by every later append and
// by health(). Nothing is retried; reopen the log to go on.
//
// Rotation: before an append, when the current segment is larger than max_segment_bytes (and
// at least half of it was appended since it was started, so that live records alone cannot make
// every append rotate), the log syncs it, starts the next segment (fsync of the file and the
// directory), copies the live COMMIT and HEURISTIC records into it, fsyncs it, then deletes the
// older segments and fsyncs the directory.
//
// Thread safety: every method may be called from any thread. One mutex (mu_) serializes the
// appends, each a write plus its sync, and guards all mutable state. (Group commit, which
// batches concurrent appends under one fdatasync, replaces this writer in a later version;
// users see only DecisionLog.)
#ifndef XATM_SRC_LOG_FILE_LOG_H_
#define XATM_SRC_LOG_FILE_LOG_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "log/env.h"
#include "log/log_recovery.h"
#include "log/log_state.h"
#include "log/segment_writer.h"
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
  // Takes over a locked, recovered directory. Use open_file_log().
  FileLog(Env& env, FileLogOptions options, std::unique_ptr<FileLock> lock, RecoveredLog log);
  // Closes the files and releases the directory lock. Records written by log_done and not yet
  // synced may be lost in a crash after that, which recovery tolerates.
  ~FileLog() override = default;

  FileLog(const FileLog&) = delete;
  FileLog& operator=(const FileLog&) = delete;

  // kInvalidArgument (the log stays usable) for a record that cannot be encoded (see
  // log_record.h); kAlreadyExists for a COMMIT of a global transaction that has a different live
  // decision. Appending a record identical to a live one returns OK and writes nothing.
  Status log_commit(const CommitRecord& record) override;
  Status log_done(const Xid& global) override;
  Status log_heuristic(const HeuristicRecord& record) override;

  std::vector<CommitRecord> open_decisions() const override;
  std::vector<HeuristicRecord> open_heuristics() const override;
  Status health() const override;

 private:
  Status append_locked(RecordType type, const std::string& payload, bool sync);
  Status rotate_if_needed_locked();
  Status rotate_locked();
  Status carry_live_records_locked(SegmentWriter& next);
  Status remove_old_segments_locked();
  std::string segment_path(std::uint64_t number) const;

  Env& env_;
  const FileLogOptions options_;
  // Held for the whole life of this object; declared before the files so it is released last.
  const std::unique_ptr<FileLock> lock_;

  mutable std::mutex mu_;
  LogState state_;                         // guarded by mu_
  std::unique_ptr<SegmentWriter> writer_;  // guarded by mu_: the current segment
  std::vector<std::uint64_t> segments_;    // guarded by mu_: every segment on disk, ascending
  std::uint64_t carried_bytes_;            // guarded by mu_: writer_'s size when it was started
  Status failure_;                         // guarded by mu_: the sticky error, OK until then
};

}  // namespace xatm::internal

#endif  // XATM_SRC_LOG_FILE_LOG_H_
