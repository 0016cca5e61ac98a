#include "log/segment_files.h"

#include <utility>

#include "xatm/driver/logging.h"

namespace xatm::internal {

SegmentFiles::SegmentFiles(Env& env, std::string dir, std::string node_name,
                           std::uint64_t segment_bytes, std::unique_ptr<SegmentWriter> current,
                           std::vector<std::uint64_t> segments)
    : env_(env),
      dir_(std::move(dir)),
      node_name_(std::move(node_name)),
      segment_bytes_(segment_bytes),
      current_(std::move(current)),
      segments_(std::move(segments)),
      // Unknown for a segment recovery resumed; the header is a safe lower bound.
      carried_bytes_(kSegmentHeaderSize) {}

bool SegmentFiles::should_rotate(std::uint64_t bytes) const {
  std::uint64_t size = current_->size();
  if (size + bytes <= segment_bytes_) return false;
  return size - carried_bytes_ >= carried_bytes_;
}

Status SegmentFiles::rotate(const std::vector<LiveRecord>& live) {
  // The old segment first: DONE records are written without a sync, and once a newer segment
  // exists a torn record in an older one is damage, not a torn tail.
  XATM_RETURN_IF_ERROR(current_->sync_data());
  Result<std::unique_ptr<SegmentWriter>> next =
      SegmentWriter::create(env_, dir_, current_->number() + 1, node_name_, segment_bytes_);
  if (!next.ok()) return next.status();
  std::string records;
  for (const LiveRecord& record : live) {
    append_record(records, record.type, (*next)->number(), record.payload);
  }
  if (!records.empty()) XATM_RETURN_IF_ERROR((*next)->append_records(records));
  // fsync rather than fdatasync: a carried set larger than the preallocation grew the file.
  XATM_RETURN_IF_ERROR((*next)->sync());
  current_ = std::move(next).value();
  carried_bytes_ = current_->size();
  segments_.push_back(current_->number());
  return remove_old_segments();
}

// The current segment now holds every live record durably, so the older ones hold nothing
// needed. They go oldest first and removal stops at the first failure: the segments left are
// then always the newest ones, which replay to the same state (log_state.h).
Status SegmentFiles::remove_old_segments() {
  auto kept = segments_.begin();
  for (; kept != segments_.end() && *kept < current_->number(); ++kept) {
    Status removed = env_.remove_file(segment_path(*kept));
    if (!removed.ok()) {
      XATM_LOG(warning) << "decision log: " << removed.message()
                        << "; the segment stays and is removed at the next rotation";
      break;
    }
  }
  segments_.erase(segments_.begin(), kept);
  Status synced = env_.sync_dir(dir_);
  if (!synced.ok()) return synced.with_context("decision log: removing old segments");
  return Status();
}

std::string SegmentFiles::segment_path(std::uint64_t number) const {
  return dir_ + "/" + segment_file_name(number);
}

}  // namespace xatm::internal
