// The log's own history (LOG-INFO, docs/log-format.md): its birth survives every rotation and
// power loss, a reserved sequence limit is durable once reserve_sequences() returned, FORGET
// closes one heuristic, and a log of format version 1 opens with birth 0 into a new segment.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "log/coding.h"
#include "log/file_log.h"
#include "log/log_record.h"
#include "testing/log/power_loss_env.h"
#include "log/segment_writer.h"
#include "testing/log/log_test_util.h"
#include "xatm/decision_log.h"

namespace xatm::internal {
namespace {

using std::chrono::system_clock;
using testing::test_commit;
using testing::test_global;
using testing::test_heuristic;
using Loss = PowerLossEnv::Loss;

class LogHistoryTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<DecisionLog>> open(bool create = true) {
    FileLogOptions options;
    options.dir = "/log";
    options.create_if_missing = create;
    options.node_name = "node-a";
    options.max_segment_bytes = 1024;  // rotations every few records
    return open_file_log(options, disk_);
  }

  PowerLossEnv disk_;
  const system_clock::time_point born_ = system_clock::time_point(std::chrono::seconds(1'800'000'000));
};

TEST_F(LogHistoryTest, BirthIsSetOnceAndCarriedAcrossRotationsAndPowerLoss) {
  disk_.set_now(born_);
  {
    auto log = std::move(open()).value();
    EXPECT_EQ(log->birth(), born_);
    const std::uint64_t micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                     born_.time_since_epoch()).count();
    EXPECT_EQ(log->sequence_limit(), micros) << "a new log's numbers start at its birth";
    for (int n = 0; n < 200; ++n) {  // many rotations, each carrying the LOG-INFO
      ASSERT_TRUE(log->log_commit(test_commit(n)).ok());
      ASSERT_TRUE(log->log_done(test_global(n)).ok());
    }
    EXPECT_GT(static_cast<FileLog&>(*log).stats().rotations, 5u);
  }
  disk_.cut_power();
  disk_.restore_power(Loss::kKeepNothing);
  disk_.set_now(born_ + std::chrono::hours(24));
  auto reopened = open();
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  EXPECT_EQ((*reopened)->birth(), born_) << "reopening is not a new birth";
}

TEST_F(LogHistoryTest, ReservedSequenceLimitIsDurableWhenReserveReturns) {
  for (Loss loss : {Loss::kKeepNothing, Loss::kRandomPrefix}) {
    PowerLossEnv disk;
    FileLogOptions options{.dir = "/log", .create_if_missing = true, .node_name = "node-a"};
    std::uint64_t reserved = 0;
    {
      auto log = std::move(open_file_log(options, disk)).value();
      reserved = log->sequence_limit() + 1'000'000;
      ASSERT_TRUE(log->reserve_sequences(reserved).ok());
      ASSERT_TRUE(log->reserve_sequences(reserved - 5).ok()) << "a lower limit changes nothing";
      EXPECT_EQ(log->sequence_limit(), reserved);
      disk.cut_power();
    }
    disk.restore_power(loss, 7);
    auto reopened = open_file_log(options, disk);
    ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
    EXPECT_EQ((*reopened)->sequence_limit(), reserved);
  }
}

TEST_F(LogHistoryTest, ForgetClosesOneHeuristicAndNothingElse) {
  auto log = std::move(open()).value();
  ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
  const HeuristicRecord first = test_heuristic(1);
  const HeuristicRecord other{{"ds-0", test_global(1).branch(0)}, XA_HEURMIX};
  ASSERT_TRUE(log->log_heuristic(first).ok());
  ASSERT_TRUE(log->log_heuristic(other).ok());
  ASSERT_TRUE(log->log_forget(first.branch).ok());
  EXPECT_EQ(log->open_heuristics(), std::vector<HeuristicRecord>{other});
  EXPECT_EQ(log->open_decisions().size(), 1u);
  log.reset();
  auto reopened = std::move(open()).value();
  EXPECT_EQ(reopened->open_heuristics(), std::vector<HeuristicRecord>{other});
  EXPECT_EQ(reopened->open_decisions().size(), 1u);
}

TEST_F(LogHistoryTest, SegmentsOfTwoLogsMixedInOneDirectoryAreDamage) {
  disk_.set_now(born_);
  { ASSERT_TRUE(open().ok()); }
  // A segment of another log (another birth) copied in beside the first.
  std::string other = encode_segment_header(2, "node-a");
  std::string payload;
  put_u64(payload, 42);  // birth
  put_u64(payload, 43);  // sequence limit
  other += encode_record(RecordType::kLogInfo, 2, payload);
  auto file = std::move(disk_.new_writable_file("/log/000000000002.xlog")).value();
  ASSERT_TRUE(file->write_at(0, other).ok());
  ASSERT_TRUE(file->sync().ok());
  Result<std::unique_ptr<DecisionLog>> log = open();
  EXPECT_EQ(log.status().code(), StatusCode::kDataLoss) << log.status().to_string();
  EXPECT_NE(log.status().message().find("two different logs"), std::string::npos)
      << log.status().message();
}

// A log written by format version 1 (no LOG-INFO, version 1 header) opens with birth 0, keeps
// its decisions, and goes on in a new segment of the current version.
TEST_F(LogHistoryTest, VersionOneLogOpensAsOlderThanAnythingIntoANewSegment) {
  ASSERT_TRUE(disk_.create_dir("/log").ok());
  // The same header layout with version 1, and its checksum again.
  std::string segment = encode_segment_header(1, "node-a");
  std::string version;
  put_u32(version, 1);
  segment.replace(kHeaderVersionOffset, 4, version);
  std::string crc;
  put_u32(crc, crc32c(std::string_view(segment).substr(0, kHeaderCrcOffset)));
  segment.replace(kHeaderCrcOffset, 4, crc);
  const CommitRecord decision = test_commit(9);
  segment += encode_record(RecordType::kCommit, 1, encode_payload(decision).value());
  auto file = std::move(disk_.new_writable_file("/log/000000000001.xlog")).value();
  ASSERT_TRUE(file->write_at(0, segment).ok());
  ASSERT_TRUE(file->sync().ok());
  file.reset();

  auto log = open(/*create=*/false);
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  EXPECT_EQ((*log)->birth(), system_clock::time_point{});
  EXPECT_EQ((*log)->open_decisions(), std::vector<CommitRecord>{decision});
  EXPECT_EQ(disk_.list_dir("/log").value(), std::vector<std::string>{"000000000002.xlog"});
  std::string current = disk_.read_file("/log/000000000002.xlog").value();
  EXPECT_EQ(get_u32(current.data() + kHeaderVersionOffset), kFormatVersion);
  log->reset();
  auto reopened = open(/*create=*/false);
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  EXPECT_EQ((*reopened)->birth(), system_clock::time_point{});
  EXPECT_EQ((*reopened)->open_decisions(), std::vector<CommitRecord>{decision});
}

}  // namespace
}  // namespace xatm::internal
