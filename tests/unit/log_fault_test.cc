// The file decision log under injected I/O failures, and the order of its syncs.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "testing/log/fault_injection_env.h"
#include "log/file_log.h"
#include "log/log_record.h"
#include "log/posix_env.h"
#include "log/segment_writer.h"
#include "testing/log/log_test_util.h"
#include "xatm/decision_log.h"

namespace xatm::internal {
namespace {

using testing::TempDir;
using testing::test_commit;
using testing::test_global;
using testing::test_heuristic;

class LogFaultTest : public ::testing::Test {
 protected:
  FileLogOptions options() const {
    FileLogOptions options;
    options.dir = dir_;
    options.create_if_missing = true;
    options.node_name = "node-a";
    return options;
  }

  std::unique_ptr<DecisionLog> open_ok(const FileLogOptions& opts) {
    Result<std::unique_ptr<DecisionLog>> log = open_file_log(opts, env_);
    EXPECT_TRUE(log.ok()) << log.status().to_string();
    return log.ok() ? std::move(log).value() : nullptr;
  }
  std::unique_ptr<DecisionLog> open_ok() { return open_ok(options()); }

  // Every kind of append fails with `expected` now.
  static void expect_sticky(DecisionLog& log, const Status& expected) {
    EXPECT_EQ(log.log_commit(test_commit(100)), expected);
    EXPECT_EQ(log.log_heuristic(test_heuristic(100)), expected);
    EXPECT_EQ(log.log_done(test_global(100)), expected);
    EXPECT_EQ(log.health(), expected);
  }

  static std::ptrdiff_t index_of(const std::vector<EnvCall>& calls, EnvOp op,
                                 std::ptrdiff_t from = 0) {
    auto found = std::find_if(calls.begin() + from, calls.end(),
                              [op](const EnvCall& call) { return call.op == op; });
    return found == calls.end() ? -1 : found - calls.begin();
  }

  TempDir tmp_;
  std::string dir_ = tmp_.path() + "/log";
  FaultInjectionEnv env_{posix_env()};
};

TEST_F(LogFaultTest, FailedFdatasyncFailsThisAndEveryLaterAppend) {
  auto log = open_ok();
  ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
  env_.fail_call(EnvOp::kSyncData);
  Status failed = log->log_commit(test_commit(2));
  EXPECT_EQ(failed.code(), StatusCode::kIOError);
  EXPECT_NE(failed.message().find("000000000001.xlog"), std::string::npos) << failed.message();
  expect_sticky(*log, failed);
  // Only records whose append succeeded count as decided in memory.
  EXPECT_EQ(log->open_decisions(), std::vector<CommitRecord>{test_commit(1)});
  // No retried sync pretends durability: after the failure nothing reaches the file layer.
  env_.clear_calls();
  log->log_commit(test_commit(3)).ignore_error();
  EXPECT_TRUE(env_.calls().empty());
}

TEST_F(LogFaultTest, FailedHeuristicFdatasyncIsSticky) {
  auto log = open_ok();
  env_.fail_call(EnvOp::kSyncData);
  Status failed = log->log_heuristic(test_heuristic(1));
  EXPECT_EQ(failed.code(), StatusCode::kIOError);
  expect_sticky(*log, failed);
}

TEST_F(LogFaultTest, FailedWriteFailsEveryLaterAppendAndReopenDropsTheTornRecord) {
  {
    auto log = open_ok();
    ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
    env_.fail_call(EnvOp::kWrite);  // writes half the record, then fails
    Status failed = log->log_commit(test_commit(2));
    EXPECT_EQ(failed.code(), StatusCode::kIOError);
    EXPECT_NE(failed.message().find("offset"), std::string::npos) << failed.message();
    expect_sticky(*log, failed);
  }
  auto log = open_ok();
  EXPECT_EQ(log->open_decisions(), std::vector<CommitRecord>{test_commit(1)});
  ASSERT_TRUE(log->log_commit(test_commit(3)).ok());
  log.reset();
  std::vector<CommitRecord> expected{test_commit(1), test_commit(3)};
  EXPECT_EQ(open_ok()->open_decisions(), expected);
}

TEST_F(LogFaultTest, FailedWriteOfADeferredDoneIsSticky) {
  auto log = open_ok();
  ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
  env_.fail_call(EnvOp::kWrite);
  ASSERT_TRUE(log->log_done(test_global(1)).ok());  // queued for the next batch
  EXPECT_TRUE(log->open_decisions().empty());       // closed in memory at once
  Status failed = log->log_commit(test_commit(2));  // the batch of DONE 1 and COMMIT 2
  EXPECT_EQ(failed.code(), StatusCode::kIOError);
  expect_sticky(*log, failed);
  log.reset();
  // The failed write left half the batch: the whole DONE, and a torn COMMIT 2 that reopening
  // drops. (Had the DONE been lost too, COMMIT 1 would come back, which recovery tolerates.)
  EXPECT_TRUE(open_ok()->open_decisions().empty());
}

TEST_F(LogFaultTest, CommitRecordIsFdatasyncedBeforeLogCommitReturns) {
  auto log = open_ok();
  env_.clear_calls();
  ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
  std::vector<EnvCall> calls = env_.calls();
  std::string record =
      encode_record(RecordType::kCommit, 1, encode_payload(test_commit(1)).value());
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].op, EnvOp::kWrite);
  EXPECT_EQ(calls[0].data, record);  // the whole record in one write
  EXPECT_EQ(calls[1].op, EnvOp::kSyncData);
  EXPECT_EQ(calls[1].path, calls[0].path);
}

