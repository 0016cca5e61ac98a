#include "pg_gid.h"

#include <array>
#include <charconv>
#include <cstdio>

namespace xatm::postgresql::internal {
namespace {

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The 6-bit value of a base64 character, or -1.
int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

Status bad_gid(std::string_view gid, const std::string& why) {
  return invalid_argument_error("gid '" + escape_for_message(gid) +
                                "' is not an xatm/pgjdbc gid (" + why + ")");
}

// The formatID part: decimal digits, no sign (an Xid's formatID is never negative), no leading
// zero unless it is "0", at most 10 digits.
Result<std::int64_t> parse_format_id(std::string_view text) {
  if (text.empty() || text.size() > 10) return invalid_argument_error("formatID of bad length");
  if (text.size() > 1 && text.front() == '0')
    return invalid_argument_error("formatID with a leading zero");
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return invalid_argument_error("formatID is not a non-negative decimal");
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  // Sized once and filled in place: it runs once per branch, on the commit path.
  std::string text((bytes.size() + 2) / 3 * 4, '=');
  std::size_t out = 0;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    for (int shift : {18, 12, 6, 0}) text[out++] = kBase64Alphabet[(v >> shift) & 0x3f];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = bytes[i] << 16;
    if (rest == 2) v |= bytes[i + 1] << 8;
    text[out++] = kBase64Alphabet[(v >> 18) & 0x3f];
    text[out++] = kBase64Alphabet[(v >> 12) & 0x3f];
    if (rest == 2) text[out] = kBase64Alphabet[(v >> 6) & 0x3f];  // the rest is padding
  }
  return text;
}

Result<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return invalid_argument_error("base64 length is not a multiple of 4");
  std::vector<std::uint8_t> bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    if (pad == 1 && text[i + 2] == '=') return invalid_argument_error("misplaced base64 padding");
    std::uint32_t v = 0;
    for (int k = 0; k < 4 - pad; ++k) {
      const int value = base64_value(text[i + k]);
      if (value < 0) return invalid_argument_error("a character outside the base64 alphabet");
      v |= static_cast<std::uint32_t>(value) << (18 - 6 * k);
    }
    // Canonical form only: the bits that padding leaves unused must be zero.
    if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0)) {
      return invalid_argument_error("non-canonical base64 (unused bits set)");
    }
    bytes.push_back(static_cast<std::uint8_t>(v >> 16));
    if (pad < 2) bytes.push_back(static_cast<std::uint8_t>(v >> 8));
    if (pad < 1) bytes.push_back(static_cast<std::uint8_t>(v));
  }
  return bytes;
}

Result<std::string> encode_gid(const Xid& xid) {
  std::string gid = std::to_string(xid.format_id()) + "_" + base64_encode(xid.gtrid()) + "_" +
                    base64_encode(xid.bqual());
  if (gid.size() > kMaxGidSize) {
    return invalid_argument_error("the gid of XID " + xid.to_string() + " has " +
                                  std::to_string(gid.size()) + " bytes; PostgreSQL allows " +
                                  std::to_string(kMaxGidSize));
  }
  return gid;
}

Result<Xid> decode_gid(std::string_view gid) {
  if (gid.size() > kMaxGidSize) return bad_gid(gid, "too long");
  const std::size_t first = gid.find('_');
  const std::size_t last = gid.rfind('_');
  if (first == std::string_view::npos || first == last) return bad_gid(gid, "expected two '_'");
  Result<std::int64_t> format_id = parse_format_id(gid.substr(0, first));
  if (!format_id.ok()) return bad_gid(gid, format_id.status().message());
  Result<std::vector<std::uint8_t>> gtrid = base64_decode(gid.substr(first + 1, last - first - 1));
  if (!gtrid.ok()) return bad_gid(gid, "gtrid: " + gtrid.status().message());
  Result<std::vector<std::uint8_t>> bqual = base64_decode(gid.substr(last + 1));
  if (!bqual.ok()) return bad_gid(gid, "bqual: " + bqual.status().message());
  Result<Xid> xid = Xid::make(*format_id, *gtrid, *bqual);
  if (!xid.ok()) return bad_gid(gid, xid.status().message());
  // Belt and braces: only a gid that re-encodes to itself may be acted upon.
  Result<std::string> again = encode_gid(*xid);
  if (!again.ok() || *again != gid) return bad_gid(gid, "not in canonical form");
  return xid;
}

Result<std::string> gid_literal(std::string_view gid) {
  for (char c : gid) {
    const bool allowed = base64_value(c) >= 0 || c == '=' || c == '_' || c == '-';
    if (!allowed) {
      return invalid_argument_error("gid '" + escape_for_message(gid) +
                                    "' holds a character that is not allowed in a gid literal");
    }
  }
  return "'" + std::string(gid) + "'";
}

std::string escape_for_message(std::string_view text) {
  constexpr std::size_t kMaxShown = 200;
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\') {
      std::array<char, 5> hex{};
      std::snprintf(hex.data(), hex.size(), "\\x%02x", c);
      out += hex.data();
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxShown) out += "...(" + std::to_string(text.size()) + " bytes)";
  return out;
}

}  // namespace xatm::postgresql::internal
