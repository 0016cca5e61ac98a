// The on-disk format of the file decision log: every constant in one place.
//
// docs/log-format.md is the prose specification; keep the two in step. In short, a log
// directory holds segment files named <12-digit number>.xlog plus a LOCK file. A segment is a
// 64-byte header followed by records:
//
//   header  magic[8] version u32 | segment u64 | n u8 | node name[32] | reserved[7] | crc u32
//   record  crc u32 | length u32 | type u8 | payload[length]
//
// All integers are little-endian. The record checksum is CRC-32C over type, length, segment
// number and payload; the header checksum is CRC-32C over the header's first 60 bytes.
//
// Versioning rule: a reader accepts every format version up to kFormatVersion (old versions stay
// readable); a writer writes kFormatVersion only. Values written to disk never change meaning.
//
// Thread safety: constants and pure functions.
#ifndef XATM_SRC_LOG_LOG_FORMAT_H_
#define XATM_SRC_LOG_LOG_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xatm::internal {

// --- Segment header (format versions 1 and 2: the same layout) ---------------------------

// "xatm-log": the first 8 bytes of every segment.
inline constexpr std::string_view kSegmentMagic = "xatm-log";
// The version this code writes, and the newest it reads. Version 2 added the LOG-INFO and
// FORGET records; a version-1 segment holds neither, and nothing is ever appended to one.
inline constexpr std::uint32_t kFormatVersion = 2;

inline constexpr std::size_t kHeaderMagicOffset = 0;            // 8 bytes
inline constexpr std::size_t kHeaderVersionOffset = 8;          // u32
inline constexpr std::size_t kHeaderSegmentOffset = 12;         // u64
inline constexpr std::size_t kHeaderNodeNameLengthOffset = 20;  // u8, 1..32
inline constexpr std::size_t kHeaderNodeNameOffset = 21;        // 32 bytes, zero padded
inline constexpr std::size_t kHeaderNodeNameCapacity = 32;
inline constexpr std::size_t kHeaderReservedOffset = 53;  // 7 bytes, zero
inline constexpr std::size_t kHeaderCrcOffset = 60;       // u32 over bytes [0, 60)
inline constexpr std::size_t kSegmentHeaderSize = 64;

// --- Records -----------------------------------------------------------------------------

inline constexpr std::size_t kRecordCrcOffset = 0;     // u32
inline constexpr std::size_t kRecordLengthOffset = 4;  // u32, payload bytes
inline constexpr std::size_t kRecordTypeOffset = 8;    // u8
inline constexpr std::size_t kRecordHeaderSize = 9;
// The largest payload a writer produces and a reader accepts.
inline constexpr std::uint32_t kMaxPayloadSize = 1u << 20;

// Record types. FROZEN: these values are on disk; never renumber or reuse one. 0 is reserved
// (it is what a zero-filled region reads as) and is never valid.
enum class RecordType : std::uint8_t {
  kCommit = 1,     // payload: global xid, u32 branch count, branches (string data source, xid)
  kDone = 2,       // payload: global xid
  kHeuristic = 3,  // payload: string data source, branch xid, i32 XA code
  kLogInfo = 4,    // payload: i64 birth (microseconds since the Unix epoch), u64 sequence limit
  kForget = 5,     // payload: string data source, branch xid
};

// True for the values of RecordType.
bool is_known_record_type(std::uint8_t type);
std::string_view record_type_name(RecordType type);

// In payloads: an xid is formatID u32 | gtrid length u8 | bqual length u8 | gtrid | bqual; a
// string is u16 length | bytes.
inline constexpr std::size_t kMaxStringSize = 0xffff;

// --- Checksums ---------------------------------------------------------------------------

// CRC-32C (Castagnoli) of `data`.
std::uint32_t crc32c(std::string_view data);

// The checksum stored in a record: CRC-32C over type (1 byte), length (4 bytes LE), segment
// number (8 bytes LE) and payload, in that order. The segment number makes a record copied
// from, or left over by, another segment fail the check.
std::uint32_t record_crc(std::uint8_t type, std::uint32_t length, std::uint64_t segment,
                         std::string_view payload);

// --- Files in the log directory ----------------------------------------------------------

inline constexpr std::string_view kSegmentSuffix = ".xlog";
inline constexpr int kSegmentNumberDigits = 12;

// "000000000042.xlog" for 42. Names sort by number up to 10^12 - 1.
std::string segment_file_name(std::uint64_t number);

// The number in a segment file name; nullopt for any other name.
std::optional<std::uint64_t> parse_segment_file_name(std::string_view name);

}  // namespace xatm::internal

#endif  // XATM_SRC_LOG_LOG_FORMAT_H_
