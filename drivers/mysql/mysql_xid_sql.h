// XIDs in MariaDB/MySQL XA SQL: the literal every XA statement carries, and the rows of the
// raw `XA RECOVER` read back into Xids. Pure functions, testable without a server.
//
// An XID is always sent as X'<gtrid hex>',X'<bqual hex>',<formatID in decimal>: nothing to
// escape, no connection character set involved, byte-exact matching on the server
// (docs/driver-mysql.md). The limits are checked before sending, so that a server syntax error
// (1064) never means "bad XID".
//
// Thread safety: pure functions.
#ifndef XATM_DRIVERS_MYSQL_MYSQL_XID_SQL_H_
#define XATM_DRIVERS_MYSQL_MYSQL_XID_SQL_H_

#include <cstdint>
#include <string>

#include "xatm/status.h"
#include "xatm/xid.h"

namespace xatm::mysql::internal {

// MariaDB's limits (MySQL's are the same or wider): formatID 0..2^31-1, gtrid 1..64 bytes,
// bqual 0..64 bytes.
inline constexpr std::int64_t kMaxSqlFormatId = 2147483647;

// "X'0102',X'',2019652717". kInvalidArgument (naming the part) when the XID is outside the
// limits above; an Xid built by Xid::make never is.
Result<std::string> xid_literal(const Xid& xid);

// One row of the raw `XA RECOVER`: formatID, gtrid_length, bqual_length, and `data`, the
// binary concatenation of gtrid and bqual (read with getString(): embedded NULs are kept).
struct RecoverRow {
  std::int64_t format_id = 0;
  std::int64_t gtrid_length = 0;
  std::int64_t bqual_length = 0;
  std::string data;
};

// The Xid of a row, split by the two lengths. kInvalidArgument when the row is not a valid
// XID (negative or too long lengths, lengths that do not add up to data's size, a formatID
// outside 0..2^31-1); the message shows the row with its data in hex.
Result<Xid> decode_recover_row(const RecoverRow& row);

}  // namespace xatm::mysql::internal

#endif  // XATM_DRIVERS_MYSQL_MYSQL_XID_SQL_H_
