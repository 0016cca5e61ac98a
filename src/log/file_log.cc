#include "log/file_log.h"

#include <filesystem>
#include <utility>

#include "log/log_format.h"
#include "log/log_record.h"
#include "log/posix_env.h"
#include "logging.h"

namespace xatm {

Result<std::unique_ptr<DecisionLog>> open_file_log(const FileLogOptions& options) {
  return internal::open_file_log(options, internal::posix_env());
}

namespace internal {
namespace {

// A new directory's name lives in its parent: sync that too, or the whole log could vanish.
Status create_log_dir(Env& env, const std::string& dir) {
  Result<bool> created = env.create_dir(dir);
  if (!created.ok()) return created.status().with_context("decision log: creating " + dir);
  if (!*created) return Status();
  std::filesystem::path parent = std::filesystem::path(dir).lexically_normal().parent_path();
  if (parent.empty()) parent = ".";
  Status synced = env.sync_dir(parent.string());
  if (!synced.ok()) return synced.with_context("decision log: creating " + dir);
  return Status();
}

Result<std::unique_ptr<FileLock>> lock_log_dir(Env& env, const std::string& dir) {
  Result<std::unique_ptr<FileLock>> lock = env.lock_file(dir + "/" + std::string(kLockFileName));
  if (lock.ok() || lock.status().code() != StatusCode::kFailedPrecondition) return lock;
  return failed_precondition_error("decision log directory " + dir +
                                   " is in use: another process, or another open log in this "
                                   "process, holds the lock on " +
                                   dir + "/" + std::string(kLockFileName));
}

}  // namespace

Result<std::unique_ptr<DecisionLog>> open_file_log(const FileLogOptions& options, Env& env) {
  XATM_RETURN_IF_ERROR(validate_node_name(options.node_name));
  if (options.dir.empty()) return invalid_argument_error("decision log: no directory given");
  XATM_RETURN_IF_ERROR(create_log_dir(env, options.dir));
  Result<std::unique_ptr<FileLock>> lock = lock_log_dir(env, options.dir);
  if (!lock.ok()) return lock.status();
  Result<RecoveredLog> recovered = recover_log(env, options.dir, options.node_name);
  if (!recovered.ok()) return recovered.status();
  return std::unique_ptr<DecisionLog>(std::make_unique<FileLog>(
      env, options, std::move(lock).value(), std::move(recovered).value()));
}

FileLog::FileLog(Env& env, FileLogOptions options, std::unique_ptr<FileLock> lock, RecoveredLog log)
    : env_(env),
      options_(std::move(options)),
      lock_(std::move(lock)),
      state_(std::move(log.state)),
      writer_(std::move(log.writer)),
      segments_(std::move(log.segments)),
      carried_bytes_(kSegmentHeaderSize) {}

Status FileLog::log_commit(const CommitRecord& record) {
  Result<std::string> payload = encode_payload(record);
  if (!payload.ok()) return payload.status();
  std::lock_guard lock(mu_);
  if (!failure_.ok()) return failure_;
  switch (state_.match(record)) {
    case LogState::Match::kIdentical: return Status();  // durable already
    case LogState::Match::kConflict:
      return already_exists_error("decision log: a different COMMIT record for " +
                                  record.global.to_string() + " is live");
    case LogState::Match::kNone: break;
  }
  XATM_RETURN_IF_ERROR(append_locked(RecordType::kCommit, *payload, /*sync=*/true));
  state_.add_commit(record);
  return Status();
}

Status FileLog::log_done(const Xid& global) {
  Result<std::string> payload = encode_payload(DoneRecord{global});
  if (!payload.ok()) return payload.status();
  std::lock_guard lock(mu_);
  if (!failure_.ok()) return failure_;
  // Not synced: a DONE lost in a crash only makes recovery visit a finished decision again.
  XATM_RETURN_IF_ERROR(append_locked(RecordType::kDone, *payload, /*sync=*/false));
  state_.mark_done(global);
  return Status();
}

Status FileLog::log_heuristic(const HeuristicRecord& record) {
  Result<std::string> payload = encode_payload(record);
  if (!payload.ok()) return payload.status();
  std::lock_guard lock(mu_);
  if (!failure_.ok()) return failure_;
  if (state_.contains(record)) return Status();  // durable already
  XATM_RETURN_IF_ERROR(append_locked(RecordType::kHeuristic, *payload, /*sync=*/true));
  state_.add_heuristic(record);
  return Status();
}

std::vector<CommitRecord> FileLog::open_decisions() const {
  std::lock_guard lock(mu_);
  return state_.open_decisions();
}

std::vector<HeuristicRecord> FileLog::open_heuristics() const {
  std::lock_guard lock(mu_);
  return state_.open_heuristics();
}

Status FileLog::health() const {
  std::lock_guard lock(mu_);
  return failure_;
}

// A failure here is final for this object. After a failed fdatasync the kernel may already
// have marked the unwritten pages clean, so a second fdatasync could succeed with the record
// not on disk: retrying and then reporting durability would be a lie. The caller of the failed
// append treats its record as in doubt; reopening reads back whatever did reach the disk.
Status FileLog::append_locked(RecordType type, const std::string& payload, bool sync) {
  Status status = rotate_if_needed_locked();
  if (status.ok()) status = writer_->append(type, payload);
  if (status.ok() && sync) status = writer_->sync_data();
  if (status.ok()) return status;
  failure_ = status;
  XATM_LOG(error) << status.message() << "; the decision log is unusable until it is reopened";
  return failure_;
}

Status FileLog::rotate_if_needed_locked() {
  std::uint64_t size = writer_->size();
  if (size <= options_.max_segment_bytes) return Status();
  // Rotation copies every live record; waiting until the segment holds at least as many new
  // bytes as copied ones keeps that copying proportional to the appends.
  if (size - carried_bytes_ < carried_bytes_) return Status();
  return rotate_locked();
}

Status FileLog::rotate_locked() {
  // The old segment first: DONE records are written without a sync, and once a newer segment
  // exists a torn record in an older one is damage, not a torn tail.
  XATM_RETURN_IF_ERROR(writer_->sync_data());
  Result<std::unique_ptr<SegmentWriter>> next =
      SegmentWriter::create(env_, options_.dir, writer_->number() + 1, options_.node_name);
  if (!next.ok()) return next.status();
  XATM_RETURN_IF_ERROR(carry_live_records_locked(**next));
  XATM_RETURN_IF_ERROR((*next)->sync());
  writer_ = std::move(next).value();
  carried_bytes_ = writer_->size();
  segments_.push_back(writer_->number());
  return remove_old_segments_locked();
}

Status FileLog::carry_live_records_locked(SegmentWriter& next) {
  for (const CommitRecord& record : state_.open_decisions()) {
    Result<std::string> payload = encode_payload(record);
    if (!payload.ok()) return internal_error("decision log: " + payload.status().message());
    XATM_RETURN_IF_ERROR(next.append(RecordType::kCommit, *payload));
  }
  for (const HeuristicRecord& record : state_.open_heuristics()) {
    Result<std::string> payload = encode_payload(record);
    if (!payload.ok()) return internal_error("decision log: " + payload.status().message());
    XATM_RETURN_IF_ERROR(next.append(RecordType::kHeuristic, *payload));
  }
  return Status();
}

// The current segment now holds every live record durably, so the older ones hold nothing
// needed. They go oldest first and removal stops at the first failure: the segments left are
// then always the newest ones, which replay to the same state (log_state.h).
Status FileLog::remove_old_segments_locked() {
  auto kept = segments_.begin();
  for (; kept != segments_.end() && *kept < writer_->number(); ++kept) {
    Status removed = env_.remove_file(segment_path(*kept));
    if (!removed.ok()) {
      XATM_LOG(warning) << "decision log: " << removed.message()
                        << "; the segment stays and is removed at the next rotation";
      break;
    }
  }
  segments_.erase(segments_.begin(), kept);
  Status synced = env_.sync_dir(options_.dir);
  if (!synced.ok()) return synced.with_context("decision log: removing old segments");
  return Status();
}

std::string FileLog::segment_path(std::uint64_t number) const {
  return options_.dir + "/" + segment_file_name(number);
}

}  // namespace internal
}  // namespace xatm
