// open_log_snapshot (xatm/log_tools.h): the decisions of a log that a live TM may be writing,
// read without its lock and without changing a byte, for `xatm-recover --force`.
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

// Appends are refused: only the TM that holds the lock may write its log.
class SnapshotLog : public DecisionLog {
 public:
  explicit SnapshotLog(internal::LogState state) : state_(std::move(state)) {}

  Status log_commit(const CommitRecord&) override { return refused(); }
  Status log_done(const Xid&) override { return refused(); }
  Status log_heuristic(const HeuristicRecord&) override { return refused(); }
  std::vector<CommitRecord> open_decisions() const override { return state_.open_decisions(); }
  std::vector<HeuristicRecord> open_heuristics() const override { return state_.open_heuristics(); }
  Status health() const override { return Status(); }

 private:
  static Status refused() {
    return failed_precondition_error("the decision log is a read-only snapshot (a live TM holds it)");
  }
  internal::LogState state_;
};

std::string where(const std::string& file, std::uint64_t offset) {
  return "decision log: " + file + " offset " + std::to_string(offset);
}

}  // namespace

Result<std::unique_ptr<DecisionLog>> open_log_snapshot(const std::string& dir, const std::string& node_name) {
  internal::Env& env = internal::posix_env();
  Result<std::vector<std::uint64_t>> segments = internal::list_segments(env, dir);
  if (!segments.ok()) return segments.status();
  internal::LogState state;
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
    for (const internal::FramedRecord& framed : scan.records) {
      Result<internal::LogRecord> record = internal::decode_payload(framed.type, framed.payload);
      if (!record.ok()) return data_loss_error(where(file, framed.offset) + ": " + record.status().message());
      Status replayed = state.replay(*record);
      if (!replayed.ok()) return data_loss_error(where(file, framed.offset) + ": " + replayed.message());
    }
  }
  return std::unique_ptr<DecisionLog>(std::make_unique<SnapshotLog>(std::move(state)));
}

}  // namespace xatm
