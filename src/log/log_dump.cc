#include "log/log_dump.h"

#include <memory>
#include <sstream>
#include <utility>
#include <variant>
#include <vector>

#include "log/log_format.h"
#include "log/log_record.h"
#include "log/log_recovery.h"
#include "log/log_state.h"
#include "log/posix_env.h"
#include "log/segment_reader.h"
#include "xatm/log_tools.h"
#include "xatm/driver/resource.h"

namespace xatm {

Status dump_log(const std::string& dir, std::ostream& out) {
  return internal::inspect_log(internal::posix_env(), dir, internal::LogDumpMode::kDump, out);
}

Status verify_log(const std::string& dir, std::ostream& out) {
  return internal::inspect_log(internal::posix_env(), dir, internal::LogDumpMode::kVerify, out);
}

namespace internal {
namespace {

using End = SegmentScan::End;

std::string branch_text(const DecisionBranch& branch) {
  return branch.data_source + "=" + branch.xid.to_string();
}

std::string record_text(const LogRecord& record) {
  std::string text;
  if (const auto* commit = std::get_if<CommitRecord>(&record)) {
    text = "COMMIT " + commit->global.to_string();
    for (const DecisionBranch& branch : commit->branches) text += " " + branch_text(branch);
  } else if (const auto* done = std::get_if<DoneRecord>(&record)) {
    text = "DONE " + done->global.to_string();
  } else if (const auto* heuristic = std::get_if<HeuristicRecord>(&record)) {
    text = "HEURISTIC " + branch_text(heuristic->branch) + " " + xa_code_name(heuristic->xa_code);
  } else if (const auto* info = std::get_if<LogInfoRecord>(&record)) {
    text = "LOG-INFO birth " + std::to_string(info->birth_micros) + " us, sequence limit " +
           std::to_string(info->sequence_limit);
  } else if (const auto* forget = std::get_if<ForgetRecord>(&record)) {
    text = "FORGET " + branch_text(forget->branch);
  }
  return text;
}

// Reads a log directory once, segment by segment, and writes what it finds.
class Inspector {
 public:
  Inspector(Env& env, std::string dir, LogDumpMode mode, std::ostream& out)
      : env_(env), dir_(std::move(dir)), mode_(mode), out_(out) {}

  Status run();

 private:
  void take_lock();
  Result<std::string> node_name(const std::vector<std::uint64_t>& segments);
  Status inspect_segment(std::uint64_t number, bool last);
  void replay(const std::string& file, const SegmentScan& scan);
  void report_end(const std::string& file, const SegmentScan& scan, std::uint64_t size, bool last);
  void damage(const std::string& file, std::uint64_t offset, const std::string& problem);
  Status finish(std::size_t segments);

  Env& env_;
  const std::string dir_;
  const LogDumpMode mode_;
  std::ostream& out_;

