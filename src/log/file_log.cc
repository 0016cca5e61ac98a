#include "log/file_log.h"

#include <cassert>
#include <chrono>
#include <filesystem>
#include <utility>
#include <variant>

#include "log/log_format.h"
#include "log/segment_writer.h"
#include "log/posix_env.h"
#include "testing_hooks.h"
#include "xatm/driver/logging.h"

namespace xatm {

Result<std::unique_ptr<DecisionLog>> open_file_log(const FileLogOptions& options) {
  return internal::open_file_log(options, internal::posix_env());
}

Result<bool> file_log_exists(const std::string& dir) {
  std::error_code error;
  if (!std::filesystem::exists(dir, error)) {
    if (error) return io_error("decision log: " + dir + ": " + error.message());
    return false;
  }
  Result<std::vector<std::uint64_t>> segments = internal::list_segments(internal::posix_env(), dir);
  if (!segments.ok()) return segments.status();
  return !segments->empty();
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
  Result<std::unique_ptr<FileLock>> lock = env.lock_dir(dir);
  if (lock.ok() || lock.status().code() != StatusCode::kFailedPrecondition) return lock;
  return failed_precondition_error("decision log directory " + dir +
                                   " is in use: another process, or another open log in this "
                                   "process, holds its lock");
}

std::int64_t micros_since_epoch(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
}

}  // namespace

Result<std::unique_ptr<DecisionLog>> open_file_log(const FileLogOptions& options, Env& env) {
  XATM_RETURN_IF_ERROR(validate_node_name(options.node_name));
  if (options.dir.empty()) return invalid_argument_error("decision log: no directory given");
  if (options.create_if_missing) {
    XATM_RETURN_IF_ERROR(create_log_dir(env, options.dir));
  }
  Result<std::unique_ptr<FileLock>> lock = lock_log_dir(env, options.dir);
  if (!lock.ok()) {
    if (lock.status().code() == StatusCode::kIOError && !options.create_if_missing) {
      return not_found_error("decision log: " + options.dir + " holds no decision log (" +
                             lock.status().message() + ")");
    }
    return lock.status();
  }
  Result<RecoveredLog> recovered = recover_log(env, options.dir, options.node_name,
                                               options.max_segment_bytes, options.create_if_missing);
  if (!recovered.ok()) return recovered.status();
  const bool older_format = recovered->older_format;
  auto log = std::make_unique<FileLog>(env, options, std::move(lock).value(),
                                       std::move(recovered).value());
  XATM_RETURN_IF_ERROR(log->complete_open(env.now(), older_format));
  return std::unique_ptr<DecisionLog>(std::move(log));
}

FileLog::FileLog(Env& env, FileLogOptions options, std::unique_ptr<FileLock> lock, RecoveredLog log)
    : options_(std::move(options)),
      lock_(std::move(lock)),
      state_(std::move(log.state)),
      segments_(env, options_.dir, options_.node_name, options_.max_segment_bytes,
                std::move(log.writer), std::move(log.segments)) {}

FileLog::~FileLog() {
  // Every appender has returned, so no leader is active and only deferred DONE records can be
  // queued: write them (not synced, like any DONE).
  std::unique_lock lock(mu_);
  assert(!leading_ && waiting_ == 0);
  if (queue_.empty() || !failure_.ok()) return;
  leading_ = true;
  lead_locked(lock).ignore_error();  // logged; a lost DONE is harmless
}

