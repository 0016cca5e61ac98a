#include "mysql_branch_tag.h"

namespace xatm::mysql::internal {
namespace {

constexpr std::uint8_t kLayout = 'M';
constexpr std::size_t kTagBytes = 1 + 4 + 8;
constexpr std::size_t kBranchIndexBytes = 2;
// Readings of one run differ by at most 1 s; 2 s also absorbs a reading taken across a second
// boundary on each side. No server restarts, and runs long enough to prepare a branch, in 2 s.
constexpr std::uint32_t kSameRunTolerance = 2;

void put(std::vector<std::uint8_t>& out, std::uint64_t value, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(value >> shift));
  }
}

std::uint64_t get(const std::uint8_t* in, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | in[i];
  return value;
}

}  // namespace

std::vector<std::uint8_t> encode_branch_tag(const BranchHolder& holder) {
  std::vector<std::uint8_t> tag;
  tag.reserve(kTagBytes);
  tag.push_back(kLayout);
  put(tag, holder.server_started, 4);
  put(tag, holder.connection_id, 8);
  return tag;
}

std::optional<BranchHolder> decode_branch_tag(const Xid& xid) {
  const std::span<const std::uint8_t> bqual = xid.bqual();
  if (xid.format_id() != kXatmFormatId || bqual.size() != kBranchIndexBytes + kTagBytes ||
      bqual[kBranchIndexBytes] != kLayout) {
    return std::nullopt;
  }
  const std::uint8_t* tag = bqual.data() + kBranchIndexBytes + 1;
  return BranchHolder{static_cast<std::uint32_t>(get(tag, 4)), get(tag + 4, 8)};
}

bool same_server_run(std::uint32_t started, std::uint32_t other_started) {
  const std::uint32_t distance =
      started > other_started ? started - other_started : other_started - started;
  return distance <= kSameRunTolerance;
}

}  // namespace xatm::mysql::internal
