// The TransactionManager over the real file decision log: the directory lock, and what a crash
// at the coordinator's named points leaves on disk.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "testing/crash_points.h"
#include "xatm/decision_log.h"
#include "xatm/fake/fake_resource.h"
#include "xatm/transaction_manager.h"

namespace xatm {
namespace {

using fake::FakeResource;

class FileLogManagerTest : public ::testing::Test {
 public:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "xatm-tm-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Options options() const { return {.node_name = "node-1", .log_dir = dir_ + "/log"}; }

  // Runs one two-branch transaction to commit() on a fresh manager.
  void commit_one_transfer() {
    TransactionManager tm(options());
    auto a = std::make_shared<FakeResource>("a");
    auto b = std::make_shared<FakeResource>("b");
    ASSERT_TRUE(tm.add(a->make_handle()).ok());
    ASSERT_TRUE(tm.add(b->make_handle()).ok());
    ASSERT_TRUE(tm.start().ok());
    Result<Transaction> tx = tm.begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(tx->enlist("a").ok());
    ASSERT_TRUE(tx->enlist("b").ok());
    EXPECT_TRUE(tx->commit().committed());
  }

  std::vector<CommitRecord> open_decisions_on_disk() const {
    Result<std::unique_ptr<DecisionLog>> log =
        open_file_log({.dir = dir_ + "/log", .create_if_missing = true, .node_name = "node-1"});
    EXPECT_TRUE(log.ok()) << log.status().to_string();
    return log.ok() ? (*log)->open_decisions() : std::vector<CommitRecord>{};
  }

  std::string dir_;
};

TEST_F(FileLogManagerTest, SecondManagerOnTheSameLogDirectoryIsRefused) {
  TransactionManager first(options());
  ASSERT_TRUE(first.start().ok());
  TransactionManager second(options());
  Status status = second.start();
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find(dir_), std::string::npos) << status.message();
}

TEST_F(FileLogManagerTest, CommittedTransactionLeavesNoOpenDecision) {
  commit_one_transfer();
  EXPECT_TRUE(open_decisions_on_disk().empty());
}

// Runs commit_one_transfer() in a child process that dies like kill -9 at `point`.
void crash_at(FileLogManagerTest& test, std::string_view point) {
  internal::set_crash_hook([point](std::string_view name) {
    if (name == point) _exit(internal::kCrashExitCode);
  });
  test.commit_one_transfer();
  std::exit(0);  // not reached when the point is hit
}

// "fast" death tests fork without re-running SetUp, so parent and child share the directory;
// no other thread runs at that moment (every earlier manager has joined its workers).
class CrashPointTest : public FileLogManagerTest {};

TEST_F(CrashPointTest, CrashBeforeTheDecisionLeavesNothingToCommit) {
  GTEST_FLAG_SET(death_test_style, "fast");  // the child must share dir_
  EXPECT_EXIT(crash_at(*this, internal::kCrashBeforeDecision),
              ::testing::ExitedWithCode(internal::kCrashExitCode), "");
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/log")) << "the child ran in this directory";
  EXPECT_TRUE(open_decisions_on_disk().empty()) << "presumed abort: no record, no commit";
}

TEST_F(CrashPointTest, CrashRightAfterTheDecisionKeepsItDurable) {
  GTEST_FLAG_SET(death_test_style, "fast");  // the child must share dir_
  EXPECT_EXIT(crash_at(*this, internal::kCrashAfterDecision),
              ::testing::ExitedWithCode(internal::kCrashExitCode), "");
  std::vector<CommitRecord> open = open_decisions_on_disk();
  ASSERT_EQ(open.size(), 1u);
  ASSERT_EQ(open[0].branches.size(), 2u);
  EXPECT_EQ(open[0].branches[0].data_source, "a");
  EXPECT_EQ(open[0].branches[1].data_source, "b");
  EXPECT_EQ(open[0].branches[1].xid, open[0].global.branch(1));
}

TEST_F(CrashPointTest, CrashBeforeDoneKeepsTheDecisionOpen) {
  GTEST_FLAG_SET(death_test_style, "fast");  // the child must share dir_
  EXPECT_EXIT(crash_at(*this, internal::kCrashBeforeDone),
              ::testing::ExitedWithCode(internal::kCrashExitCode), "");
  EXPECT_EQ(open_decisions_on_disk().size(), 1u) << "recovery will find both branches gone";
}

}  // namespace
}  // namespace xatm