  std::unique_ptr<FileLock> lock_;
  bool live_ = false;  // a live TM holds the lock
  std::string node_;
  LogState state_;
  std::size_t records_ = 0;
  std::size_t problems_ = 0;
  Status first_damage_;
};

Status Inspector::run() {
  Result<std::vector<std::uint64_t>> segments = list_segments(env_, dir_);
  if (!segments.ok()) return segments.status();
  if (segments->empty()) {
    return not_found_error("decision log: " + dir_ + " holds no segment file (*" +
                           std::string(kSegmentSuffix) + "): not a log directory");
  }
  take_lock();
  Result<std::string> node = node_name(*segments);
  if (!node.ok()) return node.status();
  node_ = std::move(node).value();
  out_ << "log " << dir_ << ": node " << (node_.empty() ? "(unknown)" : node_) << ", "
       << segments->size() << " segment" << (segments->size() == 1 ? "" : "s") << "\n";
  if (live_) {
    out_ << "warning: a live transaction manager holds the lock on " << dir_
         << ": this is a snapshot of a log being written; a torn tail at the end of the last "
            "segment may be an append in progress\n";
  }
  for (std::size_t i = 0; i < segments->size(); ++i) {
    XATM_RETURN_IF_ERROR(inspect_segment((*segments)[i], i + 1 == segments->size()));
  }
  return finish(segments->size());
}

// The lock is on the directory itself: taking it creates nothing.
void Inspector::take_lock() {
  Result<std::unique_ptr<FileLock>> lock = env_.lock_dir(dir_);
  if (lock.ok()) {
    lock_ = std::move(lock).value();
  } else if (lock.status().code() == StatusCode::kFailedPrecondition) {
    live_ = true;
  } else {
    out_ << "warning: cannot take the lock (" << lock.status().message()
         << "); reading without it\n";
  }
}

// The node of the first segment with an intact header; "" when none has one.
Result<std::string> Inspector::node_name(const std::vector<std::uint64_t>& segments) {
  for (std::uint64_t number : segments) {
    Result<std::string> data = env_.read_file(dir_ + "/" + segment_file_name(number));
    if (!data.ok()) return data.status().with_context("decision log: reading a segment");
    std::string node = segment_node_name(*data);
    if (!node.empty()) return node;
  }
  return std::string();
}

Status Inspector::inspect_segment(std::uint64_t number, bool last) {
  const std::string file = segment_file_name(number);
  Result<std::string> data = env_.read_file(dir_ + "/" + file);
  if (!data.ok()) return data.status().with_context("decision log: reading a segment");
  SegmentScan scan = scan_segment(*data, number, node_);
  if (mode_ == LogDumpMode::kDump && scan.end != End::kTornHeader &&
      scan.problem_offset >= kSegmentHeaderSize) {
    out_ << file << ": segment " << number << " of node " << node_ << ", format version "
         << kFormatVersion << ", " << data->size() << " bytes\n";
  }
  replay(file, scan);
  report_end(file, scan, data->size(), last);
  return Status();
}

void Inspector::replay(const std::string& file, const SegmentScan& scan) {
  for (const FramedRecord& framed : scan.records) {
    ++records_;
    Result<LogRecord> record = decode_payload(framed.type, framed.payload);
    if (!record.ok()) {
      damage(file, framed.offset, "malformed record: " + record.status().message());
      continue;
    }
    if (mode_ == LogDumpMode::kDump) {
      out_ << file << "@" << framed.offset << " " << record_text(*record) << "\n";
    }
    Status replayed = state_.replay(*record);
    if (!replayed.ok()) damage(file, framed.offset, replayed.message());
  }
}

void Inspector::report_end(const std::string& file, const SegmentScan& scan, std::uint64_t size,
                           bool last) {
  const std::string records = std::to_string(scan.records.size()) + " records, ";
  switch (scan.end) {
    case End::kClean: {
      std::string line =
          file + ": " + records + "clean end at offset " + std::to_string(scan.problem_offset);
      if (scan.zero_tail > 0) {
        line += " (" + std::to_string(scan.zero_tail) + " zero bytes preallocated after it)";
      }
      out_ << line << "\n";
      return;
    }
    case End::kTornTail:
    case End::kTornHeader: {
      std::string what = scan.end == End::kTornTail ? "torn tail" : "torn header";
      std::string detail = " at offset " + std::to_string(scan.problem_offset) + " (" +
                           std::to_string(size - scan.problem_offset) + " bytes: " + scan.problem +
                           ")";
      if (!last) {
        damage(file, scan.problem_offset,
               what + " in a segment that is not the last one: " + scan.problem);
        return;
      }
      out_ << file << ": " << records << what << detail
           << (live_ ? "; may be an append in progress"
                     : "; left by a crash, opening the log truncates it")
           << "\n";
      return;
    }
    case End::kOtherNode:
      damage(file, scan.problem_offset,
             "segment of node '" + scan.other_node + "' in the log of node '" + node_ + "'");
      return;
    case End::kDamaged: damage(file, scan.problem_offset, scan.problem); return;
  }
}

void Inspector::damage(const std::string& file, std::uint64_t offset, const std::string& problem) {
  out_ << file << ": DAMAGE at offset " << offset << ": " << problem << "\n";
  if (problems_++ == 0) {
    first_damage_ = data_loss_error("decision log " + dir_ + "/" + file + " is damaged at offset " +
                                    std::to_string(offset) + ": " + problem);
  }
}

Status Inspector::finish(std::size_t segments) {
  if (mode_ == LogDumpMode::kDump) {
    if (state_.info()) out_ << "live " << record_text(*state_.info()) << "\n";
    for (const CommitRecord& record : state_.open_decisions()) {
      out_ << "live " << record_text(record) << "\n";
    }
    for (const HeuristicRecord& record : state_.open_heuristics()) {
      out_ << "live " << record_text(record) << "\n";
    }
  }
  const char* verb = mode_ == LogDumpMode::kDump ? "dump" : "verify";
  std::ostringstream summary;
  summary << segments << " segment" << (segments == 1 ? "" : "s") << ", " << records_
          << " records, " << state_.open_decisions().size() << " live decisions, "
          << state_.open_heuristics().size() << " live heuristics";
  if (problems_ == 0) {
    out_ << verb << ": OK: " << summary.str() << "\n";
    return Status();
  }
  out_ << verb << ": DAMAGED: " << problems_ << " problem" << (problems_ == 1 ? "" : "s")
       << "; first: " << first_damage_.message() << " (" << summary.str() << ")\n";
  return first_damage_;
}

}  // namespace

Status inspect_log(Env& env, const std::string& dir, LogDumpMode mode, std::ostream& out) {
  return Inspector(env, dir, mode, out).run();
}

}  // namespace internal
}  // namespace xatm
