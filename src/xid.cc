#include "xatm/xid.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <system_error>
#include <utility>

namespace xatm {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

// Quoted text in messages is cut here. Long enough for the longest valid XID text
// (10 + 1 + 128 + 1 + 128 = 268 characters), short enough to keep a fuzzed megabyte out of a log.
constexpr std::size_t kMaxQuotedSize = 280;

constexpr std::uint8_t kGtridLayoutVersion = 1;
// version, name length, creation time, timeout, sequence: everything but the name.
constexpr std::size_t kGtridFixedSize = 1 + 1 + 8 + 4 + 8;
constexpr std::int64_t kMaxTimeoutMs = 0xffffffffLL;

// The latest creation time a gtrid may carry: the deadline (created + timeout, at most 2^32-1 ms
// later) must still be a system_clock::time_point, or decoding a hostile gtrid would overflow.
constexpr std::int64_t kMaxCreatedMs =
    std::chrono::duration_cast<milliseconds>(system_clock::duration::max()).count() - kMaxTimeoutMs;

char hex_digit(unsigned value) { return "0123456789abcdef"[value & 0xfU]; }

// -1 for a character that is not a hex digit.
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One character as it appears in a message: printable ASCII as is, anything else as \xNN, so that
// a message never carries control bytes or broken UTF-8 from hostile input into a log.
void append_escaped(std::string& out, char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f && c != '\\' && c != '\'') {
    out += c;
    return;
  }
  out += "\\x";
  out += hex_digit(byte >> 4U);
  out += hex_digit(byte);
}

// 'text', escaped, cut after kMaxQuotedSize characters with a note of the full size.
std::string quote(std::string_view text) {
  std::string out = "'";
  const std::size_t shown = std::min(text.size(), kMaxQuotedSize);
  for (std::size_t i = 0; i < shown; ++i) append_escaped(out, text[i]);
  out += '\'';
  if (shown < text.size()) {
    out += "... (";
    out += std::to_string(text.size());
    out += " bytes)";
  }
  return out;
}

std::string quote_char(char c) {
  std::string out = "'";
  append_escaped(out, c);
  out += '\'';
  return out;
}

std::string range_text() { return "0.." + std::to_string(Xid::kMaxFormatId); }

Status check_format_id(std::int64_t format_id) {
  if (format_id < 0 || format_id > Xid::kMaxFormatId) {
    return invalid_argument_error("formatID " + std::to_string(format_id) + " is outside " +
                                  range_text());
  }
  return Status();
}

// `what` is "gtrid" or "bqual".
Status check_part_size(std::string_view what, std::size_t size, std::size_t max, bool allow_empty) {
  if (size == 0 && !allow_empty) return invalid_argument_error(std::string(what) + " is empty");
  if (size > max) {
    return invalid_argument_error(std::string(what) + " of " + std::to_string(size) +
                                  " bytes is longer than " + std::to_string(max));
  }
  return Status();
}

// Strict decimal: digits only (no sign, no '+', no space), not empty, within 0..kMaxFormatId.
Result<std::int64_t> parse_format_id(std::string_view text) {
  if (text.empty()) return invalid_argument_error("formatID is empty");
  if (text.front() < '0' || text.front() > '9') {
    return invalid_argument_error("formatID " + quote(text) +
                                  " is not a decimal number (no sign allowed)");
  }
  std::uint64_t value = 0;
  const char* const end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range) {
    return invalid_argument_error("formatID " + quote(text) + " is outside " + range_text());
  }
  if (ec != std::errc() || ptr != end) {
    return invalid_argument_error("formatID " + quote(text) + " is not a decimal number");
  }
  if (value > static_cast<std::uint64_t>(Xid::kMaxFormatId)) {
    return invalid_argument_error("formatID " + quote(text) + " is outside " + range_text());
  }
  return static_cast<std::int64_t>(value);
}

// One hex part of the text form. The size is checked before decoding, so a huge input costs
// no allocation.
Result<std::vector<std::uint8_t>> parse_hex_part(std::string_view what, std::string_view hex,
                                                 std::size_t max, bool allow_empty) {
  if (hex.size() / 2 > max) {
    return invalid_argument_error(std::string(what) + " of " + std::to_string(hex.size()) +
                                  " hex digits is longer than " + std::to_string(max) + " bytes");
  }
  Result<std::vector<std::uint8_t>> bytes = from_hex(hex);
  if (!bytes.ok()) return bytes.status().with_context(what);
  XATM_RETURN_IF_ERROR(check_part_size(what, bytes->size(), max, allow_empty));
  return bytes;
}

