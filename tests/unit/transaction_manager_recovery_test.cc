// Recovery inside the TransactionManager: at start(), and passes while transactions run.
#include <gtest/gtest.h>

#include "coordinator_fixture.h"
#include "testing/crash_points.h"

namespace xatm::testing {
namespace {

using ManagerRecoveryTest = CoordinatorTest;

Xid earlier_incarnation_xid(std::uint64_t sequence) {
  auto created = std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now() - std::chrono::seconds(5));
  return *make_global_xid({"test-node", created, std::chrono::minutes(10), sequence});
}

TEST_F(ManagerRecoveryTest, StartFinishesWhatAnEarlierIncarnationLeftInDoubt) {
  const Xid decided = earlier_incarnation_xid(1), undecided = earlier_incarnation_xid(2);
  auto log = std::make_unique<RecordingLog>();
  ASSERT_TRUE(log->log_commit({decided, {{"a", decided.branch(0)}, {"b", decided.branch(1)}}}).ok());
  a_->prepare_detached(decided.branch(0));
  b_->prepare_detached(decided.branch(1));
  a_->prepare_detached(undecided.branch(0));
  RecordingLog* log_view = log.get();
  TransactionManager tm(test_options(), std::move(log));
  for (const auto& rm : {a_, b_}) ASSERT_TRUE(tm.add(rm->make_handle()).ok());
  ASSERT_TRUE(tm.start().ok());
  EXPECT_EQ(a_->committed().count(decided.branch(0)), 1u);
  EXPECT_EQ(b_->committed().count(decided.branch(1)), 1u);
  EXPECT_EQ(a_->rolled_back().count(undecided.branch(0)), 1u)
      << "no decision and its TM incarnation is down: presumed abort, at once";
  EXPECT_TRUE(log_view->open_decisions().empty());
}

TEST_F(ManagerRecoveryTest, ARecoveryPassFinishesACommitLeftPending) {
  b_->script_always(Verb::kCommit, {.code = XAER_RMFAIL});
  Transaction tx = begin_on({"a", "b"});
  Outcome outcome = tx.commit();
  ASSERT_TRUE(outcome.committed());
  ASSERT_TRUE(outcome.pending());
  b_->script_always(Verb::kCommit, {});  // b answers again
  Result<RecoveryReport> report = tm_->recover();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(b_->committed().count(tx.xid().branch(1)), 1u);
  EXPECT_EQ(report->decisions_done, 1u);
  EXPECT_TRUE(log_->open_decisions().empty());
}

TEST_F(ManagerRecoveryTest, ARecoveryPassLeavesTransactionsInFlight) {
  Transaction tx = begin_on({"a", "b"});
  std::optional<RecoveryReport> during;
  internal::set_crash_hook([&](std::string_view point) {
    if (point == internal::kCrashAfterDecision) during = tm_->recover().value();
  });
  Outcome outcome = tx.commit();
  internal::set_crash_hook({});
  ASSERT_TRUE(during.has_value());
  ASSERT_EQ(during->branches.size(), 2u);
  for (const InDoubtBranch& branch : during->branches) {
    EXPECT_EQ(branch.action, InDoubtBranch::Action::kLeave);
    EXPECT_EQ(branch.reason, "in flight in this process");
  }
  EXPECT_EQ(outcome.kind, Outcome::Kind::kCommitted) << outcome.to_string();
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "prepare", "recover", "commit"}))
      << "the pass listed the branch; only the live phase 2 committed it";
}

TEST_F(ManagerRecoveryTest, UnreachableDataSourceDoesNotFailStart) {
  auto log = std::make_unique<RecordingLog>();
  TransactionManager tm(test_options(), std::move(log));
  ASSERT_TRUE(tm.add(a_->make_handle()).ok());
  a_->script(Verb::kConnect, {.code = XAER_RMFAIL});
  EXPECT_TRUE(tm.start().ok()) << "the background pass retries it";
  Result<RecoveryReport> report = tm.recover();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->problems.empty()) << "a is reachable again";
}

}  // namespace
}  // namespace xatm::testing
