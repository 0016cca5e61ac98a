// The conformance suite, part 2: failures. Killed sessions, deadlocks, a restarted server, and
// the TransactionManager over two data sources of the driver under test.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <future>
#include <stdexcept>

#include "conformance_fixture.h"
#include "testing/crash_points.h"
#include "xatm/transaction_manager.h"

namespace xatm::testing {
namespace {

using FailureConformanceTest = ConformanceTest;

TEST_F(FailureConformanceTest, KilledSessionBeforePrepareLosesTheBranch) {
  auto session = connect();
  const Xid xid = new_xid();
  ASSERT_EQ(session->start(xid).code, XA_OK);
  ASSERT_TRUE(driver().execute(*session, add_one(1)).ok());
  ASSERT_TRUE(driver().kill_session(*session).ok());
  XaReply ended = session->end(xid);
  XaReply vote = ended.ok() ? session->prepare(xid) : ended;
  EXPECT_TRUE(vote.code == XAER_RMFAIL || vote.is_rollback()) << xa_code_name(vote.code);
  EXPECT_FALSE(is_prepared(xid));
  EXPECT_EQ(balance(1), 100);
}

TEST_F(FailureConformanceTest, KilledSessionAfterPrepareLeavesTheBranchCommittable) {
  auto session = connect();
  const Xid xid = new_xid();
  prepare_update(*session, xid, 2);
  ASSERT_TRUE(driver().kill_session(*session).ok());
  XaReply lost = session->commit(xid, false);
  EXPECT_EQ(lost.code, XAER_RMFAIL) << "a lost connection is RMFAIL, never RMERR or OK";
  EXPECT_FALSE(session->usable());
  EXPECT_TRUE(is_prepared(xid)) << "the prepared branch survives its session";
  auto fresh = connect();
  XaReply committed{XAER_RMFAIL, ""};
  for (int attempt = 0; attempt < 50 && committed.code != XA_OK; ++attempt) {
    committed = fresh->commit(xid, false);  // XA_RETRY while the server notices the kill
    if (committed.code != XA_OK) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(committed.code, XA_OK) << committed.detail;
  EXPECT_EQ(balance(2), 101);
}

TEST_F(FailureConformanceTest, RestartedServerKeepsThePreparedBranch) {
  const Xid xid = new_xid();
  {
    auto session = connect();
    prepare_update(*session, xid, 3);
    ASSERT_TRUE(run_test_servers("restart " + driver().server_name()).ok());
    EXPECT_EQ(session->commit(xid, false).code, XAER_RMFAIL) << "the old session died";
  }
  auto fresh = connect_patiently();
  ASSERT_NE(fresh, nullptr);
  EXPECT_TRUE(is_prepared(xid));
  XaReply committed = fresh->commit(xid, false);
  EXPECT_EQ(committed.code, XA_OK) << committed.detail;
  EXPECT_EQ(balance(3), 101);
}

TEST_F(FailureConformanceTest, DeadlockVictimVotesRollback) {
  auto first = connect(), second = connect();
  const Xid x1 = new_xid(), x2 = new_xid();
  ASSERT_EQ(first->start(x1).code, XA_OK);
  ASSERT_EQ(second->start(x2).code, XA_OK);
  ASSERT_TRUE(driver().execute(*first, add_one(1)).ok());
  ASSERT_TRUE(driver().execute(*second, add_one(2)).ok());
  // first waits for row 2; second then asks for row 1: one of them is chosen as the victim.
  std::future<Status> blocked =
      std::async(std::launch::async, [&] { return driver().execute(*first, add_one(2)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Status crossed = driver().execute(*second, add_one(1));
  Status waited = blocked.get();
  ASSERT_NE(crossed.ok(), waited.ok()) << crossed.to_string() << " / " << waited.to_string();
  XaConnection& victim = crossed.ok() ? *first : *second;
  XaConnection& survivor = crossed.ok() ? *second : *first;
  const Xid& victim_xid = crossed.ok() ? x1 : x2;
  const Xid& survivor_xid = crossed.ok() ? x2 : x1;
  XaReply ended = victim.end(victim_xid);
  XaReply vote = ended.ok() ? victim.prepare(victim_xid) : ended;
  EXPECT_TRUE(vote.is_rollback()) << xa_code_name(vote.code) << " " << vote.detail;
  XaReply rolled_back = victim.rollback(victim_xid);
  EXPECT_TRUE(rolled_back.ok() || rolled_back.is_rollback() || rolled_back.code == XAER_NOTA)
      << xa_code_name(rolled_back.code);
  ASSERT_EQ(survivor.end(survivor_xid).code, XA_OK);
  EXPECT_EQ(survivor.commit(survivor_xid, /*one_phase=*/true).code, XA_OK);
  EXPECT_EQ(balance(1) + balance(2), 202) << "only the survivor's two updates remain";
}

// --- the TransactionManager over two data sources on this server ---

class ManagerConformanceTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    std::string pattern = (std::filesystem::temp_directory_path() / "xatm-conf-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    log_dir_ = pattern;
    Options options{.node_name = "conformance-tm", .log_dir = log_dir_};
    options.phase2_retry_window = std::chrono::seconds(10);
    tm_ = std::make_unique<TransactionManager>(options);
    ASSERT_TRUE(tm_->add(driver().make_resource("left")).ok());
    ASSERT_TRUE(tm_->add(driver().make_resource("right")).ok());
    ASSERT_TRUE(tm_->start().ok());
  }
  void TearDown() override {
    internal::set_crash_hook({});
    tm_.reset();
    std::filesystem::remove_all(log_dir_);
  }

  // Begins a transaction that adds one to row 1 through "left" and row 2 through "right".
  Transaction transfer(XaConnection** right_session = nullptr) {
    Result<Transaction> tx = tm_->begin();
    if (!tx.ok()) throw std::runtime_error(tx.status().to_string());
    Result<XaConnection*> left = tx->enlist("left");
    Result<XaConnection*> right = tx->enlist("right");
    if (!left.ok() || !right.ok()) throw std::runtime_error("enlist failed");
    EXPECT_TRUE(driver().execute(**left, add_one(1)).ok());
    EXPECT_TRUE(driver().execute(**right, add_one(2)).ok());
    if (right_session != nullptr) *right_session = *right;
    return std::move(*tx);
  }

  std::string log_dir_;
  std::unique_ptr<TransactionManager> tm_;
};

TEST_F(ManagerConformanceTest, GlobalTransactionCommitsBothBranches) {
  Transaction tx = transfer();
  Outcome outcome = tx.commit();
  EXPECT_TRUE(outcome.committed()) << outcome.to_string();
  EXPECT_EQ(balance(1), 101);
  EXPECT_EQ(balance(2), 101);
  EXPECT_TRUE(tm_->decision_log().open_decisions().empty());
}

TEST_F(ManagerConformanceTest, NoVoteRollsBackEveryBranch) {
  XaConnection* right = nullptr;
  Transaction tx = transfer(&right);
  ASSERT_TRUE(driver().kill_session(*right).ok());  // right can no longer prepare
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kRolledBack) << outcome.to_string();
  EXPECT_EQ(balance(1), 100);
  EXPECT_EQ(balance(2), 100);
  EXPECT_FALSE(outcome.pending());
}

TEST_F(ManagerConformanceTest, KilledConnectionInPhaseTwoIsCommittedOnAFreshSession) {
  XaConnection* right = nullptr;
  Transaction tx = transfer(&right);
  internal::set_crash_hook([&](std::string_view point) {
    if (point == internal::kCrashAfterDecision) {
      EXPECT_TRUE(driver().kill_session(*right).ok());
    }
  });
  Outcome outcome = tx.commit();
  internal::set_crash_hook({});
  EXPECT_TRUE(outcome.committed()) << outcome.to_string();
  EXPECT_FALSE(outcome.pending()) << outcome.to_string();
  EXPECT_EQ(balance(1), 101);
  EXPECT_EQ(balance(2), 101);
  EXPECT_TRUE(tm_->decision_log().open_decisions().empty());
}

}  // namespace
}  // namespace xatm::testing