void put_big_endian(std::vector<std::uint8_t>& out, std::uint64_t value, int size) {
  for (int shift = (size - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(value >> static_cast<unsigned>(shift)));
  }
}

// REQUIRES: bytes.size() >= size
std::uint64_t get_big_endian(std::span<const std::uint8_t> bytes, std::size_t size) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) value = (value << 8U) | bytes[i];
  return value;
}

}  // namespace

Result<Xid> Xid::make(std::int64_t format_id, std::span<const std::uint8_t> gtrid,
                      std::span<const std::uint8_t> bqual) {
  XATM_RETURN_IF_ERROR(check_format_id(format_id));
  XATM_RETURN_IF_ERROR(check_part_size("gtrid", gtrid.size(), kMaxGtridSize, false));
  XATM_RETURN_IF_ERROR(check_part_size("bqual", bqual.size(), kMaxBqualSize, true));
  std::vector<std::uint8_t> data;
  data.reserve(gtrid.size() + bqual.size());
  data.insert(data.end(), gtrid.begin(), gtrid.end());
  data.insert(data.end(), bqual.begin(), bqual.end());
  return Xid(format_id, gtrid.size(), std::move(data));
}

Result<Xid> Xid::from_c(const XID& xid) {
  // Every field is checked before data[] is touched: a C caller may hand us anything.
  if (xid.formatID == -1) return invalid_argument_error("the null XID (formatID -1)");
  if (xid.formatID < 0 || xid.formatID > kMaxFormatId) {
    return invalid_argument_error("formatID " + std::to_string(xid.formatID) + " is outside " +
                                  range_text());
  }
  if (xid.gtrid_length < 0) {
    return invalid_argument_error("negative gtrid_length " + std::to_string(xid.gtrid_length));
  }
  if (xid.bqual_length < 0) {
    return invalid_argument_error("negative bqual_length " + std::to_string(xid.bqual_length));
  }
  const auto gtrid_length = static_cast<std::size_t>(xid.gtrid_length);
  const auto bqual_length = static_cast<std::size_t>(xid.bqual_length);
  XATM_RETURN_IF_ERROR(check_part_size("gtrid", gtrid_length, kMaxGtridSize, false));
  XATM_RETURN_IF_ERROR(check_part_size("bqual", bqual_length, kMaxBqualSize, true));
  // 64 + 64 == XIDDATASIZE, so both parts are inside data[].
  static_assert(kMaxGtridSize + kMaxBqualSize <= XIDDATASIZE);
  std::vector<std::uint8_t> data(gtrid_length + bqual_length);
  std::memcpy(data.data(), xid.data, data.size());
  return Xid(xid.formatID, gtrid_length, std::move(data));
}

Result<Xid> Xid::parse(std::string_view text) {
  const std::size_t first = text.find(':');
  const std::size_t second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos || text.find(':', second + 1) != std::string_view::npos) {
    const auto parts = std::count(text.begin(), text.end(), ':') + 1;
    return invalid_argument_error("XID text " + quote(text) + " has " + std::to_string(parts) +
                                  " ':'-separated parts, expected 3 "
                                  "(<formatID>:<gtrid hex>:<bqual hex>)");
  }
  const auto context = [&text] { return "XID text " + quote(text); };
  Result<std::int64_t> format_id = parse_format_id(text.substr(0, first));
  if (!format_id.ok()) return format_id.status().with_context(context());
  Result<std::vector<std::uint8_t>> gtrid =
      parse_hex_part("gtrid", text.substr(first + 1, second - first - 1), kMaxGtridSize, false);
  if (!gtrid.ok()) return gtrid.status().with_context(context());
  Result<std::vector<std::uint8_t>> bqual =
      parse_hex_part("bqual", text.substr(second + 1), kMaxBqualSize, true);
  if (!bqual.ok()) return bqual.status().with_context(context());
  return make(*format_id, *gtrid, *bqual);
}

