#include "log/log_format.h"

#include <boost/crc.hpp>
#include <charconv>
#include <cstdio>

namespace xatm::internal {
namespace {

// CRC-32C: polynomial 0x1EDC6F41, reflected, initial value and final xor 0xFFFFFFFF. Its check
// value (the CRC of "123456789") is 0xE3069283; log_format_test verifies it.
using Crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

}  // namespace

bool is_known_record_type(std::uint8_t type) {
  return type >= static_cast<std::uint8_t>(RecordType::kCommit) &&
         type <= static_cast<std::uint8_t>(RecordType::kForget);
}

std::string_view record_type_name(RecordType type) {
  switch (type) {
    case RecordType::kCommit: return "COMMIT";
    case RecordType::kDone: return "DONE";
    case RecordType::kHeuristic: return "HEURISTIC";
    case RecordType::kLogInfo: return "LOG-INFO";
    case RecordType::kForget: return "FORGET";
  }
  return "UNKNOWN";
}

std::uint32_t crc32c(std::string_view data) {
  Crc32c crc;
  crc.process_bytes(data.data(), data.size());
  return crc.checksum();
}

std::uint32_t record_crc(std::uint8_t type, std::uint32_t length, std::uint64_t segment,
                         std::string_view payload) {
  // type | length | segment, little-endian; on the stack because the reader calls this at
  // every byte offset of a torn tail.
  unsigned char prefix[13];
  prefix[0] = type;
  for (int i = 0; i < 4; ++i) prefix[1 + i] = static_cast<unsigned char>(length >> (8 * i));
  for (int i = 0; i < 8; ++i) prefix[5 + i] = static_cast<unsigned char>(segment >> (8 * i));
  Crc32c crc;
  crc.process_bytes(prefix, sizeof(prefix));
  crc.process_bytes(payload.data(), payload.size());
  return crc.checksum();
}

std::string segment_file_name(std::uint64_t number) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%0*llu", kSegmentNumberDigits,
                static_cast<unsigned long long>(number));
  return std::string(digits) + std::string(kSegmentSuffix);
}

std::optional<std::uint64_t> parse_segment_file_name(std::string_view name) {
  if (name.size() <= kSegmentSuffix.size() || !name.ends_with(kSegmentSuffix)) return std::nullopt;
  std::string_view digits = name.substr(0, name.size() - kSegmentSuffix.size());
  // Exactly the names segment_file_name() produces: at least 12 digits, nothing else.
  if (digits.size() < static_cast<std::size_t>(kSegmentNumberDigits)) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::uint64_t number = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (segment_file_name(number) != name) return std::nullopt;
  return number;
}

}  // namespace xatm::internal
