// Opening a log directory: reads every segment, repairs a torn tail, refuses damage.
//
// Thread safety: one call at a time per directory; the caller holds the directory lock.
#ifndef XATM_SRC_LOG_LOG_RECOVERY_H_
#define XATM_SRC_LOG_LOG_RECOVERY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "log/env.h"
#include "log/log_state.h"
#include "log/segment_writer.h"
#include "xatm/status.h"

namespace xatm::internal {

struct RecoveredLog {
  LogState state;
  // The last segment, open for appending at the end of its last valid record.
  std::unique_ptr<SegmentWriter> writer;
  // Every segment in the directory, ascending; the last one is writer's.
  std::vector<std::uint64_t> segments;
  // Some segment was written by format version 1, which recorded no birth: the log is older
  // than anything (LogInfoRecord::birth_micros 0).
  bool older_format = false;
};

// The numbers of the segment files in `dir`, ascending.
Result<std::vector<std::uint64_t>> list_segments(Env& env, const std::string& dir);

// Reads the segments of `dir` in number order and replays them into a LogState.
//  - No segment: kNotFound naming the directory, unless `create_if_missing`; then creates
//    segment 1, preallocated to `segment_bytes` (its LOG-INFO is the caller's to write).
//  - A zero-filled tail after the last record is the clean end (segment_reader.h).
//  - A torn tail at the end of the last segment (an incomplete record, or a checksum mismatch
//    with no valid record after it; or a header cut short) is logged as a warning, truncated
//    and fsynced.
//  - The last segment is preallocated to `segment_bytes` (zero-filled) if it is shorter.
//  - Any other damage: kDataLoss naming the file and the byte offset. Nothing is skipped.
//  - The last segment and the directory are synced before returning, so that records a crashed
//    process wrote but never synced are durable before anything is decided from them.
// kIOError when a file call fails.
Result<RecoveredLog> recover_log(Env& env, const std::string& dir, std::string_view node_name,
                                 std::uint64_t segment_bytes, bool create_if_missing);

}  // namespace xatm::internal

#endif  // XATM_SRC_LOG_LOG_RECOVERY_H_