std::string Xid::to_string() const {
  std::string text = std::to_string(format_id_);
  text += ':';
  text += to_hex(gtrid());
  text += ':';
  text += to_hex(bqual());
  return text;
}

XID Xid::to_c() const {
  XID xid{};
  xid.formatID = static_cast<long>(format_id_);
  xid.gtrid_length = static_cast<long>(gtrid_length_);
  xid.bqual_length = static_cast<long>(data_.size() - gtrid_length_);
  std::memcpy(xid.data, data_.data(), data_.size());
  return xid;
}

Xid Xid::branch(std::uint16_t branch_index, std::span<const std::uint8_t> tag) const {
  std::vector<std::uint8_t> data(data_.begin(), data_.begin() + static_cast<long>(gtrid_length_));
  put_big_endian(data, branch_index, 2);
  const std::size_t tag_size = std::min(tag.size(), kMaxBranchTagBytes);  // 2 + 32 <= 64
  data.insert(data.end(), tag.begin(), tag.begin() + static_cast<long>(tag_size));
  return Xid(format_id_, gtrid_length_, std::move(data));
}

Xid Xid::global() const {
  return Xid(
      format_id_, gtrid_length_,
      std::vector<std::uint8_t>(data_.begin(), data_.begin() + static_cast<long>(gtrid_length_)));
}

bool Xid::same_global(const Xid& other) const {
  return format_id_ == other.format_id_ && std::ranges::equal(gtrid(), other.gtrid());
}

namespace {

// `what` ("node name", "data source name"): 1..max_size bytes of [A-Za-z0-9._-].
Status validate_name(std::string_view what, std::string_view name, std::size_t max_size) {
  if (name.empty()) return invalid_argument_error(std::string(what) + " is empty");
  if (name.size() > max_size) {
    return invalid_argument_error(std::string(what) + " " + quote(name) + " is " +
                                  std::to_string(name.size()) + " bytes, longer than " +
                                  std::to_string(max_size));
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return invalid_argument_error(std::string(what) + " " + quote(name) + " has the character " +
                                    quote_char(c) + " at offset " + std::to_string(i) +
                                    " (allowed: A-Z a-z 0-9 . _ -)");
    }
  }
  return Status();
}

}  // namespace

Status validate_node_name(std::string_view node_name) {
  return validate_name("node name", node_name, kMaxNodeNameSize);
}

Status validate_data_source_name(std::string_view name) {
  return validate_name("data source name", name, kMaxDataSourceNameSize);
}

Result<Xid> make_global_xid(const GtridInfo& info) {
  XATM_RETURN_IF_ERROR(validate_node_name(info.node_name));
  const std::int64_t timeout_ms = info.timeout.count();
  if (timeout_ms < 0 || timeout_ms > kMaxTimeoutMs) {
    return invalid_argument_error("transaction timeout " + std::to_string(timeout_ms) +
                                  " ms is outside 0.." + std::to_string(kMaxTimeoutMs) + " ms");
  }
  const std::int64_t created_ms =
      std::chrono::duration_cast<milliseconds>(info.created.time_since_epoch()).count();
  if (created_ms < 0 || created_ms > kMaxCreatedMs) {
    return invalid_argument_error("creation time " + std::to_string(created_ms) +
                                  " ms since the epoch is outside 0.." +
                                  std::to_string(kMaxCreatedMs));
  }
  std::vector<std::uint8_t> gtrid;
  gtrid.reserve(kGtridFixedSize + info.node_name.size());
  gtrid.push_back(kGtridLayoutVersion);
  gtrid.push_back(static_cast<std::uint8_t>(info.node_name.size()));
  gtrid.insert(gtrid.end(), info.node_name.begin(), info.node_name.end());
  put_big_endian(gtrid, static_cast<std::uint64_t>(created_ms), 8);
  put_big_endian(gtrid, static_cast<std::uint64_t>(timeout_ms), 4);
  put_big_endian(gtrid, info.sequence, 8);
  return Xid::make(kXatmFormatId, gtrid, {});
}

