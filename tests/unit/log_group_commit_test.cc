// Group commit: concurrent appenders share one write and one fdatasync per batch, each returns
// once its own record is durable, DONE records ride along unforced, failures reach every
// appender of the batch and stick.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "testing/log/fault_injection_env.h"
#include "log/file_log.h"
#include "log/log_record.h"
#include "testing/log/power_loss_env.h"
#include "log/segment_writer.h"
#include "testing/log/log_test_util.h"
#include "xatm/decision_log.h"

namespace xatm::internal {
namespace {

using namespace std::chrono_literals;
using testing::test_commit;
using testing::test_global;
using testing::test_heuristic;

// Holds the first fdatasync after arm() inside the Env until release(): its batch stays in
// flight while other appenders queue behind it.
class SyncGate {
 public:
  void arm() {
    std::lock_guard lock(mu_);
    armed_ = true;
  }

  void on_call(const EnvCall& call) {
    if (call.op != EnvOp::kSyncData) return;
    std::unique_lock lock(mu_);
    if (!armed_) return;
    armed_ = false;
    held_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
  }

  void wait_until_held() {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, 10s, [this] { return held_; })) << "no fdatasync came";
  }

  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  bool held_ = false;
  bool released_ = false;
};

class LogGroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.set_call_hook([this](const EnvCall& call) { gate_.on_call(call); });
    log_ = open();
  }

  std::unique_ptr<DecisionLog> open() {
    FileLogOptions options;
    options.dir = "/log";
  options.create_if_missing = true;
    options.create_if_missing = true;
    options.node_name = "node-a";
    options.max_segment_bytes = 64 << 20;  // no rotation here
    Result<std::unique_ptr<DecisionLog>> log = open_file_log(options, env_);
    EXPECT_TRUE(log.ok()) << log.status().to_string();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  FileLog& file_log() { return dynamic_cast<FileLog&>(*log_); }

  // Waits until `length` records are queued (the batch in flight included).
  void wait_for_queue(std::size_t length) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (file_log().queue_length() < length) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "appenders did not queue";
      std::this_thread::sleep_for(1ms);
    }
  }

  // Starts a thread that appends COMMIT `n` and stores its status in `*status`.
  std::thread commit_async(CommitRecord record, Status* status) {
    return std::thread(
        [this, record = std::move(record), status] { *status = log_->log_commit(record); });
  }

  // Holds the leader of COMMIT 0 in its fdatasync; returns its thread.
  std::thread hold_leader(Status* status) {
    gate_.arm();
    std::thread leader = commit_async(test_commit(0), status);
    gate_.wait_until_held();
    return leader;
  }

  std::vector<EnvCall> calls_of(EnvOp op) {
    std::vector<EnvCall> found;
    for (EnvCall& call : env_.calls()) {
      if (call.op == op) found.push_back(std::move(call));
    }
    return found;
  }

  static std::size_t framed_size(const CommitRecord& record) {
    return kRecordHeaderSize + encode_payload(record).value().size();
  }

  PowerLossEnv disk_;
  FaultInjectionEnv env_{disk_};
  SyncGate gate_;
  std::unique_ptr<DecisionLog> log_;
};

TEST_F(LogGroupCommitTest, QueuedCommitsShareOneWriteAndOneFdatasync) {
  Status first;
  std::thread leader = hold_leader(&first);
  constexpr int kFollowers = 16;
  std::vector<Status> statuses(kFollowers);
  std::vector<std::thread> followers;
  std::size_t batch_bytes = 0;
  for (int i = 0; i < kFollowers; ++i) {
    followers.push_back(commit_async(test_commit(1 + i), &statuses[i]));
    batch_bytes += framed_size(test_commit(1 + i));
  }
  wait_for_queue(1 + kFollowers);
  env_.clear_calls();
  gate_.release();
  leader.join();
  for (std::thread& follower : followers) follower.join();

  EXPECT_TRUE(first.ok()) << first.to_string();
  for (const Status& status : statuses) EXPECT_TRUE(status.ok()) << status.to_string();
  std::vector<EnvCall> writes = calls_of(EnvOp::kWrite);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].data.size(), batch_bytes);     // every follower's record, in one write
  EXPECT_EQ(calls_of(EnvOp::kSyncData).size(), 2u);  // the leader's, then the batch's
  FileLog::Stats stats = file_log().stats();
  EXPECT_EQ(stats.records, 1u + kFollowers);
  EXPECT_EQ(stats.batches, 2u);
  EXPECT_EQ(stats.synced_batches, 2u);
  EXPECT_EQ(log_->open_decisions().size(), 1u + kFollowers);
}

