// The writer's side of a log directory's segments: the current segment, the start of a new one
// when it is full, and the deletion of the ones before it.
//
// Segments have a fixed size (FileLogOptions::max_segment_bytes): each is preallocated to it
// when created, and a batch that does not fit into the current one goes into a new one. Only
// when the live records alone do not fit does a segment grow past its preallocation.
//
// Rotation (rotate()), in this order, each step durable before the next:
//  1. fdatasync the current segment (it may end with unsynced DONE records; once a newer
//     segment exists, a torn record in this one would be damage, not a torn tail);
//  2. create the next segment: header, preallocation, fsync of the file and of the directory;
//  3. write the live records into it with one write, fsync it;
//  4. delete every older segment, oldest first, stopping at the first failure (logged; retried
//     at the next rotation), then fsync the directory.
// A crash at any point leaves a readable log holding every live record (docs/log-format.md §8).
//
// Thread safety: none. FileLog's current leader is its only user at any time.
// Errors: kIOError naming the file, from the first failed step; the caller makes it sticky.
#ifndef XATM_SRC_LOG_SEGMENT_FILES_H_
#define XATM_SRC_LOG_SEGMENT_FILES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "log/env.h"
#include "log/log_format.h"
#include "log/segment_writer.h"
#include "xatm/status.h"

namespace xatm::internal {

class SegmentFiles {
 public:
  // A live record to carry into a new segment: its type and encoded payload.
  struct LiveRecord {
    RecordType type;
    std::string payload;
  };

  // Takes over the directory's segments as recovery left them: `current` is the last one,
  // `segments` all of them, ascending. `env` must outlive this object.
  SegmentFiles(Env& env, std::string dir, std::string node_name, std::uint64_t segment_bytes,
               std::unique_ptr<SegmentWriter> current, std::vector<std::uint64_t> segments);

  SegmentFiles(const SegmentFiles&) = delete;
  SegmentFiles& operator=(const SegmentFiles&) = delete;

  // Whether a batch of `bytes` bytes must go into a new segment: it does not fit into the
  // current one, and at least as many bytes were appended to the current one as were carried
  // into it (so that live records alone cannot make every batch rotate: the copying stays
  // proportional to the appends).
  [[nodiscard]] bool should_rotate(std::uint64_t bytes) const;

  // Starts the next segment holding `live` (steps 1-4 above). On error the current segment is
  // unchanged or the new one is current; either way the caller stops writing.
  Status rotate(const std::vector<LiveRecord>& live);

  // The current segment's number: records framed for it go into append_records().
  [[nodiscard]] std::uint64_t number() const { return current_->number(); }
  // The current segment's format version (an older one only right after opening an old log).
  [[nodiscard]] std::uint32_t version() const { return current_->version(); }
  // Where the current segment's records end.
  [[nodiscard]] std::uint64_t size() const { return current_->size(); }
  [[nodiscard]] const std::string& path() const { return current_->path(); }

  // One write of framed records at the end of the current segment; not synced.
  Status append_records(std::string_view records) { return current_->append_records(records); }
  // fdatasync of the current segment.
  Status sync_data() { return current_->sync_data(); }

 private:
  Status remove_old_segments();
  [[nodiscard]] std::string segment_path(std::uint64_t number) const;

  Env& env_;
  const std::string dir_;
  const std::string node_name_;
  const std::uint64_t segment_bytes_;
  std::unique_ptr<SegmentWriter> current_;
  std::vector<std::uint64_t> segments_;  // every segment on disk, ascending; the last is current_
  std::uint64_t carried_bytes_;          // current_'s size when it was started
};

}  // namespace xatm::internal

#endif  // XATM_SRC_LOG_SEGMENT_FILES_H_