Result<GtridInfo> decode_gtrid(const Xid& xid) {
  const auto context = [&xid] { return "XID " + xid.to_string(); };
  if (xid.format_id() != kXatmFormatId) {
    return invalid_argument_error(context() + ": formatID " + std::to_string(xid.format_id()) +
                                  " is not xatm's (" + std::to_string(kXatmFormatId) + ")");
  }
  const std::span<const std::uint8_t> gtrid = xid.gtrid();
  if (gtrid[0] != kGtridLayoutVersion) {  // an Xid's gtrid is never empty
    return invalid_argument_error(context() + ": unknown gtrid layout version " +
                                  std::to_string(gtrid[0]));
  }
  const std::size_t name_size = gtrid.size() >= 2 ? gtrid[1] : 0;
  if (gtrid.size() != kGtridFixedSize + name_size) {
    return invalid_argument_error(context() + ": gtrid of " + std::to_string(gtrid.size()) +
                                  " bytes does not match layout version 1 (expected " +
                                  std::to_string(kGtridFixedSize + name_size) +
                                  " bytes for a node name of " + std::to_string(name_size) +
                                  " bytes)");
  }
  GtridInfo info;
  info.node_name.assign(gtrid.begin() + 2, gtrid.begin() + 2 + static_cast<long>(name_size));
  Status name_status = validate_node_name(info.node_name);
  if (!name_status.ok()) return name_status.with_context(context());
  std::span<const std::uint8_t> rest = gtrid.subspan(2 + name_size);
  const std::uint64_t created_ms = get_big_endian(rest, 8);
  if (created_ms > static_cast<std::uint64_t>(kMaxCreatedMs)) {
    return invalid_argument_error(context() + ": creation time " + std::to_string(created_ms) +
                                  " ms since the epoch is out of range");
  }
  info.created = system_clock::time_point(milliseconds(static_cast<std::int64_t>(created_ms)));
  info.timeout = milliseconds(static_cast<std::int64_t>(get_big_endian(rest.subspan(8), 4)));
  info.sequence = get_big_endian(rest.subspan(12), 8);
  return info;
}

Result<std::uint16_t> decode_branch_index(const Xid& xid) {
  const std::span<const std::uint8_t> bqual = xid.bqual();
  if (bqual.size() < 2) {
    return invalid_argument_error("XID " + xid.to_string() + ": bqual of " +
                                  std::to_string(bqual.size()) +
                                  " bytes holds no branch index (expected at least 2 bytes)");
  }
  return static_cast<std::uint16_t>(get_big_endian(bqual.first(2), 2));
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  // Sized once and filled in place: it runs at least once per branch (the drivers' XID literals).
  std::string hex(bytes.size() * 2, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    hex[2 * i] = hex_digit(static_cast<unsigned>(bytes[i]) >> 4U);
    hex[2 * i + 1] = hex_digit(bytes[i]);
  }
  return hex;
}

Result<std::vector<std::uint8_t>> from_hex(std::string_view hex) {
  // A stray character is the more useful report, so it is looked for before the parity.
  for (std::size_t i = 0; i < hex.size(); ++i) {
    if (hex_value(hex[i]) < 0) {
      return invalid_argument_error("hex text " + quote(hex) + " has the non-hex character " +
                                    quote_char(hex[i]) + " at offset " + std::to_string(i));
    }
  }
  if (hex.size() % 2 != 0) {
    return invalid_argument_error("hex text " + quote(hex) + " has an odd number of digits (" +
                                  std::to_string(hex.size()) + ")");
  }
  std::vector<std::uint8_t> bytes;
  bytes.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    bytes.push_back(static_cast<std::uint8_t>((hex_value(hex[i]) << 4) | hex_value(hex[i + 1])));
  }
  return bytes;
}

}  // namespace xatm

std::size_t std::hash<xatm::Xid>::operator()(const xatm::Xid& xid) const noexcept {
  // FNV-1a, 64-bit, over the formatID, the gtrid length and the bytes: the gtrid length is mixed
  // in so that moving a byte from gtrid to bqual changes the hash.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  const auto mix = [&h](std::uint64_t value) {
    h ^= value;
    h *= 0x100000001b3ULL;
  };
  mix(static_cast<std::uint64_t>(xid.format_id()));
  mix(xid.gtrid().size());
  for (const std::uint8_t byte : xid.gtrid()) mix(byte);
  for (const std::uint8_t byte : xid.bqual()) mix(byte);
  return static_cast<std::size_t>(h);
}
