// A Transaction that outlives its TransactionManager, and a moved-from Transaction: both are
// usage errors that must end in a clear answer and a rollback, never in undefined behaviour
// or an in-doubt `unknown`.
#include <gtest/gtest.h>

#include <thread>

#include "coordinator_fixture.h"

namespace xatm::testing {
namespace {

using TransactionLifetimeTest = CoordinatorTest;

// The destructor once left the Transaction with a dangling coordinator: a later commit()
// prepared both branches and aborted the process, leaving two prepared branches.
TEST_F(TransactionLifetimeTest, ManagerDestroyedBeforeCommitRollsBackAndCommitSaysSo) {
  Transaction tx = begin_on({"a", "b"});
  const Xid global = tx.xid();
  tm_.reset();
  EXPECT_FALSE(tx.active());
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kRolledBack) << outcome.to_string();
  EXPECT_NE(outcome.reason.find("TransactionManager was destroyed"), std::string::npos)
      << outcome.to_string();
  EXPECT_EQ(a_->rolled_back().count(global.branch(0)), 1u);
  EXPECT_EQ(b_->rolled_back().count(global.branch(1)), 1u);
  EXPECT_TRUE(a_->prepared().empty());
  EXPECT_TRUE(b_->prepared().empty());
  EXPECT_EQ(tx.rollback().kind, Outcome::Kind::kRolledBack);
  Result<XaConnection*> enlisted = tx.enlist("a");
  EXPECT_EQ(enlisted.status().code(), StatusCode::kAborted) << enlisted.status().to_string();
}

// ... and without commit(), the Transaction's destructor waited on a freed mutex.
TEST_F(TransactionLifetimeTest, TransactionDestroyedAfterItsManagerDoesNotTouchIt) {
  {
    Transaction tx = begin_on({"a", "b"});
    tm_.reset();
  }  // must return, touching nothing freed (the ASan and TSan jobs run this)
  EXPECT_EQ(a_->rolled_back().size(), 1u);
  EXPECT_EQ(b_->rolled_back().size(), 1u);
}

TEST_F(TransactionLifetimeTest, ManagerDestroyedWhileAnotherThreadCommitsWaitsForIt) {
  // b answers its prepare only after a while: the destructor runs meanwhile and must wait.
  b_->script(Verb::kPrepare, {.delay = std::chrono::milliseconds(100)});
  Transaction tx = begin_on({"a", "b"});
  Outcome outcome;
  std::thread committer([&] { outcome = tx.commit(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  tm_.reset();
  committer.join();
  EXPECT_TRUE(outcome.committed()) << outcome.to_string();
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kCommitted);
  EXPECT_TRUE(a_->prepared().empty());
  EXPECT_TRUE(b_->prepared().empty());
}

TEST_F(TransactionLifetimeTest, MovedFromTransactionAnswersAUsageErrorNeverUnknown) {
  Transaction tx = begin_on({"a"});
  Transaction other = std::move(tx);
  Outcome committed = tx.commit();  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(committed.kind, Outcome::Kind::kUsageError) << committed.to_string();
  EXPECT_NE(committed.reason.find("moved-from"), std::string::npos) << committed.to_string();
  EXPECT_EQ(tx.rollback().kind, Outcome::Kind::kUsageError);
  EXPECT_FALSE(tx.active());
  EXPECT_EQ(tx.xid().format_id(), 0);  // no transaction's XID, and no crash
  EXPECT_EQ(tx.enlist("a").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(other.active());
  EXPECT_TRUE(other.commit().committed());
}

}  // namespace
}  // namespace xatm::testing
