// TransactionObserver (xatm/observer.h) and the gauges of TransactionManager::stats().
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "coordinator_fixture.h"
#include "xatm/observer.h"

namespace xatm::testing {
namespace {

using std::chrono::milliseconds;

class RecordingObserver : public TransactionObserver {
 public:
  void ended(const EndedTransaction& transaction) noexcept override {
    std::lock_guard lock(mutex_);
    ended_.push_back(transaction);
  }
  std::vector<EndedTransaction> ended() const {
    std::lock_guard lock(mutex_);
    return ended_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<EndedTransaction> ended_;
};

class ObserverTest : public CoordinatorTest {
 protected:
  void SetUp() override {
    auto log = std::make_unique<RecordingLog>();
    log_ = log.get();
    tm_ = std::make_unique<TransactionManager>(test_options(), std::move(log));
    for (const auto& rm : {a_, b_, c_}) ASSERT_TRUE(tm_->add(rm->make_handle()).ok());
    ASSERT_TRUE(tm_->add_observer(observer_).ok());
    ASSERT_TRUE(tm_->start().ok());
  }

  std::shared_ptr<RecordingObserver> observer_ = std::make_shared<RecordingObserver>();
};

TEST_F(ObserverTest, EachEndedTransactionIsReportedWithItsPathAndSteps) {
  b_->script(Verb::kPrepare, {.delay = milliseconds(20)});
  b_->script(Verb::kCommit, {.delay = milliseconds(20)});
  EXPECT_TRUE(begin_on({"a", "b"}).commit().committed());
  EXPECT_TRUE(begin_on({"a"}).commit().committed());
  EXPECT_TRUE(begin_on({"a", "b"}).rollback().rolled_back());
  b_->script(Verb::kPrepare, {.code = XA_RBDEADLOCK});
  EXPECT_TRUE(begin_on({"a", "b"}).commit().rolled_back());

  const std::vector<EndedTransaction> ended = observer_->ended();
  ASSERT_EQ(ended.size(), 4u);
  const EndedTransaction& two_phase = ended[0];
  EXPECT_EQ(two_phase.path, CommitPath::kTwoPhase);
  EXPECT_EQ(two_phase.kind, Outcome::Kind::kCommitted);
  EXPECT_EQ(two_phase.branches, 2u);
  EXPECT_GE(two_phase.prepare, milliseconds(20));
  EXPECT_GT(two_phase.decision.count(), 0);
  EXPECT_GE(two_phase.commit, milliseconds(20));
  EXPECT_GE(two_phase.total, two_phase.prepare + two_phase.decision + two_phase.commit);

  EXPECT_EQ(ended[1].path, CommitPath::kOnePhase);
  EXPECT_EQ(ended[1].kind, Outcome::Kind::kCommitted);
  EXPECT_EQ(ended[1].prepare.count(), 0);
  EXPECT_GT(ended[1].commit.count(), 0);

  EXPECT_EQ(ended[2].path, CommitPath::kRollback);
  EXPECT_EQ(ended[2].kind, Outcome::Kind::kRolledBack);
  EXPECT_GT(ended[2].total.count(), 0);

  EXPECT_EQ(ended[3].path, CommitPath::kTwoPhase);  // a no vote keeps the path it took
  EXPECT_EQ(ended[3].kind, Outcome::Kind::kRolledBack);
  EXPECT_EQ(ended[3].decision.count(), 0);
}

TEST_F(ObserverTest, ObserversAreAddedBeforeStartOnly) {
  EXPECT_EQ(tm_->add_observer(std::make_shared<RecordingObserver>()).code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(ObserverTest, InFlightCountsTransactionsBegunAndNotEnded) {
  Transaction first = begin_on({"a"});
  Transaction second = begin_on({"b"});
  EXPECT_EQ(tm_->stats().in_flight, 2u);
  EXPECT_TRUE(first.commit().committed());
  EXPECT_EQ(tm_->stats().in_flight, 1u);
  EXPECT_TRUE(second.rollback().rolled_back());
  EXPECT_EQ(tm_->stats().in_flight, 0u);
}

TEST_F(ObserverTest, InDoubtGaugesShowWhatTheLastRecoveryPassLeft) {
  EXPECT_EQ(tm_->stats().in_doubt_branches, 0u);
  EXPECT_FALSE(tm_->stats().oldest_in_doubt_created.has_value());
  // A branch of this node that may still be in flight (a sequence number this incarnation could
  // issue, within its timeout): recovery leaves it.
  const auto created = std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now());
  const Xid prepared =
      make_global_xid({"test-node", created, std::chrono::seconds(60), 1ULL << 40})->branch(0);
  a_->prepare_detached(prepared);
  Result<RecoveryReport> report = tm_->recover();
  ASSERT_TRUE(report.ok());
  Stats stats = tm_->stats();
  EXPECT_EQ(stats.in_doubt_branches, 1u);
  ASSERT_TRUE(stats.oldest_in_doubt_created.has_value());
  EXPECT_EQ(*stats.oldest_in_doubt_created, created);
  EXPECT_EQ(stats.recovered_branches, 0u);
}

TEST_F(ObserverTest, RecoveredBranchesCountWhatRecoveryResolved) {
  // A branch of an earlier incarnation (sequence 0, below this one's first) with no decision:
  // presumed aborted.
  const auto created = std::chrono::system_clock::now() - std::chrono::hours(1);
  a_->prepare_detached(make_global_xid({"test-node", std::chrono::time_point_cast<milliseconds>(created),
                                        std::chrono::seconds(1), 0})
                           ->branch(0));
  ASSERT_TRUE(tm_->recover().ok());
  Stats stats = tm_->stats();
  EXPECT_EQ(stats.recovered_branches, 1u);
  EXPECT_EQ(stats.in_doubt_branches, 0u);
}

}  // namespace
}  // namespace xatm::testing