TEST_F(LogGroupCommitTest, EveryFollowerOfAFailedBatchGetsTheErrorAndItSticks) {
  Status first;
  std::thread leader = hold_leader(&first);
  constexpr int kFollowers = 8;
  std::vector<Status> statuses(kFollowers);
  std::vector<std::thread> followers;
  for (int i = 0; i < kFollowers; ++i) {
    followers.push_back(commit_async(test_commit(1 + i), &statuses[i]));
  }
  wait_for_queue(1 + kFollowers);
  env_.fail_call(EnvOp::kSyncData, /*skip=*/1);  // not the held one: the followers' batch
  gate_.release();
  leader.join();
  for (std::thread& follower : followers) follower.join();

  EXPECT_TRUE(first.ok()) << first.to_string();
  EXPECT_EQ(statuses[0].code(), StatusCode::kIOError);
  for (const Status& status : statuses) EXPECT_EQ(status, statuses[0]);
  EXPECT_EQ(log_->health(), statuses[0]);
  EXPECT_EQ(log_->log_commit(test_commit(100)), statuses[0]);
  EXPECT_EQ(log_->log_done(test_global(0)), statuses[0]);
  EXPECT_EQ(log_->open_decisions(), std::vector<CommitRecord>{test_commit(0)});
}

TEST_F(LogGroupCommitTest, FailedLeaderSyncFailsQueuedRecordsWithoutWritingThem) {
  Status first;
  env_.fail_call(EnvOp::kSyncData);  // the held one
  std::thread leader = hold_leader(&first);
  constexpr int kFollowers = 8;
  std::vector<Status> statuses(kFollowers);
  std::vector<std::thread> followers;
  for (int i = 0; i < kFollowers; ++i) {
    followers.push_back(commit_async(test_commit(1 + i), &statuses[i]));
  }
  ASSERT_TRUE(log_->log_done(test_global(0)).ok());  // queued, nobody waits for it
  wait_for_queue(2 + kFollowers);
  env_.clear_calls();
  gate_.release();
  leader.join();
  for (std::thread& follower : followers) follower.join();

  EXPECT_EQ(first.code(), StatusCode::kIOError);
  for (const Status& status : statuses) EXPECT_EQ(status, first);
  EXPECT_TRUE(calls_of(EnvOp::kWrite).empty());  // nothing after a failed sync
  EXPECT_EQ(file_log().queue_length(), 0u);
  EXPECT_TRUE(log_->open_decisions().empty());
}

TEST_F(LogGroupCommitTest, DoneReturnsWithoutWaitingAndGoesWithTheNextBatch) {
  ASSERT_TRUE(log_->log_commit(test_commit(5)).ok());
  Status first;
  std::thread leader = hold_leader(&first);
  // The leader is inside its fdatasync: a DONE must not wait for it.
  auto done = std::async(std::launch::async, [this] { return log_->log_done(test_global(5)); });
  ASSERT_EQ(done.wait_for(10s), std::future_status::ready) << "log_done waited for a sync";
  EXPECT_TRUE(done.get().ok());
  EXPECT_TRUE(log_->open_decisions().empty());  // closed in memory already (0 is in flight)
  env_.clear_calls();
  gate_.release();
  leader.join();
  ASSERT_TRUE(first.ok()) << first.to_string();
  // Nobody waits for the DONE: no batch of its own.
  std::vector<EnvCall> calls = env_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].op, EnvOp::kSyncData);  // the held one
  EXPECT_EQ(log_->open_decisions(), std::vector<CommitRecord>{test_commit(0)});

  env_.clear_calls();
  ASSERT_TRUE(log_->log_commit(test_commit(6)).ok());
  std::vector<EnvCall> writes = calls_of(EnvOp::kWrite);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(
      writes[0].data,
      encode_record(RecordType::kDone, 1, encode_payload(DoneRecord{test_global(5)}).value()) +
          encode_record(RecordType::kCommit, 1, encode_payload(test_commit(6)).value()));
  EXPECT_EQ(calls_of(EnvOp::kSyncData).size(), 1u);
}

