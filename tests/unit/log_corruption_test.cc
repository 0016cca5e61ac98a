// Reading a damaged log: a torn tail is truncated, any other damage refuses to open.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "log/file_log.h"
#include "log/log_record.h"
#include "log/segment_writer.h"
#include "log/testing/log_test_util.h"
#include "xatm/decision_log.h"

namespace xatm::internal {
namespace {

using testing::read_bytes;
using testing::TempDir;
using testing::test_commit;
using testing::test_global;
using testing::test_heuristic;
using testing::write_bytes;

class LogCorruptionTest : public ::testing::Test {
 protected:
  FileLogOptions options() const {
    FileLogOptions options;
    options.dir = dir_;
    options.node_name = "node-a";
    return options;
  }

  Result<std::unique_ptr<DecisionLog>> open() { return xatm::open_file_log(options()); }

  // Writes COMMIT 1, COMMIT 2, DONE 1, COMMIT 3; returns the offset of each record.
  std::vector<std::uint64_t> write_three_commits() {
    std::vector<std::uint64_t> offsets;
    auto log = std::move(open()).value();
    auto append = [&](auto&& write) {
      offsets.push_back(std::filesystem::file_size(segment_));
      Status status = write();
      EXPECT_TRUE(status.ok()) << status.to_string();
    };
    append([&] { return log->log_commit(test_commit(1)); });
    append([&] { return log->log_commit(test_commit(2, 3)); });
    append([&] { return log->log_done(test_global(1)); });
    append([&] { return log->log_commit(test_commit(3)); });
    EXPECT_EQ(offsets.front(), kSegmentHeaderSize);
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
  const std::string full = read_bytes(segment_);
  const std::uint64_t last = offsets.back();
  ASSERT_GT(full.size() - last, kRecordHeaderSize);  // a COMMIT record with its payload
  for (std::uint64_t length = last; length < full.size(); ++length) {
    SCOPED_TRACE("segment cut to " + std::to_string(length) + " bytes");
    write_bytes(segment_, full.substr(0, length));
    {
      auto log = open();
      ASSERT_TRUE(log.ok()) << log.status().to_string();
      EXPECT_EQ((*log)->open_decisions(), std::vector<CommitRecord>{test_commit(2, 3)});
      EXPECT_EQ(std::filesystem::file_size(segment_), last);  // the torn bytes are gone
      ASSERT_TRUE((*log)->log_commit(test_commit(4)).ok());
    }
    auto log = open();
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    std::vector<CommitRecord> expected{test_commit(2, 3), test_commit(4)};
    EXPECT_EQ((*log)->open_decisions(), expected);
  }
}

TEST_F(LogCorruptionTest, ZeroFilledTailIsTruncated) {
  std::vector<std::uint64_t> offsets = write_three_commits();
  std::string full = read_bytes(segment_);
  // What some file systems leave after a power loss: the size grew, the data never arrived.
  write_bytes(segment_,
              full.substr(0, offsets.back()) + std::string(full.size() - offsets.back(), '\0'));
  auto log = open();
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  EXPECT_EQ((*log)->open_decisions(), std::vector<CommitRecord>{test_commit(2, 3)});
}

TEST_F(LogCorruptionTest, FlippedBitInEarlierRecordIsDataLoss) {
  std::vector<std::uint64_t> offsets = write_three_commits();
  const std::string full = read_bytes(segment_);
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
  const std::string full = read_bytes(segment_);
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
  std::string full = read_bytes(segment_);
  std::uint64_t end = full.size();
  write_bytes(segment_, full + encode_record(static_cast<RecordType>(9), 1, "future"));
  expect_data_loss_at(end, "unknown type");
}

TEST_F(LogCorruptionTest, MalformedPayloadWithValidChecksumIsDataLoss) {
  write_three_commits();
  std::string full = read_bytes(segment_);
  std::uint64_t end = full.size();
  write_bytes(segment_, full + encode_record(RecordType::kCommit, 1, "not a commit"));
  expect_data_loss_at(end, "malformed payload");
}

TEST_F(LogCorruptionTest, RecordCopiedFromAnotherSegmentIsDataLoss) {
  std::vector<std::uint64_t> offsets = write_three_commits();
  std::string full = read_bytes(segment_);
  // A valid record of segment 2 in segment 1, followed by a valid record of segment 1.
  std::string stray =
      encode_record(RecordType::kDone, 2, encode_payload(DoneRecord{test_global(2)}).value());
  std::string tail = full.substr(offsets[1]);
  write_bytes(segment_, full.substr(0, offsets[1]) + stray + tail);
  expect_data_loss_at(offsets[1], "stray record");
}

TEST_F(LogCorruptionTest, TornTailInEarlierSegmentIsDataLoss) {
  write_three_commits();
  std::string first = read_bytes(segment_);
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
  EXPECT_GT(std::filesystem::file_size(second), kSegmentHeaderSize);
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
