// The PostgreSQL gid of an XID, and back (docs/xid.md "On the wire", docs/driver-postgresql.md).
//
// PostgreSQL names a prepared transaction by one text gid (< 200 bytes, unique in the whole
// cluster). xatm uses the PostgreSQL JDBC driver's form, so other tools can read our branches:
//
//   <formatID as decimal>_<base64(gtrid)>_<base64(bqual)>     e.g. 2019652717_AQhv...Aq_AAE=
//
// standard base64 (A-Z a-z 0-9 + /) with '=' padding; an empty bqual leaves a trailing '_'.
// The longest gid (64-byte gtrid and bqual) is 188 bytes.
//
// Thread safety: pure functions.
#ifndef XATM_DRIVERS_POSTGRESQL_PG_GID_H_
#define XATM_DRIVERS_POSTGRESQL_PG_GID_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xatm/status.h"
#include "xatm/xid.h"

namespace xatm::postgresql::internal {

// PostgreSQL rejects a gid of 200 bytes or more (22023).
inline constexpr std::size_t kMaxGidSize = 199;

// The gid of `xid`. Every valid Xid fits; the length is checked anyway (kInvalidArgument).
Result<std::string> encode_gid(const Xid& xid);

// The strict inverse of encode_gid: exactly two '_', a decimal formatID without sign or leading
// zeros, canonical padded base64 parts, lengths an Xid accepts. Anything else is
// kInvalidArgument with a message quoting the (escaped) gid, never a guess: a gid that decoded
// loosely would be re-encoded differently and COMMIT PREPARED would miss it.
Result<Xid> decode_gid(std::string_view gid);

// `gid` as an SQL string literal ('...'), after checking that it only holds characters of the
// gid alphabet (A-Z a-z 0-9 + / = _ -), which never need escaping. kInvalidArgument otherwise.
Result<std::string> gid_literal(std::string_view gid);

// Standard base64 with padding, and its strict inverse (length a multiple of 4, padding only at
// the end, unused bits zero).
std::string base64_encode(std::span<const std::uint8_t> bytes);
Result<std::vector<std::uint8_t>> base64_decode(std::string_view text);

// `text` made safe for a message: bytes outside printable ASCII, '\'' and '\\' as \xNN, cut after
// 200 characters with the full size noted.
std::string escape_for_message(std::string_view text);

}  // namespace xatm::postgresql::internal

#endif  // XATM_DRIVERS_POSTGRESQL_PG_GID_H_
