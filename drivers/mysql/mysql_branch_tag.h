// Who prepared a MariaDB branch, carried in the branch's own XID.
//
// MariaDB keeps a prepared branch attached to the session that prepared it. When that session
// ends, the server marks the branch detached a moment before InnoDB lets go of its transaction;
// an XA COMMIT from another session that lands in between answers OK and commits nothing, and
// the transaction stays prepared, invisible to XA RECOVER until the server restarts
// (docs/driver-mysql.md, "the detach window"). Whoever finishes a branch from another session
// must therefore first make sure the preparing session is gone, and for that it must know the
// session, also in another process (a restarted TM, xatm-recover). So every branch a session
// starts carries the session's identity in its bqual, after the branch index (Xid::branch,
// XaConnection::branch_tag):
//
//   byte 0      'M' (0x4d): this layout
//   bytes 1-4   when the server started, seconds since the Unix epoch, big-endian
//               (UNIX_TIMESTAMP() - Uptime, read when the session opened)
//   bytes 5-12  the session's CONNECTION_ID(), big-endian
//
// The start time tells whether the id still names that session: ids restart with the server,
// and after a restart no session holds a prepared branch (InnoDB recovers it detached).
//
// Thread safety: pure functions.
#ifndef XATM_DRIVERS_MYSQL_MYSQL_BRANCH_TAG_H_
#define XATM_DRIVERS_MYSQL_MYSQL_BRANCH_TAG_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "xatm/xid.h"

namespace xatm::mysql::internal {

struct BranchHolder {
  std::uint32_t server_started = 0;  // seconds since the epoch
  std::uint64_t connection_id = 0;

  friend bool operator==(const BranchHolder&, const BranchHolder&) = default;
};

std::vector<std::uint8_t> encode_branch_tag(const BranchHolder& holder);

// The holder a branch XID carries: only for xatm's formatID and a bqual of exactly the branch
// index and this tag. Anything else (another TM's XID, an older xatm's) carries none.
std::optional<BranchHolder> decode_branch_tag(const Xid& xid);

// Whether two start times read at different moments name the same run of the server. Each is
// UNIX_TIMESTAMP() - Uptime in whole seconds, so one run's readings differ by up to a second;
// a restart moves the start by its own duration plus the previous run's uptime.
bool same_server_run(std::uint32_t started, std::uint32_t other_started);

}  // namespace xatm::mysql::internal

#endif  // XATM_DRIVERS_MYSQL_MYSQL_BRANCH_TAG_H_
