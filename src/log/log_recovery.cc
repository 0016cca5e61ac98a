#include "log/log_recovery.h"

#include <algorithm>
#include <utility>

#include "log/log_format.h"
#include "log/log_record.h"
#include "log/segment_reader.h"
#include "xatm/driver/logging.h"

namespace xatm::internal {
namespace {

using End = SegmentScan::End;

Status damage(const std::string& path, std::uint64_t offset, std::string_view problem) {
  return data_loss_error("decision log " + path + " is damaged at offset " +
                         std::to_string(offset) + ": " + std::string(problem) +
                         "; stop and run `xatm-recover log verify`");
}

// Not damage in the usual sense, but the same answer: do not touch it. The message says what
// to fix instead of sending the operator to `xatm-recover log verify`.
Status other_node(const std::string& path, const SegmentScan& scan, std::string_view node_name) {
  return data_loss_error("decision log " + path + " (offset " +
                         std::to_string(scan.problem_offset) + ") belongs to node '" +
                         scan.other_node + "', not to node '" + std::string(node_name) +
                         "': this is the log directory of another node; open it with node name '" +
                         scan.other_node + "' or give this node its own directory");
}

Status replay_segment(const SegmentScan& scan, const std::string& path, LogState& state) {
  for (const FramedRecord& framed : scan.records) {
    Result<LogRecord> record = decode_payload(framed.type, framed.payload);
    if (!record.ok()) {
      return damage(path, framed.offset, "malformed record: " + record.status().message());
    }
    Status replayed = state.replay(*record);
    if (!replayed.ok()) return damage(path, framed.offset, replayed.message());
  }
  return Status();
}

// Cuts a torn tail off the last segment. Appending after it instead would leave garbage in
// the middle of the log, which the next open would rightly call damage.
Status truncate_torn_tail(WritableFile& file, const SegmentScan& scan, std::uint64_t file_size) {
  XATM_LOG(warning) << "decision log " << file.path() << ": dropping a torn record at offset "
                    << scan.problem_offset << " (" << file_size - scan.problem_offset << " bytes, "
                    << scan.problem << "), left by a crash during a write";
  Status truncated = file.truncate(scan.problem_offset);
  if (!truncated.ok()) return truncated.with_context("decision log: truncating a torn tail");
  return Status();
}

// Opens the last segment for appending at the end of its valid records.
Result<std::unique_ptr<SegmentWriter>> resume_last_segment(
    Env& env, const std::string& path, std::uint64_t number, std::string_view node_name,
    const SegmentScan& scan, std::uint64_t file_size, std::uint64_t segment_bytes) {
  Result<std::unique_ptr<WritableFile>> file = env.reopen_writable_file(path);
  if (!file.ok()) return file.status().with_context("decision log: reopening the last segment");
  // kClean: where the records end, before any zero-filled tail; the torn cases: where the
  // valid records end (0 for a torn header).
  std::uint64_t size = scan.problem_offset;
  if (scan.end == End::kTornTail || scan.end == End::kTornHeader) {
    XATM_RETURN_IF_ERROR(truncate_torn_tail(**file, scan, file_size));
  }
  auto writer = std::make_unique<SegmentWriter>(std::move(file).value(), number, size, scan.version);
  // A segment whose creation was cut short held no record yet: give it its header again.
  if (scan.end == End::kTornHeader) XATM_RETURN_IF_ERROR(writer->write_header(node_name));
  // Preallocate again what a truncation gave back (or what a log written without
  // preallocation never had); the new bytes are zeros, the clean end.
  if (segment_bytes > writer->size()) XATM_RETURN_IF_ERROR(writer->allocate(segment_bytes));
  // fsync, not fdatasync: it also makes a truncation durable. And a crashed process may have
  // left records it wrote but never synced (a COMMIT whose fdatasync never ran): they must be
  // durable before recovery acts on them.
  XATM_RETURN_IF_ERROR(writer->sync());
  return writer;
}

}  // namespace

Result<std::vector<std::uint64_t>> list_segments(Env& env, const std::string& dir) {
  Result<std::vector<std::string>> names = env.list_dir(dir);
  if (!names.ok()) return names.status().with_context("decision log: listing " + dir);
  std::vector<std::uint64_t> numbers;
  for (const std::string& name : *names) {
    if (auto number = parse_segment_file_name(name)) numbers.push_back(*number);
  }
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

Result<RecoveredLog> recover_log(Env& env, const std::string& dir, std::string_view node_name,
                                 std::uint64_t segment_bytes, bool create_if_missing) {
  RecoveredLog log;
  Result<std::vector<std::uint64_t>> segments = list_segments(env, dir);
  if (!segments.ok()) return segments.status();
  log.segments = std::move(segments).value();
  if (log.segments.empty() && !create_if_missing) {
    return not_found_error("decision log: " + dir + " holds no decision log (no *" +
                           std::string(kSegmentSuffix) + " segment)");
  }
  if (log.segments.empty()) {
    Result<std::unique_ptr<SegmentWriter>> writer =
        SegmentWriter::create(env, dir, 1, node_name, segment_bytes);
    if (!writer.ok()) return writer.status();
    log.writer = std::move(writer).value();
    log.segments.push_back(1);
    return log;
  }
  for (std::size_t i = 0; i < log.segments.size(); ++i) {
    std::uint64_t number = log.segments[i];
    std::string path = dir + "/" + segment_file_name(number);
    Result<std::string> data = env.read_file(path);
    if (!data.ok()) return data.status().with_context("decision log: reading a segment");
    SegmentScan scan = scan_segment(*data, number, node_name);
    if (scan.end == End::kOtherNode) return other_node(path, scan, node_name);
    bool last = i + 1 == log.segments.size();
    // Only the last segment can end torn: a segment is synced before the next one is created.
    if (scan.end == End::kDamaged || (!last && scan.end != End::kClean)) {
      return damage(path, scan.problem_offset, scan.problem);
    }
    XATM_RETURN_IF_ERROR(replay_segment(scan, path, log.state));
    log.older_format = log.older_format || scan.version == 1;
    if (!last) continue;
    Result<std::unique_ptr<SegmentWriter>> writer =
        resume_last_segment(env, path, number, node_name, scan, data->size(), segment_bytes);
    if (!writer.ok()) return writer.status();
    log.writer = std::move(writer).value();
  }
  Status synced = env.sync_dir(dir);
  if (!synced.ok()) return synced.with_context("decision log: syncing the directory");
  return log;
}

}  // namespace xatm::internal