TEST_F(LogFaultTest, HeuristicRecordIsFdatasyncedAndDoneWaitsForTheNextBatch) {
  auto log = open_ok();
  env_.clear_calls();
  ASSERT_TRUE(log->log_heuristic(test_heuristic(1)).ok());
  std::vector<EnvCall> calls = env_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].op, EnvOp::kWrite);
  EXPECT_EQ(calls[1].op, EnvOp::kSyncData);
  env_.clear_calls();
  ASSERT_TRUE(log->log_done(test_global(1)).ok());
  EXPECT_TRUE(env_.calls().empty());  // no write, no sync of its own
  ASSERT_TRUE(log->log_commit(test_commit(2)).ok());
  calls = env_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].op, EnvOp::kWrite);  // DONE and COMMIT in one write
  EXPECT_EQ(
      calls[0].data,
      encode_record(RecordType::kDone, 1, encode_payload(DoneRecord{test_global(1)}).value()) +
          encode_record(RecordType::kCommit, 1, encode_payload(test_commit(2)).value()));
  EXPECT_EQ(calls[1].op, EnvOp::kSyncData);
  // A DONE still queued when the log closes is written, not synced.
  ASSERT_TRUE(log->log_done(test_global(2)).ok());
  env_.clear_calls();
  log.reset();
  calls = env_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].op, EnvOp::kWrite);
  EXPECT_TRUE(open_ok()->open_decisions().empty());
}

TEST_F(LogFaultTest, ManyDeferredDonesAreWrittenWithoutWaitingForACommit) {
  auto log = open_ok();
  for (int n = 0; n < 2000; ++n) ASSERT_TRUE(log->log_commit(test_commit(n)).ok());
  env_.clear_calls();
  for (int n = 0; n < 2000; ++n) ASSERT_TRUE(log->log_done(test_global(n)).ok());
  std::vector<EnvCall> calls = env_.calls();
  ASSERT_FALSE(calls.empty());  // about 70 KiB of DONE records: more than may wait
  for (const EnvCall& call : calls) {
    EXPECT_EQ(call.op, EnvOp::kWrite);  // never synced for DONE records alone
    EXPECT_LE(call.data.size(), FileLog::kMaxDeferredBytes + 64);
  }
}