// Runs before the log is shared, so the leader's state is this thread's.
Status FileLog::complete_open(std::chrono::system_clock::time_point now, bool older_format) {
  const bool info_missing = !state_.info();
  if (info_missing) {
    // A new log, one whose creation was cut short before anything was written (born now), or
    // one written before births were recorded (born before anything: its XIDs are its own).
    // The first sequence numbers follow the clock, as they did before the limit was recorded,
    // so that a log created anew does not reuse the numbers of the one it replaces.
    const std::int64_t now_micros = micros_since_epoch(now);
    state_.set_info({older_format ? 0 : now_micros, static_cast<std::uint64_t>(now_micros)});
  }
  if (segments_.version() < kFormatVersion) {
    // No record of a newer format goes into an old segment: a new one starts with the live
    // records, the LOG-INFO first.
    std::vector<SegmentFiles::LiveRecord> live;
    XATM_RETURN_IF_ERROR(encode_live(state_.live_records(), live));
    return segments_.rotate(live);
  }
  if (!info_missing) return Status();
  Result<std::string> payload = encode_payload(*state_.info());
  if (!payload.ok()) return payload.status();
  std::string record;
  append_record(record, RecordType::kLogInfo, segments_.number(), *payload);
  XATM_RETURN_IF_ERROR(segments_.append_records(record));
  return segments_.sync_data();
}

std::chrono::system_clock::time_point FileLog::birth() const {
  std::lock_guard lock(mu_);
  return std::chrono::system_clock::time_point(std::chrono::microseconds(state_.info()->birth_micros));
}

std::uint64_t FileLog::sequence_limit() const {
  std::lock_guard lock(mu_);
  return state_.info()->sequence_limit;
}

Status FileLog::reserve_sequences(std::uint64_t limit) {
  std::unique_lock lock(mu_);
  if (!failure_.ok()) return failure_;
  LogInfoRecord info = *state_.info();
  if (limit <= info.sequence_limit) return Status();  // reserved already
  info.sequence_limit = limit;
  Result<std::string> payload = encode_payload(info);
  if (!payload.ok()) return payload.status();
  return append_locked(lock, {RecordType::kLogInfo, std::move(payload).value(), info, true, nullptr},
                       /*wait=*/true);
}

Status FileLog::log_forget(const DecisionBranch& branch) {
  ForgetRecord record{branch};
  Result<std::string> payload = encode_payload(record);
  if (!payload.ok()) return payload.status();
  std::unique_lock lock(mu_);
  if (!failure_.ok()) return failure_;
  return append_locked(
      lock, {RecordType::kForget, std::move(payload).value(), std::move(record), true, nullptr},
      /*wait=*/true);
}

Status FileLog::log_commit(const CommitRecord& record) {
  Result<std::string> payload = encode_payload(record);
  if (!payload.ok()) return payload.status();
  std::unique_lock lock(mu_);
  if (!failure_.ok()) return failure_;
  switch (match_locked(record)) {
    case LogState::Match::kIdentical: return Status();  // durable already
    case LogState::Match::kConflict:
      return already_exists_error("decision log: a different COMMIT record for " +
                                  record.global.to_string() + " is live");
    case LogState::Match::kNone: break;
  }
  return append_locked(lock,
                       {RecordType::kCommit, std::move(payload).value(), record, true, nullptr},
                       /*wait=*/true);
}

Status FileLog::log_done(const Xid& global) {
  Result<std::string> payload = encode_payload(DoneRecord{global});
  if (!payload.ok()) return payload.status();
  std::unique_lock lock(mu_);
  if (!failure_.ok()) return failure_;
  // Not synced, not waited for: a DONE lost in a crash only makes recovery visit a finished
  // decision again.
  return append_locked(
      lock, {RecordType::kDone, std::move(payload).value(), DoneRecord{global}, false, nullptr},
      /*wait=*/false);
}

