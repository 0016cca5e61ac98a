// Reading a damaged log: a torn tail is truncated, a zero-filled (preallocated) tail is the clean
// end, any other damage refuses to open.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "log/file_log.h"
#include "log/log_record.h"
#include "log/segment_reader.h"
#include "log/segment_writer.h"
#include "testing/log/log_test_util.h"
#include "xatm/decision_log.h"

namespace xatm::internal {
namespace {

using testing::read_bytes;
using testing::records_end;
using testing::TempDir;
using testing::test_commit;
using testing::test_global;
using testing::test_heuristic;
using testing::write_bytes;
using testing::written_bytes;

class LogCorruptionTest : public ::testing::Test {
 protected:
  FileLogOptions options() const {
    FileLogOptions options;
    options.dir = dir_;
    options.create_if_missing = true;
    options.node_name = "node-a";
    options.max_segment_bytes = kSegmentBytes;
    return options;
  }

  Result<std::unique_ptr<DecisionLog>> open() { return xatm::open_file_log(options()); }

  static constexpr std::uint64_t kSegmentBytes = 4096;

  // Writes COMMIT 1, COMMIT 2, DONE 1, COMMIT 3 and closes the log; returns the offset of each
  // of these records (after the new log's LOG-INFO).
  std::vector<std::uint64_t> write_three_commits() {
    {
      auto log = std::move(open()).value();
      EXPECT_TRUE(log->log_commit(test_commit(1)).ok());
      EXPECT_TRUE(log->log_commit(test_commit(2, 3)).ok());
      EXPECT_TRUE(log->log_done(test_global(1)).ok());  // goes with COMMIT 3, in front of it
      EXPECT_TRUE(log->log_commit(test_commit(3)).ok());
    }
    std::vector<std::uint64_t> offsets;
    for (const FramedRecord& record : scan_segment(read_bytes(segment_), 1, "node-a").records) {
      if (record.type != static_cast<std::uint8_t>(RecordType::kLogInfo)) offsets.push_back(record.offset);
    }
    EXPECT_EQ(offsets.size(), 4u);
    EXPECT_EQ(offsets.front(), kSegmentHeaderSize + testing::kLogInfoRecordSize);
    return offsets;
  }

  void expect_data_loss_at(std::uint64_t offset, const std::string& context) {
    Result<std::unique_ptr<DecisionLog>> log = open();
    ASSERT_FALSE(log.ok()) << context;
    EXPECT_EQ(log.status().code(), StatusCode::kDataLoss) << context;
    const std::string& message = log.status().message();
    EXPECT_NE(message.find(segment_), std::string::npos) << context << ": " << message;
    EXPECT_NE(message.find("offset " + std::to_string(offset) + ":"), std::string::npos)
        << context << ": " << message;
  }

