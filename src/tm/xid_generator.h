// The XIDs of new transactions (docs/xid.md): the node's name, the creation time from the wall
// clock, the timeout, and a sequence number. Sequence numbers are reserved durably in the
// decision log a block at a time (DecisionLog::reserve_sequences), so that they stay unique
// across restarts whatever the clock does; the clock only dates an XID for the deadline rule.
//
// Thread safety: next() may be called from any thread once start() has succeeded.
#ifndef XATM_SRC_TM_XID_GENERATOR_H_
#define XATM_SRC_TM_XID_GENERATOR_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "xatm/decision_log.h"
#include "xatm/status.h"
#include "xatm/xid.h"

namespace xatm::internal {

using WallClock = std::function<std::chrono::system_clock::time_point()>;

class XidGenerator {
 public:
  // Sequence numbers are reserved this many at a time: one forced log write per million
  // transactions, and a restart skips at most that many numbers.
  static constexpr std::uint64_t kBlock = 1 << 20;

  // `log` must outlive the generator.
  XidGenerator(std::string node_name, WallClock clock, DecisionLog& log)
      : node_name_(std::move(node_name)), clock_(std::move(clock)), log_(log) {}

  // Reserves the first block after the log's limit. Every number below the returned one was
  // issued by an earlier incarnation of the node (which is down: the caller holds the log).
  Result<std::uint64_t> start();

  struct Next {
    Xid global;  // formatID kXatmFormatId, empty bqual
    std::chrono::system_clock::time_point created;
  };
  // A new global XID. Errors: reserving the next block failed (the log's error), the numbers
  // are used up, or an invalid timeout.
  Result<Next> next(std::chrono::milliseconds timeout);

 private:
  Status reserve_next_block_locked();

  const std::string node_name_;
  const WallClock clock_;
  DecisionLog& log_;
  std::mutex mutex_;
  std::uint64_t next_ = 0;   // guarded by mutex_
  std::uint64_t limit_ = 0;  // guarded by mutex_: reserved in the log
};

}  // namespace xatm::internal

#endif  // XATM_SRC_TM_XID_GENERATOR_H_
