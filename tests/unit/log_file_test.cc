// The file decision log end to end: appends, reopening, locking, permissions, rotation.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "log/file_log.h"
#include "log/posix_env.h"
#include "testing/log/log_test_util.h"
#include "xatm/decision_log.h"

namespace xatm::internal {
namespace {

using testing::segment_files;
using testing::TempDir;
using testing::test_commit;
using testing::test_global;
using testing::test_heuristic;

class LogFileTest : public ::testing::Test {
 protected:
  FileLogOptions options(std::string node = "node-a") const {
    FileLogOptions options;
    options.dir = dir_;
    options.create_if_missing = true;
    options.node_name = std::move(node);
    return options;
  }

  std::unique_ptr<DecisionLog> open_ok(const FileLogOptions& opts) {
    Result<std::unique_ptr<DecisionLog>> log = xatm::open_file_log(opts);
    EXPECT_TRUE(log.ok()) << log.status().to_string();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  std::unique_ptr<DecisionLog> open_ok() { return open_ok(options()); }

  static int mode_of(const std::string& path) {
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
    return static_cast<int>(info.st_mode & 0777);
  }

  TempDir tmp_;
  std::string dir_ = tmp_.path() + "/log";
};

// Reopening, log order, idempotence, the second opener and concurrent appends (with rotations:
// small segments) are the contract every backend passes: decision_log_contract_test.cc. Here:
// what only the file log does.

TEST_F(LogFileTest, FilesAreCreated0600AndDirectory0700) {
  auto log = open_ok();
  ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
  EXPECT_EQ(mode_of(dir_), 0700);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/LOCK")) << "the lock is on the directory itself";
  ASSERT_EQ(segment_files(dir_), std::vector<std::string>{"000000000001.xlog"});
  EXPECT_EQ(mode_of(dir_ + "/000000000001.xlog"), 0600);
}

TEST_F(LogFileTest, SecondOpenerIsRefusedUntilFirstIsDestroyed) {
  auto first = open_ok();
  ASSERT_NE(first, nullptr);
  Result<std::unique_ptr<DecisionLog>> second = xatm::open_file_log(options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find(dir_), std::string::npos) << second.status().message();
  first.reset();
  EXPECT_NE(open_ok(), nullptr);
}

TEST_F(LogFileTest, LogDirectoryOfAnotherNodeIsRefused) {
  ASSERT_TRUE(open_ok(options("node-a"))->log_commit(test_commit(1)).ok());
  Result<std::unique_ptr<DecisionLog>> other = xatm::open_file_log(options("node-b"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kDataLoss);
  const std::string& message = other.status().message();
  EXPECT_NE(message.find("'node-a'"), std::string::npos) << message;
  EXPECT_NE(message.find("'node-b'"), std::string::npos) << message;
  EXPECT_NE(message.find("000000000001.xlog"), std::string::npos) << message;
}

TEST_F(LogFileTest, InvalidNodeNameIsRefused) {
  EXPECT_EQ(xatm::open_file_log(options("bad name")).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LogFileTest, RotationKeepsOpenDecisionsAndDeletesFinishedSegments) {
  FileLogOptions opts = options();
  opts.max_segment_bytes = 1024;
  std::vector<CommitRecord> expected_decisions;
  std::vector<HeuristicRecord> expected_heuristics;
  std::size_t most_files = 0;
  {
    auto log = open_ok(opts);
    for (int n = 0; n < 300; ++n) {
      ASSERT_TRUE(log->log_commit(test_commit(n)).ok());
      if (n % 7 == 0) {
        ASSERT_TRUE(log->log_heuristic(test_heuristic(n)).ok());
      }
      if (n % 10 != 0) {
        ASSERT_TRUE(log->log_done(test_global(n)).ok());
      } else {
        expected_decisions.push_back(test_commit(n));
        if (n % 7 == 0) expected_heuristics.push_back(test_heuristic(n));
      }
      most_files = std::max(most_files, segment_files(dir_).size());
    }
    EXPECT_EQ(log->open_decisions(), expected_decisions);
    EXPECT_TRUE(log->health().ok());
  }
  EXPECT_LE(most_files, 2u);
  std::vector<std::string> files = segment_files(dir_);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_GT(parse_segment_file_name(files[0]).value(), 5u) << "the log never rotated";
  auto log = open_ok(opts);
  EXPECT_EQ(log->open_decisions(), expected_decisions);
  EXPECT_EQ(log->open_heuristics(), expected_heuristics);
  ASSERT_TRUE(log->log_commit(test_commit(1000)).ok());
}

TEST_F(LogFileTest, LeftoverOldSegmentFromInterruptedRotationReplaysCorrectly) {
  FileLogOptions opts = options();
  opts.max_segment_bytes = 512;
  std::string old_copy;
  {
    auto log = open_ok(opts);
    ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
    ASSERT_TRUE(log->log_commit(test_commit(2)).ok());
    old_copy = testing::read_bytes(dir_ + "/000000000001.xlog");
    ASSERT_TRUE(log->log_done(test_global(2)).ok());
    for (int n = 10; segment_files(dir_).front() == "000000000001.xlog"; ++n) {
      ASSERT_TRUE(log->log_commit(test_commit(n)).ok());
      ASSERT_TRUE(log->log_done(test_global(n)).ok());
    }
  }
  // As if the crash came before the old segment was deleted: it holds COMMIT 2 without DONE,
  // and the newer segment has no trace of transaction 2. A finished decision may reappear.
  testing::write_bytes(dir_ + "/000000000001.xlog", old_copy);
  auto log = open_ok(opts);
  std::vector<CommitRecord> decisions = log->open_decisions();
  ASSERT_GE(decisions.size(), 1u);
  EXPECT_EQ(decisions[0], test_commit(1));
  EXPECT_EQ(std::count(decisions.begin(), decisions.end(), test_commit(1)), 1);
}

}  // namespace
}  // namespace xatm::internal
