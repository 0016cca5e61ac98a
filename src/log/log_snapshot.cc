// open_log_snapshot (xatm/log_tools.h): the decisions of a log read without changing a byte,
// for `xatm-recover list`, `run --dry-run` and `--force` beside a live TM.
#include <chrono>
#include <limits>
#include <mutex>
#include <utility>

#include "log/log_format.h"
#include "log/log_record.h"
#include "log/log_recovery.h"
#include "log/log_state.h"
#include "log/posix_env.h"
#include "log/segment_reader.h"
#include "xatm/log_tools.h"

namespace xatm {
namespace {

std::string where(const std::string& file, std::uint64_t offset) {
  return "decision log: " + file + " offset " + std::to_string(offset);
}

// Reads every segment of `dir` into a LogState, changing nothing.
Result<internal::LogState> read_state(internal::Env& env, const std::string& dir,
                                      const std::string& node_name) {
  Result<std::vector<std::uint64_t>> segments = internal::list_segments(env, dir);
  if (!segments.ok()) return segments.status();
  if (segments->empty()) {
    return not_found_error("decision log: " + dir + " holds no decision log (no *" +
                           std::string(internal::kSegmentSuffix) + " segment)");
  }
  internal::LogState state;
  bool older_format = false;
  for (std::size_t i = 0; i < segments->size(); ++i) {
    const std::string file = dir + "/" + internal::segment_file_name((*segments)[i]);
    Result<std::string> data = env.read_file(file);
    if (!data.ok()) return data.status();
    internal::SegmentScan scan = internal::scan_segment(*data, (*segments)[i], node_name);
    using End = internal::SegmentScan::End;
    const bool last = i + 1 == segments->size();
    // At the end of the last segment, a torn record is an append in progress.
    const bool in_progress = last && (scan.end == End::kTornTail || scan.end == End::kTornHeader);
    if (scan.end != End::kClean && !in_progress) {
      return data_loss_error(where(file, scan.problem_offset) + ": " + scan.problem);
    }
    older_format = older_format || scan.version == 1;
    for (const internal::FramedRecord& framed : scan.records) {
      Result<internal::LogRecord> record = internal::decode_payload(framed.type, framed.payload);
      if (!record.ok()) return data_loss_error(where(file, framed.offset) + ": " + record.status().message());
      Status replayed = state.replay(*record);
      if (!replayed.ok()) return data_loss_error(where(file, framed.offset) + ": " + replayed.message());
    }
  }
  if (!state.info() && !older_format) {
    // A log of this format whose LOG-INFO is missing (its creation was cut short, or its segment
    // was emptied) vouches for nothing before now: as FileLog::complete_open would open it, so
    // that `list` and `run --dry-run` plan what `run` would do.
    const std::int64_t now_micros =
        std::chrono::duration_cast<std::chrono::microseconds>(env.now().time_since_epoch()).count();
    state.set_info({now_micros, static_cast<std::uint64_t>(now_micros)});
  }
  return state;
}

// Appends are refused: only the TM that holds the lock may write its log. Each open_decisions()
// reads the directory again, so that recovery, which asks for the decisions after it listed the
// prepared branches, also sees a COMMIT that a live TM appended in between.
class SnapshotLog : public DecisionLog {
 public:
  SnapshotLog(std::string dir, std::string node_name, internal::LogState state,
              std::unique_ptr<internal::FileLock> lock)
      : dir_(std::move(dir)), node_name_(std::move(node_name)), lock_(std::move(lock)),
        state_(std::move(state)) {}

  Status log_commit(const CommitRecord&) override { return refused(); }
  Status log_done(const Xid&) override { return refused(); }
  Status log_heuristic(const HeuristicRecord&) override { return refused(); }
  Status log_forget(const DecisionBranch&) override { return refused(); }
  Status reserve_sequences(std::uint64_t) override { return refused(); }

  std::vector<CommitRecord> open_decisions() const override {
    std::lock_guard lock(mu_);
    Result<internal::LogState> fresh = read_state(internal::posix_env(), dir_, node_name_);
    if (fresh.ok()) {
      state_ = std::move(fresh).value();
    } else {
      failure_ = fresh.status();  // health() says so: recovery then rolls nothing back
    }
    return state_.open_decisions();
  }
  std::vector<HeuristicRecord> open_heuristics() const override {
    std::lock_guard lock(mu_);
    return state_.open_heuristics();
  }
  Status health() const override {
    std::lock_guard lock(mu_);
    return failure_;
  }
  // A log of format version 1 recorded neither: it is older than anything, and no sequence
  // number is judged by a limit it never wrote.
  std::chrono::system_clock::time_point birth() const override {
    std::lock_guard lock(mu_);
    if (!state_.info()) return {};
    return std::chrono::system_clock::time_point(std::chrono::microseconds(state_.info()->birth_micros));
  }
  std::uint64_t sequence_limit() const override {
    std::lock_guard lock(mu_);
    if (!state_.info()) return std::numeric_limits<std::uint64_t>::max();
    return state_.info()->sequence_limit;
  }

 private:
  static Status refused() {
    return failed_precondition_error("the decision log is opened read-only here (a snapshot)");
  }

  const std::string dir_;
  const std::string node_name_;
  const std::unique_ptr<internal::FileLock> lock_;  // null when a live TM holds it
  mutable std::mutex mu_;
  mutable internal::LogState state_;  // guarded by mu_
  mutable Status failure_;            // guarded by mu_
};

}  // namespace

Result<LogSnapshot> open_log_snapshot(const std::string& dir, const std::string& node_name) {
  internal::Env& env = internal::posix_env();
  Result<std::unique_ptr<internal::FileLock>> lock = env.lock_dir(dir);
  if (!lock.ok() && lock.status().code() != StatusCode::kFailedPrecondition) {
    return not_found_error("decision log: " + dir + " holds no decision log (" +
                           lock.status().message() + ")");
  }
  Result<internal::LogState> state = read_state(env, dir, node_name);
  if (!state.ok()) return state.status();
  LogSnapshot snapshot;
  snapshot.locked = lock.ok();
  snapshot.log = std::make_unique<SnapshotLog>(dir, node_name, std::move(state).value(),
                                               lock.ok() ? std::move(lock).value() : nullptr);
  return snapshot;
}

}  // namespace xatm
