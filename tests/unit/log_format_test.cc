// The decision log's byte layout (docs/log-format.md): checksums, encodings, payloads.
#include "log/log_format.h"

#include <gtest/gtest.h>

#include <string>

#include "log/coding.h"
#include "log/log_record.h"
#include "log/segment_reader.h"
#include "log/segment_writer.h"
#include "testing/log/log_test_util.h"

namespace xatm::internal {
namespace {

using testing::test_commit;
using testing::test_global;
using testing::test_heuristic;

// Frozen values: these are on disk. A failure here means the format changed.
static_assert(static_cast<int>(RecordType::kCommit) == 1);
static_assert(static_cast<int>(RecordType::kDone) == 2);
static_assert(static_cast<int>(RecordType::kHeuristic) == 3);
static_assert(static_cast<int>(RecordType::kLogInfo) == 4);
static_assert(static_cast<int>(RecordType::kForget) == 5);
static_assert(kSegmentHeaderSize == 64 && kRecordHeaderSize == 9 && kFormatVersion == 2);

TEST(LogFormatTest, Crc32cIsCastagnoli) {
  // The standard check value of CRC-32C.
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(LogFormatTest, IntegersAreLittleEndian) {
  std::string out;
  put_u16(out, 0x0201);
  put_u32(out, 0x06050403);
  put_u64(out, 0x0e0d0c0b0a090807ull);
  EXPECT_EQ(out, std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e"));
  EXPECT_EQ(get_u16(out.data()), 0x0201);
  EXPECT_EQ(get_u32(out.data() + 2), 0x06050403u);
  EXPECT_EQ(get_u64(out.data() + 6), 0x0e0d0c0b0a090807ull);
}

TEST(LogFormatTest, SegmentFileNamesSortByNumber) {
  EXPECT_EQ(segment_file_name(1), "000000000001.xlog");
  EXPECT_EQ(segment_file_name(123456789012), "123456789012.xlog");
  EXPECT_EQ(parse_segment_file_name("000000000042.xlog"), 42u);
  EXPECT_FALSE(parse_segment_file_name("42.xlog"));
  EXPECT_FALSE(parse_segment_file_name("00000000004a.xlog"));
  EXPECT_FALSE(parse_segment_file_name("000000000042.xlog.tmp"));
  EXPECT_FALSE(parse_segment_file_name("LOCK"));
}

TEST(LogFormatTest, SegmentHeaderLayout) {
  std::string header = encode_segment_header(7, "node-a");
  ASSERT_EQ(header.size(), kSegmentHeaderSize);
  EXPECT_EQ(header.substr(0, 8), "xatm-log");
  EXPECT_EQ(get_u32(header.data() + kHeaderVersionOffset), 2u);
  EXPECT_EQ(get_u64(header.data() + kHeaderSegmentOffset), 7u);
  EXPECT_EQ(header[kHeaderNodeNameLengthOffset], 6);
  EXPECT_EQ(header.substr(kHeaderNodeNameOffset, 6), "node-a");
  EXPECT_EQ(get_u32(header.data() + kHeaderCrcOffset), crc32c(header.substr(0, 60)));
  EXPECT_EQ(scan_segment(header, 7, "node-a").end, SegmentScan::End::kClean);
}

TEST(LogFormatTest, RecordLayoutAndChecksumCoverage) {
  std::string record = encode_record(RecordType::kDone, 5, "abc");
  ASSERT_EQ(record.size(), kRecordHeaderSize + 3);
  EXPECT_EQ(get_u32(record.data() + kRecordLengthOffset), 3u);
  EXPECT_EQ(record[kRecordTypeOffset], 2);
  EXPECT_EQ(record.substr(kRecordHeaderSize), "abc");
  // CRC-32C over type, length (LE), segment number (LE) and payload.
  std::string covered(
      "\x02\x03\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00"
      "abc",
      16);
  EXPECT_EQ(get_u32(record.data()), crc32c(covered));
  // The same record in another segment has another checksum.
  EXPECT_NE(get_u32(record.data()), get_u32(encode_record(RecordType::kDone, 6, "abc").data()));
}

TEST(LogFormatTest, PayloadsRoundTrip) {
  for (const LogRecord& record :
       {LogRecord(test_commit(1, 3)), LogRecord(DoneRecord{test_global(2)}),
        LogRecord(test_heuristic(3, XA_HEURMIX))}) {
    Result<std::string> payload = encode_payload(record);
    ASSERT_TRUE(payload.ok()) << payload.status().to_string();
    Result<LogRecord> decoded =
        decode_payload(static_cast<std::uint8_t>(record_type(record)), *payload);
    ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
    EXPECT_EQ(*decoded, record);
  }
}

TEST(LogFormatTest, GlobalXidWithBqualIsRejectedBeforeWriting) {
  CommitRecord commit = test_commit(1);
  commit.global = commit.global.branch(0);
  EXPECT_EQ(encode_payload(commit).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(encode_payload(DoneRecord{test_global(1).branch(3)}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(LogFormatTest, OversizedDataSourceNameIsRejectedBeforeWriting) {
  CommitRecord commit = test_commit(1);
  commit.branches[0].data_source.assign(kMaxStringSize + 1, 'x');
  EXPECT_EQ(encode_payload(commit).status().code(), StatusCode::kInvalidArgument);
}

TEST(LogFormatTest, MalformedPayloadsAreDataLoss) {
  std::string payload = encode_payload(DoneRecord{test_global(1)}).value();
  auto done = static_cast<std::uint8_t>(RecordType::kDone);
  EXPECT_EQ(decode_payload(done, payload + "x").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(decode_payload(done, payload.substr(0, payload.size() - 1)).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(decode_payload(99, payload).status().code(), StatusCode::kDataLoss);
  // A branch count larger than the branches that follow.
  std::string commit = encode_payload(test_commit(1, 2)).value();
  std::size_t count_offset = 6 + test_global(1).gtrid().size();
  ASSERT_EQ(get_u32(commit.data() + count_offset), 2u);
  commit[count_offset] = 3;
  EXPECT_EQ(decode_payload(static_cast<std::uint8_t>(RecordType::kCommit), commit).status().code(),
            StatusCode::kDataLoss);
}

}  // namespace
}  // namespace xatm::internal