TEST_F(LogFaultTest, RotationSyncsNewSegmentAndDirectoryBeforeDeletingOld) {
  FileLogOptions opts = options();
  opts.max_segment_bytes = 256;
  auto log = open_ok(opts);
  // Commits until one of them starts a new segment.
  std::vector<CommitRecord> expected;
  std::vector<EnvCall> calls;
  for (int n = 1; n < 20 && index_of(calls, EnvOp::kNewFile) < 0; ++n) {
    env_.clear_calls();
    ASSERT_TRUE(log->log_commit(test_commit(n)).ok());
    expected.push_back(test_commit(n));
    calls = env_.calls();
  }
  std::string old_segment = dir_ + "/000000000001.xlog";
  std::string new_segment = dir_ + "/000000000002.xlog";
  std::ptrdiff_t old_synced = index_of(calls, EnvOp::kSyncData);
  std::ptrdiff_t created = index_of(calls, EnvOp::kNewFile);
  std::ptrdiff_t new_synced = index_of(calls, EnvOp::kSync, created);
  std::ptrdiff_t dir_synced = index_of(calls, EnvOp::kSyncDir, created);
  std::ptrdiff_t carried_synced = index_of(calls, EnvOp::kSync, dir_synced);
  std::ptrdiff_t removed = index_of(calls, EnvOp::kRemoveFile);
  std::ptrdiff_t removal_synced = index_of(calls, EnvOp::kSyncDir, removed);
  ASSERT_TRUE(old_synced >= 0 && created >= 0 && removed >= 0 && removal_synced >= 0);
  EXPECT_EQ(calls[old_synced].path, old_segment);
  EXPECT_LT(old_synced, created);
  EXPECT_EQ(calls[created].path, new_segment);
  EXPECT_LT(created, new_synced);
  EXPECT_LT(new_synced, dir_synced);
  EXPECT_LT(dir_synced, carried_synced);
  EXPECT_LT(carried_synced, removed);
  EXPECT_EQ(calls[removed].path, old_segment);
  // The new COMMIT goes into the new segment, after the rotation, and is synced.
  EXPECT_EQ(calls[calls.size() - 2].op, EnvOp::kWrite);
  EXPECT_EQ(calls[calls.size() - 2].path, new_segment);
  EXPECT_EQ(calls.back().op, EnvOp::kSyncData);
  EXPECT_EQ(log->open_decisions(), expected);
  log.reset();
  EXPECT_EQ(open_ok(opts)->open_decisions(), expected);
}

TEST_F(LogFaultTest, FailedDirectorySyncDuringRotationIsSticky) {
  FileLogOptions opts = options();
  opts.max_segment_bytes = 256;
  auto log = open_ok(opts);
  env_.fail_call(EnvOp::kSyncDir);
  Status status;
  for (int n = 0; n < 20 && status.ok(); ++n) status = log->log_commit(test_commit(n));
  EXPECT_EQ(status.code(), StatusCode::kIOError);
  expect_sticky(*log, status);
}

TEST_F(LogFaultTest, FailedRemovalOfOldSegmentIsRetriedAtNextRotation) {
  FileLogOptions opts = options();
  opts.max_segment_bytes = 256;
  auto log = open_ok(opts);
  env_.fail_call(EnvOp::kRemoveFile);
  for (int n = 0; n < 40; ++n) {
    ASSERT_TRUE(log->log_commit(test_commit(n)).ok());
    ASSERT_TRUE(log->log_done(test_global(n)).ok());
  }
  EXPECT_TRUE(log->health().ok());
  EXPECT_EQ(testing::segment_files(dir_).size(), 1u);
}

TEST_F(LogFaultTest, FailedTruncateOfTornTailFailsOpen) {
  {
    auto log = open_ok();
    ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
    env_.fail_call(EnvOp::kWrite);
    log->log_commit(test_commit(2)).ignore_error();
  }
  env_.fail_call(EnvOp::kTruncate);
  EXPECT_EQ(open_file_log(options(), env_).status().code(), StatusCode::kIOError);
  EXPECT_EQ(open_ok()->open_decisions(), std::vector<CommitRecord>{test_commit(1)});
}

TEST_F(LogFaultTest, NewLogDirectoryAndFirstSegmentAreSynced) {
  auto log = open_ok();
  std::vector<EnvCall> calls = env_.calls();
  std::ptrdiff_t parent_synced = index_of(calls, EnvOp::kSyncDir);
  ASSERT_GE(parent_synced, 0);
  EXPECT_EQ(calls[parent_synced].path, tmp_.path());
  std::ptrdiff_t created = index_of(calls, EnvOp::kNewFile);
  ASSERT_GT(created, parent_synced);
  EXPECT_GT(index_of(calls, EnvOp::kSync, created), created);
  EXPECT_GT(index_of(calls, EnvOp::kSyncDir, created), created);
}

}  // namespace
}  // namespace xatm::internal
