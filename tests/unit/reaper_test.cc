// The reaper (src/tm/reaper.h): a transaction past its deadline is rolled back while its
// application thread does not call the TM, by ending its sessions from other sessions.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "coordinator_fixture.h"

namespace xatm::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

class ReaperTest : public CoordinatorTest {
 protected:
  // Waits up to `limit` for `rm` to have rolled `xid` back; how long it took, or nullopt.
  static std::optional<steady_clock::duration> wait_rolled_back(FakeResource& rm, const Xid& xid,
                                                                steady_clock::duration limit) {
    const auto started = steady_clock::now();
    while (steady_clock::now() - started < limit) {
      if (rm.rolled_back().count(xid) > 0) return steady_clock::now() - started;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return std::nullopt;
  }

  static int count(const std::vector<std::string>& verbs, const std::string& verb) {
    return static_cast<int>(std::count(verbs.begin(), verbs.end(), verb));
  }
};

TEST_F(ReaperTest, AnIdleTransactionPastItsDeadlineIsRolledBackWithinASecond) {
  const auto begun = steady_clock::now();
  Transaction tx = begin_on({"a", "b"}, milliseconds(300));
  const Xid branch_a = tx.xid().branch(0);
  const Xid branch_b = tx.xid().branch(1);
  ASSERT_TRUE(wait_rolled_back(*a_, branch_a, std::chrono::seconds(5)).has_value());
  ASSERT_TRUE(wait_rolled_back(*b_, branch_b, std::chrono::seconds(5)).has_value());
  EXPECT_LT(steady_clock::now() - begun, milliseconds(300 + 1000));
  // Ended from another session of the same data source, never on the branch's own session.
  EXPECT_EQ(count(a_->verbs(), "end_session"), 1);
  EXPECT_EQ(count(a_->verbs(), "rollback"), 0);
  EXPECT_TRUE(tx.active()) << "the application has not called the transaction yet";

  Result<XaConnection*> more = tx.enlist("c");
  EXPECT_EQ(more.status().code(), StatusCode::kAborted);
  EXPECT_NE(more.status().message().find("timed out"), std::string::npos) << more.status().to_string();
  Outcome outcome = tx.commit();
  EXPECT_TRUE(outcome.rolled_back()) << outcome.to_string();
  EXPECT_NE(outcome.reason.find("timed out: past its deadline (its timeout was 300 ms)"), std::string::npos) << outcome.reason;
  ASSERT_EQ(outcome.branches.size(), 2u);
  EXPECT_EQ(outcome.branches[0].last_code, XA_RBTIMEOUT);
  EXPECT_FALSE(outcome.branches[0].pending);

  Stats stats = tm_->stats();
  EXPECT_EQ(stats.timed_out, 1u);
  EXPECT_EQ(stats.rolled_back, 1u);
  EXPECT_EQ(stats.in_flight, 0u);
}

TEST_F(ReaperTest, AnEndedSessionIsNeverPooledAgain) {
  Transaction tx = begin_on({"a"}, milliseconds(100));
  const int reaped_session = a_->calls().back().session;
  ASSERT_TRUE(wait_rolled_back(*a_, tx.xid().branch(0), std::chrono::seconds(5)).has_value());
  EXPECT_TRUE(tx.rollback().rolled_back());
  a_->clear_calls();
  Transaction next = begin_on({"a"});
  for (const fake::Call& call : a_->calls()) {
    if (call.verb == Verb::kStart) {
      EXPECT_NE(call.session, reaped_session);
    }
  }
  EXPECT_TRUE(next.commit().committed());
}

TEST_F(ReaperTest, ASessionThatCouldNotBeEndedIsTriedAgain) {
  a_->script(Verb::kEndSession, {.code = XAER_RMFAIL});
  Transaction tx = begin_on({"a"}, milliseconds(100));
  ASSERT_TRUE(wait_rolled_back(*a_, tx.xid().branch(0), std::chrono::seconds(5)).has_value());
  EXPECT_EQ(count(a_->verbs(), "end_session"), 2);
  EXPECT_TRUE(tx.commit().rolled_back());
}

TEST_F(ReaperTest, ATransactionInsideCommitIsLeftToCommit) {
  // b's vote arrives after the deadline: commit() itself rolls back (the deadline rule); the
  // reaper, finding the transaction's mutex held, touches nothing.
  b_->script(Verb::kPrepare, {.delay = milliseconds(600)});
  Transaction tx = begin_on({"a", "b"}, milliseconds(300));
  Outcome outcome = tx.commit();
  EXPECT_TRUE(outcome.rolled_back()) << outcome.to_string();
  EXPECT_NE(outcome.reason.find("deadline exceeded before the decision"), std::string::npos)
      << outcome.reason;
  EXPECT_EQ(count(a_->verbs(), "end_session"), 0);
  EXPECT_EQ(count(b_->verbs(), "end_session"), 0);
  EXPECT_EQ(tm_->stats().timed_out, 0u);
}

TEST_F(ReaperTest, ATransactionWithinItsTimeoutIsLeftAlone) {
  Transaction tx = begin_on({"a", "b"}, std::chrono::seconds(30));
  std::this_thread::sleep_for(milliseconds(300));  // three reaper passes
  EXPECT_TRUE(tx.commit().committed());
  EXPECT_EQ(count(a_->verbs(), "end_session"), 0);
}

}  // namespace
}  // namespace xatm::testing