TEST_F(LogGroupCommitTest, DoneRidesInTheBatchOfQueuedCommits) {
  ASSERT_TRUE(log_->log_commit(test_commit(5)).ok());
  Status first;
  std::thread leader = hold_leader(&first);
  ASSERT_TRUE(log_->log_done(test_global(5)).ok());
  constexpr int kFollowers = 4;
  std::vector<Status> statuses(kFollowers);
  std::vector<std::thread> followers;
  std::size_t batch_bytes =
      encode_record(RecordType::kDone, 1, encode_payload(DoneRecord{test_global(5)}).value())
          .size();
  for (int i = 0; i < kFollowers; ++i) {
    followers.push_back(commit_async(test_commit(1 + i), &statuses[i]));
    batch_bytes += framed_size(test_commit(1 + i));
  }
  wait_for_queue(2 + kFollowers);
  env_.clear_calls();
  gate_.release();
  leader.join();
  for (std::thread& follower : followers) follower.join();

  for (const Status& status : statuses) EXPECT_TRUE(status.ok()) << status.to_string();
  std::vector<EnvCall> writes = calls_of(EnvOp::kWrite);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].data.size(), batch_bytes);
  EXPECT_EQ(calls_of(EnvOp::kSyncData).size(), 2u);
  EXPECT_EQ(log_->open_decisions().size(), 1u + kFollowers);
}

TEST_F(LogGroupCommitTest, ConflictingCommitIsRefusedWhileTheFirstIsQueued) {
  Status first;
  std::thread leader = hold_leader(&first);
  Status queued;
  Status duplicate;
  std::thread follower = commit_async(test_commit(1), &queued);
  wait_for_queue(2);
  EXPECT_EQ(log_->log_commit(test_commit(1, 3)).code(), StatusCode::kAlreadyExists);
  // An identical one waits for durability like any other.
  std::thread second = commit_async(test_commit(1), &duplicate);
  wait_for_queue(3);
  gate_.release();
  leader.join();
  follower.join();
  second.join();
  EXPECT_TRUE(queued.ok() && duplicate.ok()) << queued.to_string() << duplicate.to_string();
  std::vector<CommitRecord> expected{test_commit(0), test_commit(1)};
  EXPECT_EQ(log_->open_decisions(), expected);
  log_.reset();
  EXPECT_EQ(open()->open_decisions(), expected);
}

TEST_F(LogGroupCommitTest, BatchesAreBoundedInBytes) {
  // COMMIT records of about 300 KiB: data source names of 60000 bytes.
  auto big_commit = [](int n) {
    CommitRecord record = test_commit(n, 5);
    for (std::size_t i = 0; i < record.branches.size(); ++i) {
      record.branches[i].data_source = std::string(60000, static_cast<char>('a' + i));
    }
    return record;
  };
  Status first;
  std::thread leader = hold_leader(&first);
  constexpr int kFollowers = 8;
  std::vector<Status> statuses(kFollowers);
  std::vector<std::thread> followers;
  for (int i = 0; i < kFollowers; ++i) {
    followers.push_back(commit_async(big_commit(1 + i), &statuses[i]));
  }
  wait_for_queue(1 + kFollowers);
  env_.clear_calls();
  gate_.release();
  leader.join();
  for (std::thread& follower : followers) follower.join();

  for (const Status& status : statuses) EXPECT_TRUE(status.ok()) << status.to_string();
  std::vector<EnvCall> writes = calls_of(EnvOp::kWrite);
  EXPECT_GE(writes.size(), 3u);  // 8 x 300 KiB in batches of at most 1 MiB
  for (const EnvCall& write : writes) EXPECT_LE(write.data.size(), FileLog::kMaxBatchBytes);
  EXPECT_EQ(calls_of(EnvOp::kSyncData).size(), writes.size() + 1);
}

TEST_F(LogGroupCommitTest, ManyThreadsWithRotationsLoseNothing) {
  log_.reset();
  FileLogOptions options;
  options.dir = "/log";
  options.create_if_missing = true;
  options.node_name = "node-a";
  options.max_segment_bytes = 2048;
  env_.set_recording(false);
  log_ = std::move(open_file_log(options, env_)).value();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int n = t * 10000 + i;
        EXPECT_TRUE(log_->log_commit(test_commit(n)).ok());
        if (i % 3 == 0) {
          EXPECT_TRUE(log_->log_heuristic(test_heuristic(n)).ok());
        }
        if (i % 4 != 0) {
          EXPECT_TRUE(log_->log_done(test_global(n)).ok());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<CommitRecord> expected;
  for (const CommitRecord& record : log_->open_decisions()) expected.push_back(record);
  EXPECT_EQ(expected.size(), static_cast<std::size_t>(kThreads * kPerThread / 4));
  EXPECT_GT(file_log().stats().rotations, 10u);
  std::vector<HeuristicRecord> heuristics = log_->open_heuristics();
  log_.reset();
  log_ = std::move(open_file_log(options, env_)).value();
  EXPECT_EQ(log_->open_decisions(), expected);
  EXPECT_EQ(log_->open_heuristics(), heuristics);
}

}  // namespace
}  // namespace xatm::internal
