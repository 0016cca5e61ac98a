// Space: under any steady load the log directory stays within a fixed size, because finished
// segments are deleted and only live records are carried forward. Runs on the in-memory
// PowerLossEnv so that a million transactions take seconds.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "log/file_log.h"
#include "testing/log/power_loss_env.h"
#include "testing/log/log_test_util.h"
#include "xatm/decision_log.h"

namespace xatm::internal {
namespace {

using testing::scaled_rounds;
using testing::test_commit;
using testing::test_global;

class LogSpaceTest : public ::testing::Test {
 protected:
  static constexpr std::uint64_t kSegmentBytes = 64 << 10;

  std::unique_ptr<DecisionLog> open() {
    FileLogOptions options;
    options.dir = "/log";
    options.create_if_missing = true;
    options.node_name = "node-a";
    options.max_segment_bytes = kSegmentBytes;
    Result<std::unique_ptr<DecisionLog>> log = open_file_log(options, disk_);
    EXPECT_TRUE(log.ok()) << log.status().to_string();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  // The directory holds the LOCK file and one segment, two during a rotation.
  void expect_bounded(std::uint64_t max_bytes) {
    std::size_t files = disk_.list_dir("/log").value().size();
    EXPECT_LE(files, 3u);
    std::uint64_t bytes = disk_.dir_bytes("/log");
    EXPECT_LE(bytes, max_bytes);
    most_bytes_ = std::max(most_bytes_, bytes);
  }

  PowerLossEnv disk_;
  std::uint64_t most_bytes_ = 0;
};

TEST_F(LogSpaceTest, MillionTransactionsKeepTheDirectoryUnderTwoSegments) {
  auto log = open();
  // A twentieth in sanitizer builds (Debug with ASan runs about 40 times slower).
  const int transactions = testing::kSanitized ? 50000 : 1000000;
  for (int n = 0; n < transactions; ++n) {
    ASSERT_TRUE(log->log_commit(test_commit(n)).ok());
    ASSERT_TRUE(log->log_done(test_global(n)).ok());
    if (n % 1000 == 0) {
      expect_bounded(2 * kSegmentBytes);
      if (HasFailure()) return;
    }
  }
  auto* file_log = dynamic_cast<FileLog*>(log.get());
  // Two records of about 90 bytes per transaction, 64 KiB per segment.
  EXPECT_GT(file_log->stats().rotations, static_cast<std::uint64_t>(transactions) / 500);
  EXPECT_TRUE(log->open_decisions().empty());
  log.reset();
  EXPECT_TRUE(open()->open_decisions().empty());
  RecordProperty("most_bytes", std::to_string(most_bytes_));
}

TEST_F(LogSpaceTest, SlidingWindowOfOpenDecisionsFromManyThreadsStaysBounded) {
  // Each thread keeps its last 100 decisions open: 400 live COMMIT records (about 36 KiB) are
  // carried into every new segment.
  auto log = open();
  constexpr int kThreads = 4;
  constexpr int kWindow = 100;
  const int per_thread = scaled_rounds(50000);
  std::atomic<bool> failed{false};
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_thread && !failed; ++i) {
        int n = t * 10000000 + i;
        if (!log->log_commit(test_commit(n)).ok()) failed = true;
        if (i >= kWindow && !log->log_done(test_global(n - kWindow)).ok()) failed = true;
      }
      ++finished;
    });
  }
  // Live records fill about half a segment; a segment grows past its size only for them.
  while (finished < kThreads && !HasFailure()) {
    expect_bounded(3 * kSegmentBytes);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (HasFailure()) failed = true;
  for (std::thread& thread : threads) thread.join();
  ASSERT_FALSE(failed);
  expect_bounded(3 * kSegmentBytes);
  EXPECT_EQ(log->open_decisions().size(), static_cast<std::size_t>(kThreads * kWindow));
  std::vector<CommitRecord> open_now = log->open_decisions();
  log.reset();
  EXPECT_EQ(open()->open_decisions(), open_now);
}

TEST_F(LogSpaceTest, LiveRecordsLargerThanASegmentGrowItInsteadOfRotatingEveryBatch) {
  auto log = open();
  // About 200 KiB of live decisions: three segments' worth.
  for (int n = 0; n < 2200; ++n) ASSERT_TRUE(log->log_commit(test_commit(n)).ok());
  auto* file_log = dynamic_cast<FileLog*>(log.get());
  std::uint64_t rotations = file_log->stats().rotations;
  for (int n = 100000; n < 102000; ++n) {
    ASSERT_TRUE(log->log_commit(test_commit(n)).ok());
    ASSERT_TRUE(log->log_done(test_global(n)).ok());
  }
  // Copying the live set at most once per as many appended bytes as it has.
  EXPECT_LE(file_log->stats().rotations - rotations, 3u);
  EXPECT_EQ(log->open_decisions().size(), 2200u);
}

}  // namespace
}  // namespace xatm::internal