  TempDir tmp_;
  std::string dir_ = tmp_.path() + "/log";
  std::string segment_ = dir_ + "/000000000001.xlog";
};

TEST_F(LogCorruptionTest, TornLastRecordAtEveryLengthIsTruncated) {
  std::vector<std::uint64_t> offsets = write_three_commits();
  const std::string full = written_bytes(segment_);
  const std::uint64_t last = offsets.back();
  ASSERT_GT(full.size() - last, kRecordHeaderSize);  // a COMMIT record with its payload
  for (std::uint64_t length = last; length < full.size(); ++length) {
    // The torn record at the end of the file, and in front of the preallocated zeros.
    for (bool preallocated : {false, true}) {
      SCOPED_TRACE("segment cut to " + std::to_string(length) + " bytes" +
                   (preallocated ? ", then zeros" : ""));
      std::string torn = full.substr(0, length);
      if (preallocated) torn.resize(kSegmentBytes, '\0');
      write_bytes(segment_, torn);
      {
        auto log = open();
        ASSERT_TRUE(log.ok()) << log.status().to_string();
        EXPECT_EQ((*log)->open_decisions(), std::vector<CommitRecord>{test_commit(2, 3)});
        // The torn bytes are gone: zeros from the end of the last whole record on.
        std::string now = read_bytes(segment_);
        EXPECT_EQ(now.size(), kSegmentBytes);
        EXPECT_EQ(now.substr(last), std::string(kSegmentBytes - last, '\0'));
        ASSERT_TRUE((*log)->log_commit(test_commit(4)).ok());
      }
      auto log = open();
      ASSERT_TRUE(log.ok()) << log.status().to_string();
      std::vector<CommitRecord> expected{test_commit(2, 3), test_commit(4)};
      EXPECT_EQ((*log)->open_decisions(), expected);
    }
  }
}

TEST_F(LogCorruptionTest, ZeroFilledTailIsCleanEndAndAppendsGoThere) {
  std::vector<std::uint64_t> offsets = write_three_commits();
  std::string full = written_bytes(segment_);
  // What some file systems leave after a power loss: the size grew, the data never arrived.
  // Any length of zeros, even shorter than a record header, ends the segment cleanly.
  for (std::uint64_t zeros : {std::uint64_t{1}, std::uint64_t{5}, full.size() - offsets.back()}) {
    SCOPED_TRACE(std::to_string(zeros) + " zero bytes");
    write_bytes(segment_, full.substr(0, offsets.back()) + std::string(zeros, '\0'));
    {
      auto log = open();
      ASSERT_TRUE(log.ok()) << log.status().to_string();
      EXPECT_EQ((*log)->open_decisions(), std::vector<CommitRecord>{test_commit(2, 3)});
      ASSERT_TRUE((*log)->log_commit(test_commit(5)).ok());
    }
    std::vector<CommitRecord> expected{test_commit(2, 3), test_commit(5)};
    EXPECT_EQ(std::move(open()).value()->open_decisions(), expected);
    EXPECT_EQ(written_bytes(segment_).substr(0, offsets.back()), full.substr(0, offsets.back()));
  }
}

TEST_F(LogCorruptionTest, PreallocatedTailOfEarlierSegmentIsCleanEnd) {
  write_three_commits();
  ASSERT_EQ(read_bytes(segment_).size(), kSegmentBytes);  // preallocated, zero-filled
  write_bytes(dir_ + "/000000000002.xlog", encode_segment_header(2, "node-a"));
  auto log = open();
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  EXPECT_EQ((*log)->open_decisions(),
            (std::vector<CommitRecord>{test_commit(2, 3), test_commit(3)}));
}

TEST_F(LogCorruptionTest, NonZeroByteInPreallocatedTailIsTornTail) {
  write_three_commits();
  std::string bytes = read_bytes(segment_);
  const std::uint64_t end = records_end(segment_);
  bytes[bytes.size() - 100] = 'x';
  write_bytes(segment_, bytes);
  {
    auto log = open();
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ((*log)->open_decisions(),
              (std::vector<CommitRecord>{test_commit(2, 3), test_commit(3)}));
  }
  EXPECT_EQ(records_end(segment_), end);
  EXPECT_EQ(read_bytes(segment_).substr(end), std::string(kSegmentBytes - end, '\0'));
}

TEST_F(LogCorruptionTest, ZerosBeforeValidRecordAreDataLoss) {
  std::vector<std::uint64_t> offsets = write_three_commits();
  std::string full = written_bytes(segment_);
  // The second record never reached the disk, the third did: not a torn tail.
  std::string damaged = full;
  for (std::uint64_t at = offsets[1]; at < offsets[2]; ++at) damaged[at] = '\0';
  write_bytes(segment_, damaged);
  expect_data_loss_at(offsets[1], "zeros in place of the second record");
}

TEST_F(LogCorruptionTest, ZeroFilledSegmentIsTornHeaderOnlyWhenLast) {
  write_three_commits();
  std::string second = dir_ + "/000000000002.xlog";
  // Created and preallocated, but the header never reached the disk.
  write_bytes(second, std::string(kSegmentBytes, '\0'));
  {
    auto log = open();
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    ASSERT_TRUE((*log)->log_commit(test_commit(6)).ok());
  }
  EXPECT_GT(records_end(second), kSegmentHeaderSize);
  // The same file before another segment: a segment is synced before the next is created.
  write_bytes(second, std::string(kSegmentBytes, '\0'));
  write_bytes(dir_ + "/000000000003.xlog", encode_segment_header(3, "node-a"));
  Result<std::unique_ptr<DecisionLog>> log = open();
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(log.status().message().find(second + " is damaged at offset 0"), std::string::npos)
      << log.status().message();
}

TEST_F(LogCorruptionTest, FlippedBitInEarlierRecordIsDataLoss) {
  std::vector<std::uint64_t> offsets = write_three_commits();
  const std::string full = written_bytes(segment_);
  // Every byte of the first and of the second record, one bit each.
  for (std::size_t record = 0; record < 2; ++record) {
    for (std::uint64_t at = offsets[record]; at < offsets[record + 1]; ++at) {
      std::string damaged = full;
      damaged[at] = static_cast<char>(damaged[at] ^ (1 << (at % 8)));
      write_bytes(segment_, damaged);
      expect_data_loss_at(offsets[record], "bit flipped at byte " + std::to_string(at));
    }
  }
  write_bytes(segment_, full);
  EXPECT_TRUE(open().ok());
}

TEST_F(LogCorruptionTest, FlippedBitInSegmentHeaderIsDataLoss) {
  write_three_commits();
  const std::string full = written_bytes(segment_);
  for (std::size_t at = 0; at < kSegmentHeaderSize; ++at) {
    std::string damaged = full;
    damaged[at] = static_cast<char>(damaged[at] ^ (1 << (at % 8)));
    write_bytes(segment_, damaged);
    Result<std::unique_ptr<DecisionLog>> log = open();
    ASSERT_FALSE(log.ok()) << "bit flipped at byte " << at;
    EXPECT_EQ(log.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(log.status().message().find(segment_ + " is damaged at offset "), std::string::npos)
        << log.status().message();
  }
}

TEST_F(LogCorruptionTest, UnknownRecordTypeWithValidChecksumIsDataLoss) {
  write_three_commits();
  std::string full = written_bytes(segment_);
  std::uint64_t end = full.size();
  write_bytes(segment_, full + encode_record(static_cast<RecordType>(9), 1, "future"));
  expect_data_loss_at(end, "unknown type");
}

TEST_F(LogCorruptionTest, MalformedPayloadWithValidChecksumIsDataLoss) {
  write_three_commits();
  std::string full = written_bytes(segment_);
  std::uint64_t end = full.size();
  write_bytes(segment_, full + encode_record(RecordType::kCommit, 1, "not a commit"));
  expect_data_loss_at(end, "malformed payload");
}

TEST_F(LogCorruptionTest, RecordCopiedFromAnotherSegmentIsDataLoss) {
  std::vector<std::uint64_t> offsets = write_three_commits();
  std::string full = written_bytes(segment_);
  // A valid record of segment 2 in segment 1, followed by a valid record of segment 1.
  std::string stray =
      encode_record(RecordType::kDone, 2, encode_payload(DoneRecord{test_global(2)}).value());
  std::string tail = full.substr(offsets[1]);
  write_bytes(segment_, full.substr(0, offsets[1]) + stray + tail);
  expect_data_loss_at(offsets[1], "stray record");
}

TEST_F(LogCorruptionTest, TornTailInEarlierSegmentIsDataLoss) {
  write_three_commits();
  std::string first = written_bytes(segment_);
  write_bytes(segment_, first.substr(0, first.size() - 3));
  write_bytes(dir_ + "/000000000002.xlog", encode_segment_header(2, "node-a"));
  Result<std::unique_ptr<DecisionLog>> log = open();
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(log.status().message().find(segment_), std::string::npos) << log.status().message();
}

TEST_F(LogCorruptionTest, TornHeaderOfLastSegmentIsRewritten) {
  write_three_commits();
  std::string second = dir_ + "/000000000002.xlog";
  write_bytes(second, encode_segment_header(2, "node-a").substr(0, 10));
  {
    auto log = open();
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    EXPECT_EQ((*log)->open_decisions(),
              (std::vector<CommitRecord>{test_commit(2, 3), test_commit(3)}));
    ASSERT_TRUE((*log)->log_heuristic(test_heuristic(2)).ok());
  }
  EXPECT_GT(records_end(second), kSegmentHeaderSize);
  auto log = open();
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  EXPECT_EQ((*log)->open_heuristics(), std::vector<HeuristicRecord>{test_heuristic(2)});
}

TEST_F(LogCorruptionTest, SegmentNumberNotMatchingFileNameIsDataLoss) {
  write_three_commits();
  std::filesystem::rename(segment_, dir_ + "/000000000007.xlog");
  Result<std::unique_ptr<DecisionLog>> log = open();
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(log.status().message().find("000000000007.xlog"), std::string::npos);
}

}  // namespace
}  // namespace xatm::internal
