// Xid: a C++ value type over the X/Open XID, and xatm's own gtrid layout.
//
// An XID names one transaction branch: formatID, gtrid (the global part, 1..64 bytes) and
// bqual (the branch part, 0..64 bytes). All branches of one global transaction share the
// formatID and gtrid and differ in bqual. An Xid is always valid: every factory checks the
// lengths and ranges and returns an error naming the problem instead.
//
// Text form (logs, the command line, `xatm-recover`): "<formatID>:<gtrid hex>:<bqual hex>",
// formatID in decimal, hex in lowercase, e.g. "2019652717:01086f72646572732d31...:0001".
// The bqual part may be empty ("5:6162:"). parse() accepts upper- or lowercase hex.
//
// xatm's gtrid layout (format version 1), all integers big-endian so that hex sorts by time:
//   byte 0        layout version (1)
//   byte 1        n = length of the node name (1..32)
//   bytes 2..n+1  node name ([A-Za-z0-9._-])
//   next 8        creation time, milliseconds since the Unix epoch
//   next 4        transaction timeout in milliseconds (creation + timeout = the deadline)
//   next 8        per-node sequence number
// The bqual of a branch is its index within the transaction, 2 bytes big-endian.
//
// Thread safety: a value type; const methods may be called concurrently.
#ifndef XATM_XID_H_
#define XATM_XID_H_

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xatm/status.h"
#include "xatm/xa.h"

namespace xatm {

// The formatID of every XID xatm creates ("xatm" in ASCII). Recovery only ever touches XIDs
// with this formatID. Frozen: changing it would orphan every prepared branch in the field.
inline constexpr std::int64_t kXatmFormatId = 0x7861746d;

class Xid {
 public:
  static constexpr std::size_t kMaxGtridSize = MAXGTRIDSIZE;  // 64
  static constexpr std::size_t kMaxBqualSize = MAXBQUALSIZE;  // 64
  // The largest formatID that MariaDB accepts (it is a signed 32-bit value there).
  static constexpr std::int64_t kMaxFormatId = 2147483647;

  // Builds an XID. Errors (kInvalidArgument): format_id outside 0..kMaxFormatId, an empty or
  // longer than 64-byte gtrid, a bqual longer than 64 bytes.
  static Result<Xid> make(std::int64_t format_id, std::span<const std::uint8_t> gtrid,
                          std::span<const std::uint8_t> bqual);

  // Reads an XID received through the C ABI (from an xa_switch_t or tx_info). Errors as make();
  // also rejects the null XID (formatID -1) and negative lengths.
  static Result<Xid> from_c(const XID& xid);

  // Parses the text form described above. Errors (kInvalidArgument, the message quotes the
  // offending text): wrong number of ':' separated parts, a non-decimal or out-of-range formatID,
  // odd-length or non-hex digits, lengths out of range.
  static Result<Xid> parse(std::string_view text);

  // The text form; parse(x.to_string()) == x.
  std::string to_string() const;

  // The C ABI form.
  XID to_c() const;

  std::int64_t format_id() const { return format_id_; }
  std::span<const std::uint8_t> gtrid() const { return {data_.data(), gtrid_length_}; }
  std::span<const std::uint8_t> bqual() const {
    return {data_.data() + gtrid_length_, data_.size() - gtrid_length_};
  }

  // The XID of branch `branch_index` of this XID's global transaction: same formatID and
  // gtrid, bqual = the index as 2 bytes big-endian followed by `tag`, bytes the session that
  // starts the branch asks to carry (XaConnection::branch_tag(), at most kMaxBranchTagBytes;
  // longer tags are cut).
  Xid branch(std::uint16_t branch_index, std::span<const std::uint8_t> tag = {}) const;

  // The same formatID and gtrid with an empty bqual: the name of the global transaction.
  Xid global() const;

  // True when both XIDs belong to the same global transaction (formatID and gtrid equal).
  bool same_global(const Xid& other) const;

  friend bool operator==(const Xid& a, const Xid& b) = default;
  friend std::strong_ordering operator<=>(const Xid& a, const Xid& b) = default;

 private:
  Xid(std::int64_t format_id, std::size_t gtrid_length, std::vector<std::uint8_t> data)
      : format_id_(format_id), gtrid_length_(gtrid_length), data_(std::move(data)) {}

  std::int64_t format_id_ = 0;
  std::size_t gtrid_length_ = 0;
  std::vector<std::uint8_t> data_;  // gtrid followed by bqual
};

// What xatm's gtrid layout carries.
struct GtridInfo {
  std::string node_name;
  std::chrono::system_clock::time_point created;  // millisecond precision
  std::chrono::milliseconds timeout{0};
  std::uint64_t sequence = 0;

  std::chrono::system_clock::time_point deadline() const { return created + timeout; }
};

// The longest node name a gtrid can hold.
inline constexpr std::size_t kMaxNodeNameSize = 32;

// Checks a node name: 1..32 bytes of [A-Za-z0-9._-]. kInvalidArgument names the problem.
Status validate_node_name(std::string_view node_name);

// The longest data source name: it is written into the decision log with every decision and
// given on xatm-recover's command line.
inline constexpr std::size_t kMaxDataSourceNameSize = 64;

// Checks a data source name: 1..64 bytes of [A-Za-z0-9._-]. kInvalidArgument names the problem.
Status validate_data_source_name(std::string_view name);

// Builds the global XID (formatID kXatmFormatId, empty bqual) of a new transaction. Errors: an
// invalid node name, a negative timeout or one above 2^32-1 ms.
Result<Xid> make_global_xid(const GtridInfo& info);

// Decodes an XID of xatm's format. Errors (kInvalidArgument): another formatID, an unknown
// layout version, a length that does not match the layout, an invalid node name.
Result<GtridInfo> decode_gtrid(const Xid& xid);

// The most bytes a driver may add to a branch's bqual after the branch index (Xid::branch).
inline constexpr std::size_t kMaxBranchTagBytes = 32;

// The branch index in the bqual of an xatm XID: its first 2 bytes (kInvalidArgument when the
// bqual is shorter).
Result<std::uint16_t> decode_branch_index(const Xid& xid);

// Lowercase hex of the bytes, and its strict inverse (even length, [0-9a-fA-F] only).
std::string to_hex(std::span<const std::uint8_t> bytes);
Result<std::vector<std::uint8_t>> from_hex(std::string_view hex);

}  // namespace xatm

template <>
struct std::hash<xatm::Xid> {
  std::size_t operator()(const xatm::Xid& xid) const noexcept;
};

#endif  // XATM_XID_H_
