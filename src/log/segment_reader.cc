#include "log/segment_reader.h"

#include <optional>
#include <utility>

#include "log/coding.h"
#include "log/log_format.h"

namespace xatm::internal {
namespace {

using End = SegmentScan::End;

struct HeaderProblem {
  std::uint64_t offset;
  std::string problem;
  std::string other_node;  // set when the header names another node
};

bool all_zero(std::string_view bytes) { return bytes.find_first_not_of('\0') == bytes.npos; }

// Checks a complete (kSegmentHeaderSize bytes) header. The version comes before the checksum:
// a later version may lay its header out differently, so it must be recognised first.
std::optional<HeaderProblem> check_header(std::string_view header, std::uint64_t number,
                                          std::string_view node_name) {
  if (header.substr(kHeaderMagicOffset, kSegmentMagic.size()) != kSegmentMagic) {
    return HeaderProblem{kHeaderMagicOffset, "bad magic: not a decision log segment"};
  }
  std::uint32_t version = get_u32(header.data() + kHeaderVersionOffset);
  if (version == 0 || version > kFormatVersion) {
    return HeaderProblem{kHeaderVersionOffset,
                         "unsupported format version " + std::to_string(version) +
                             " (this build reads 1.." + std::to_string(kFormatVersion) + ")"};
  }
  if (get_u32(header.data() + kHeaderCrcOffset) != crc32c(header.substr(0, kHeaderCrcOffset))) {
    return HeaderProblem{kHeaderCrcOffset, "segment header checksum mismatch"};
  }
  std::uint64_t segment = get_u64(header.data() + kHeaderSegmentOffset);
  if (segment != number) {
    return HeaderProblem{kHeaderSegmentOffset, "header says segment " + std::to_string(segment) +
                                                   ", the file name says " +
                                                   std::to_string(number)};
  }
  std::size_t length = static_cast<unsigned char>(header[kHeaderNodeNameLengthOffset]);
  if (length == 0 || length > kHeaderNodeNameCapacity ||
      !all_zero(header.substr(kHeaderNodeNameOffset + length, kHeaderNodeNameCapacity - length)) ||
      !all_zero(header.substr(kHeaderReservedOffset, kHeaderCrcOffset - kHeaderReservedOffset))) {
    return HeaderProblem{kHeaderNodeNameLengthOffset, "malformed node name or reserved bytes"};
  }
  std::string_view owner = header.substr(kHeaderNodeNameOffset, length);
  if (owner != node_name) {
    return HeaderProblem{kHeaderNodeNameOffset, "segment of another node", std::string(owner)};
  }
  return std::nullopt;
}

// How the bytes at an offset fail to be a record, if they do.
enum class FrameCheck { kValid, kShortHeader, kTooLong, kPastEnd, kBadChecksum };

// Checks the frame at `offset`, without building messages: valid_frame_after() calls this at
// every byte offset of a torn tail.
FrameCheck check_frame(std::string_view data, std::uint64_t offset, std::uint64_t segment) {
  std::uint64_t left = data.size() - offset;
  if (left < kRecordHeaderSize) return FrameCheck::kShortHeader;
  const char* header = data.data() + offset;
  std::uint32_t length = get_u32(header + kRecordLengthOffset);
  if (length > kMaxPayloadSize) return FrameCheck::kTooLong;
  if (left - kRecordHeaderSize < length) return FrameCheck::kPastEnd;
  auto type = static_cast<std::uint8_t>(header[kRecordTypeOffset]);
  std::string_view payload = data.substr(offset + kRecordHeaderSize, length);
  if (get_u32(header + kRecordCrcOffset) != record_crc(type, length, segment, payload)) {
    return FrameCheck::kBadChecksum;
  }
  return FrameCheck::kValid;
}

std::string describe(FrameCheck check, std::string_view data, std::uint64_t offset) {
  std::uint64_t left = data.size() - offset;
  switch (check) {
    case FrameCheck::kValid: return "valid record";
    case FrameCheck::kShortHeader:
      return "incomplete record header (" + std::to_string(left) + " bytes)";
    case FrameCheck::kTooLong: return "record length exceeds the maximum";
    case FrameCheck::kPastEnd: return "record runs past the end of the file";
    case FrameCheck::kBadChecksum: return "record checksum mismatch";
  }
  return "unreadable record";
}

// Whether any byte offset after `offset` starts a valid record. A crash mid-write damages only
// the end of the file, so a valid record after a bad one means the bad one is real damage (a
// flipped bit in its length, say), never a torn write: truncating there would drop the valid
// records after it.
// Only known types count: the header's version check has already ruled out a newer writer,
// and the type test skips most offsets before any checksum is computed.
bool valid_frame_after(std::string_view data, std::uint64_t offset, std::uint64_t segment) {
  for (std::uint64_t at = offset + 1; at + kRecordHeaderSize <= data.size(); ++at) {
    if (!is_known_record_type(static_cast<std::uint8_t>(data[at + kRecordTypeOffset]))) continue;
    if (check_frame(data, at, segment) == FrameCheck::kValid) return true;
  }
  return false;
}

SegmentScan stop(SegmentScan scan, End end, std::uint64_t offset, std::string problem) {
  scan.end = end;
  scan.problem_offset = offset;
  scan.problem = std::move(problem);
  return scan;
}

}  // namespace

SegmentScan scan_segment(std::string_view data, std::uint64_t number, std::string_view node_name) {
  SegmentScan scan;
  if (data.size() < kSegmentHeaderSize) {
    return stop(std::move(scan), End::kTornHeader, 0,
                "file of " + std::to_string(data.size()) + " bytes has no complete header");
  }
  if (auto bad = check_header(data.substr(0, kSegmentHeaderSize), number, node_name)) {
    if (bad->offset == kHeaderMagicOffset || bad->offset == kHeaderCrcOffset) {
      // A header that never reached the disk (zeros), or only in part, in front of a
      // preallocated tail: no record was ever written after it.
      if (all_zero(data.substr(kSegmentHeaderSize))) {
        return stop(std::move(scan), End::kTornHeader, 0,
                    "incomplete header (" + bad->problem + ") and no record after it");
      }
    }
    scan.other_node = bad->other_node;
    End end = bad->other_node.empty() ? End::kDamaged : End::kOtherNode;
    return stop(std::move(scan), end, bad->offset, std::move(bad->problem));
  }
  scan.version = get_u32(data.data() + kHeaderVersionOffset);
  // Past this offset every byte is zero: a record boundary there is the clean end.
  const std::uint64_t zeros_from = data.find_last_not_of('\0') + 1;  // npos + 1 == 0
  std::uint64_t offset = kSegmentHeaderSize;
  while (offset < data.size()) {
    if (offset >= zeros_from) {
      scan.zero_tail = data.size() - offset;
      break;
    }
    FrameCheck check = check_frame(data, offset, number);
    if (check != FrameCheck::kValid) {
      End end = valid_frame_after(data, offset, number) ? End::kDamaged : End::kTornTail;
      return stop(std::move(scan), end, offset, describe(check, data, offset));
    }
    auto type = static_cast<std::uint8_t>(data[offset + kRecordTypeOffset]);
    if (!is_known_record_type(type)) {
      return stop(std::move(scan), End::kDamaged, offset,
                  "unknown record type " + std::to_string(type));
    }
    std::uint32_t length = get_u32(data.data() + offset + kRecordLengthOffset);
    scan.records.push_back({offset, type, data.substr(offset + kRecordHeaderSize, length)});
    offset += kRecordHeaderSize + length;
  }
  scan.problem_offset = offset;
  return scan;
}

std::string segment_node_name(std::string_view data) {
  if (data.size() < kSegmentHeaderSize) return "";
  std::string_view header = data.substr(0, kSegmentHeaderSize);
  std::uint64_t number = get_u64(header.data() + kHeaderSegmentOffset);
  // Checked against an impossible node name ("" is never valid), every test but the owner's
  // passes exactly when the header is intact.
  std::optional<HeaderProblem> bad = check_header(header, number, "");
  return bad && !bad->other_node.empty() ? bad->other_node : "";
}

}  // namespace xatm::internal