Status FileLog::log_heuristic(const HeuristicRecord& record) {
  Result<std::string> payload = encode_payload(record);
  if (!payload.ok()) return payload.status();
  std::unique_lock lock(mu_);
  if (!failure_.ok()) return failure_;
  if (state_.contains(record)) return Status();  // durable already
  // An identical record still queued is written twice; replay skips the copy.
  return append_locked(lock,
                       {RecordType::kHeuristic, std::move(payload).value(), record, true, nullptr},
                       /*wait=*/true);
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

FileLog::Stats FileLog::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::size_t FileLog::queue_length() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

LogState::Match FileLog::match_locked(const CommitRecord& record) const {
  LogState::Match match = state_.match(record);
  if (match != LogState::Match::kNone) return match;
  // A queued identical COMMIT is not durable yet: this one is queued too (replay skips the
  // copy), so that its appender returns only once a copy is durable.
  for (const Pending& pending : queue_) {
    const auto* queued = std::get_if<CommitRecord>(&pending.record);
    if (queued != nullptr && queued->global == record.global && !(*queued == record)) {
      return LogState::Match::kConflict;
    }
  }
  return LogState::Match::kNone;
}

Status FileLog::append_locked(std::unique_lock<std::mutex>& lock, Pending pending, bool wait) {
  std::shared_ptr<Waiter> waiter;
  if (wait) {
    waiter = std::make_shared<Waiter>();
    pending.waiter = waiter;
    ++waiting_;
  }
  queued_bytes_ += kRecordHeaderSize + pending.payload.size();
  queue_.push_back(std::move(pending));
  if (!wait) {
    // A DONE takes effect in memory now (a lost one is harmless), and again, idempotently, once
    // written. It goes out with the next batch; nobody leads one for it until enough wait.
    state_.replay(queue_.back().record).ignore_error();
    if (leading_ || queued_bytes_ < kMaxDeferredBytes) return Status();
    leading_ = true;
    return lead_locked(lock);
  }
  if (!leading_) {
    // Nobody leads, so only deferred DONE records are queued, in front of this one.
    leading_ = true;
    lead_locked(lock).ignore_error();  // completes this record too
    return waiter->status;
  }
  // A batch is under way: its leader, or the next one, writes this record.
  lock.unlock();
  int state;
  while ((state = waiter->state.load(std::memory_order_acquire)) == Waiter::kWaiting) {
    waiter->state.wait(Waiter::kWaiting, std::memory_order_acquire);
  }
  if (state == Waiter::kDone) return waiter->status;
  lock.lock();
  lead_locked(lock).ignore_error();  // completes this record too
  return waiter->status;
}

Status FileLog::lead_locked(std::unique_lock<std::mutex>& lock) {
  Status first = write_batch_locked(lock);
  // Records nobody waits for have no thread to lead their batch: while an appender waits behind
  // them, this one leads on.
  while (waiting_ > 0 && queue_.front().waiter == nullptr) {
    write_batch_locked(lock).ignore_error();  // reported to the waiters, and sticky
  }
  // The lead passes to the appender at the front. Without one, the queue is empty or holds
  // DONE records only, which wait for the next batch.
  std::shared_ptr<Waiter> next = waiting_ > 0 ? queue_.front().waiter : nullptr;
  if (!next) leading_ = false;
  lock.unlock();
  if (next) {
    next->state.store(Waiter::kLead, std::memory_order_release);
    next->state.notify_one();
  }
  return first;
}

Status FileLog::write_batch_locked(std::unique_lock<std::mutex>& lock) {
  std::vector<std::shared_ptr<Waiter>> wake;
  Status status = failure_;
  if (status.ok()) {
    const bool sync = take_batch_locked();
    // A new segment starts with the live records: the state now, before this batch.
    const bool rotate = segments_.should_rotate(batch_bytes_);
    std::vector<LogRecord> live;
    if (rotate) live = state_.live_records();
    lock.unlock();
    status = write_batch(rotate, live, sync);
    lock.lock();
    complete_batch_locked(status, sync, rotate, wake);
  }
  if (!status.ok()) fail_queue_locked(status, wake);
  // Woken without mu_ held, or each of them would wake only to wait for it.
  lock.unlock();
  wake_all(wake);
  lock.lock();
  return status;
}

bool FileLog::take_batch_locked() {
  // A prefix of the queue, bounded in bytes. Pointers, because other appenders push_back while
  // the mutex is released; a deque keeps its elements in place meanwhile.
  batch_records_.clear();
  batch_bytes_ = 0;
  bool sync = false;
  for (Pending& pending : queue_) {
    std::size_t record_bytes = kRecordHeaderSize + pending.payload.size();
    if (!batch_records_.empty() && batch_bytes_ + record_bytes > kMaxBatchBytes) break;
    batch_bytes_ += record_bytes;
    sync = sync || pending.sync;
    batch_records_.push_back(&pending);
  }
  return sync;
}

void FileLog::complete_batch_locked(const Status& status, bool sync, bool rotate,
                                    std::vector<std::shared_ptr<Waiter>>& wake) {
  if (status.ok()) {
    for (Pending* pending : batch_records_) {
      // Cannot fail: a conflicting COMMIT is never queued (match_locked). Moved: the record
      // leaves the queue below.
      state_.replay(std::move(pending->record)).ignore_error();
    }
    stats_.records += batch_records_.size();
    ++stats_.batches;
    if (sync) ++stats_.synced_batches;
    if (rotate) ++stats_.rotations;
  } else {
    failure_ = status;
    XATM_LOG(error) << status.message() << "; the decision log is unusable until it is reopened";
  }
  wake.reserve(batch_records_.size());
  for (std::size_t i = 0; i < batch_records_.size(); ++i) {
    Pending& done = queue_.front();
    if (done.waiter != nullptr) {
      done.waiter->status = status;
      wake.push_back(std::move(done.waiter));
      --waiting_;
    }
    queued_bytes_ -= kRecordHeaderSize + done.payload.size();
    queue_.pop_front();
  }
  batch_records_.clear();
}

// A failure here is final for this object. After a failed fdatasync the kernel may already
// have marked the unwritten pages clean, so a second fdatasync could succeed with the records
// not on disk: retrying and then reporting durability would be a lie. The appenders of the
// batch treat their records as in doubt; reopening reads back whatever did reach the disk.
Status FileLog::write_batch(bool rotate, const std::vector<LogRecord>& live, bool sync) {
  if (rotate) {
    std::vector<SegmentFiles::LiveRecord> encoded;
    XATM_RETURN_IF_ERROR(encode_live(live, encoded));
    XATM_RETURN_IF_ERROR(segments_.rotate(encoded));
  }
  batch_.clear();
  for (const Pending* pending : batch_records_) {
    append_record(batch_, pending->type, segments_.number(), pending->payload);
  }
  XATM_RETURN_IF_ERROR(segments_.append_records(batch_));
  // Written, not yet durable: a crash here may leave the batch whole, torn or gone on disk.
  XATM_CRASH_POINT(kCrashLogBeforeSync);
  if (sync) XATM_RETURN_IF_ERROR(segments_.sync_data());
  return Status();
}

// Live records were encoded once already, when they were appended: failing now is a bug.
Status FileLog::encode_live(const std::vector<LogRecord>& live,
                            std::vector<SegmentFiles::LiveRecord>& encoded) {
  encoded.reserve(live.size());
  for (const LogRecord& record : live) {
    Result<std::string> payload = encode_payload(record);
    if (!payload.ok()) return internal_error("decision log: " + payload.status().message());
    encoded.push_back({record_type(record), std::move(payload).value()});
  }
  return Status();
}

void FileLog::fail_queue_locked(const Status& status, std::vector<std::shared_ptr<Waiter>>& wake) {
  for (Pending& pending : queue_) {
    if (pending.waiter == nullptr) continue;
    pending.waiter->status = status;
    wake.push_back(std::move(pending.waiter));
  }
  queue_.clear();
  waiting_ = 0;
  queued_bytes_ = 0;
}

void FileLog::wake_all(const std::vector<std::shared_ptr<Waiter>>& wake) {
  for (const std::shared_ptr<Waiter>& waiter : wake) {
    waiter->state.store(Waiter::kDone, std::memory_order_release);
    waiter->state.notify_one();
  }
}

}  // namespace internal
}  // namespace xatm
