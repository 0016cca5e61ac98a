// Reading a decision log directory for the operator: the library side of `xatm-recover log dump`
// and `xatm-recover log verify` (docs/decision-log.md, "Tools").
//
// Both only read: nothing in the directory is truncated, synced, created or changed, and the
// node name comes from the segment headers. While they read they hold the directory's lock if
// it is free, so that no transaction manager starts and repairs the log under them (one that
// tries meanwhile gets kFailedPrecondition), and release it when done. When a live transaction
// manager holds the lock they read anyway and say so in the first line of the output: the
// report is then a snapshot of a log being written, and a torn tail at the end of the last
// segment may be an append in progress.
//
// A torn tail at the end of the last segment (or a header cut short there) is what a crash
// leaves; opening the log truncates it. It is reported, and is not damage. Everything that
// open_file_log refuses with kDataLoss is damage, reported with the file and the byte offset.
//
// Thread safety: both functions may run concurrently with anything, including an open log in
// this process; `out` is written by the calling thread only.
#ifndef XATM_LOG_TOOLS_H_
#define XATM_LOG_TOOLS_H_

#include <iosfwd>
#include <memory>
#include <string>

#include "xatm/decision_log.h"
#include "xatm/status.h"

namespace xatm {

// Writes every record of the log in `dir` to `out` in log order, one line each, prefixed with
// its file and offset ("000000000003.xlog@64 COMMIT ..."), then the live decisions and
// heuristics. Damage is reported where it is found, and dumping goes on with the next segment.
// Returns OK for a log that open_file_log would open (possibly truncating a torn tail);
// kDataLoss naming the first damaged file and offset; kNotFound when `dir` holds no segment
// (not a log directory); kIOError when the directory or a file cannot be read.
Status dump_log(const std::string& dir, std::ostream& out);

// Checks every segment of the log in `dir` as open_file_log would (headers, record frames and
// checksums, payloads, conflicting decisions) without repairing anything, and writes a report
// to `out`: one line per segment, one per problem naming file and offset, and a last line that
// starts with "verify: OK" or "verify: DAMAGED". Returns as dump_log.
Status verify_log(const std::string& dir, std::ostream& out);

// A read-only view of node `node_name`'s log in `dir` (`xatm-recover list`, `run --dry-run`,
// and `--force` beside a live TM). Nothing in the directory is created or changed. The
// directory's lock is taken if it is free and held by `log` until it is destroyed (`locked`):
// no transaction manager of this node runs meanwhile. Every append is refused with
// kFailedPrecondition. open_decisions() reads the directory again at each call. A torn record
// at the very end is taken for an append in progress and left out; any other damage is
// kDataLoss naming the file and offset. kNotFound when `dir` does not exist or holds no log.
struct LogSnapshot {
  std::unique_ptr<DecisionLog> log;
  bool locked = false;
};
Result<LogSnapshot> open_log_snapshot(const std::string& dir, const std::string& node_name);

}  // namespace xatm

#endif  // XATM_LOG_TOOLS_H_
