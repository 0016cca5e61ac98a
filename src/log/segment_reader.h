// Reads one segment's bytes: checks the header and the frame of every record.
//
// The reader reports and the caller decides (STYLE 10): scan_segment() tells a clean end from a
// torn tail and from damage, and recovery (log_recovery.h) accepts a torn tail only at the end
// of the last segment. Payloads are not decoded here (log_record.h does that).
//
// Segments are preallocated, so a segment normally ends in zeros: when every byte from the end
// of a record (or of the header) to the end of the file is zero, that is the clean end. Zero
// bytes cannot be a record (type 0 is reserved), so no record is ever hidden by this rule; and
// it is exact: a single non-zero byte after the last record makes the tail torn or damaged.
//
// Thread safety: a pure function.
#ifndef XATM_SRC_LOG_SEGMENT_READER_H_
#define XATM_SRC_LOG_SEGMENT_READER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xatm::internal {

// A record whose frame is intact: complete, checksum correct, type known.
struct FramedRecord {
  std::uint64_t offset = 0;  // of the record header in the file
  std::uint8_t type = 0;
  std::string_view payload;  // a view into the bytes given to scan_segment()
};

// What scan_segment() found.
struct SegmentScan {
  enum class End {
    // Every byte after the header belongs to a valid record, or is zero from the end of the
    // last record (or of the header) on.
    kClean,
    // The file is shorter than a segment header, or its header fails the magic or checksum
    // test and every byte after it is zero: its creation was cut short before any record.
    kTornHeader,
    // From problem_offset to the end: an incomplete record or one whose checksum does not
    // match, with no valid record after it. What a crash in the middle of a write leaves.
    kTornTail,
    // The header, or the record at problem_offset, is damaged (bad magic, version, checksum
    // with valid records after it, another segment's number, an unknown record type).
    kDamaged,
    // The header is intact but names another node: the log directory of another node.
    kOtherNode,
  };

  End end = End::kClean;
  // The valid records before problem_offset, in file order.
  std::vector<FramedRecord> records;
  // Where the torn tail or the damage starts (kTornHeader: 0); where the records end when
  // kClean (the file size, unless the file ends in zeros).
  std::uint64_t problem_offset = 0;
  // kClean: the number of zero bytes after the records (a preallocated tail).
  std::uint64_t zero_tail = 0;
  // What is wrong at problem_offset, for messages.
  std::string problem;
  // kOtherNode: the node named in the header.
  std::string other_node;
  // The header's format version when the header is intact (0 otherwise).
  std::uint32_t version = 0;
};

// Scans a segment's whole content. `number` is the segment number from the file name and
// `node_name` the log owner's: a header with another number is kDamaged, one with another
// node kOtherNode.
SegmentScan scan_segment(std::string_view data, std::uint64_t number, std::string_view node_name);

// The node named in the segment header at the start of `data`, or "" when there is no intact
// header (too short, bad magic, unknown version, checksum mismatch, malformed name). For tools
// that read a log without knowing its node.
std::string segment_node_name(std::string_view data);

}  // namespace xatm::internal

#endif  // XATM_SRC_LOG_SEGMENT_READER_H_
