// Every XA verb in every branch state of one session, and the plain happy paths
// (docs/driver-mysql.md), against the real MariaDB.
#include <gtest/gtest.h>

#include <ostream>
#include <sstream>

#include "mysql_test_util.h"

namespace xatm::mysql::testing {
namespace {

enum class State { kNone, kActive, kIdle, kPrepared };
enum class Call { kStart, kEnd, kPrepare, kCommit, kCommitOnePhase, kRollback };

struct Case {
  State state;
  Call call;
  int expected;
};

std::ostream& operator<<(std::ostream& out, const Case& c) {
  static const char* const kStates[] = {"None", "Active", "Idle", "Prepared"};
  static const char* const kCalls[] = {"Start",          "End",     "Prepare", "Commit",
                                       "CommitOnePhase", "Rollback"};
  return out << kCalls[static_cast<int>(c.call)] << "From" << kStates[static_cast<int>(c.state)];
}

class MysqlVerbStateTest : public MysqlTest, public ::testing::WithParamInterface<Case> {
 protected:
  // Brings `session` to `state` for `xid` (a read-write branch: it updates row 1).
  void enter(internal::MysqlConnection& session, const Xid& xid, State state) {
    if (state == State::kNone) return;
    ASSERT_EQ(session.start(xid).code, XA_OK);
    ASSERT_FALSE(run(session.sql_connection(), "UPDATE t SET balance = balance + 1 WHERE id = 1"));
    if (state == State::kActive) return;
    ASSERT_EQ(session.end(xid).code, XA_OK);
    if (state == State::kIdle) return;
    ASSERT_EQ(session.prepare(xid).code, XA_OK);
  }

  XaReply call(internal::MysqlConnection& session, const Xid& xid, const Xid& other, Call verb) {
    switch (verb) {
      case Call::kStart: return session.start(other);
      case Call::kEnd: return session.end(xid);
      case Call::kPrepare: return session.prepare(xid);
      case Call::kCommit: return session.commit(xid, false);
      case Call::kCommitOnePhase: return session.commit(xid, true);
      case Call::kRollback: return session.rollback(xid);
    }
    return {};
  }
};

TEST_P(MysqlVerbStateTest, AnswersPerReference) {
  const Case& c = GetParam();
  std::unique_ptr<internal::MysqlConnection> session = open_session(*resource_);
  ASSERT_NE(session, nullptr);
  const Xid xid = test_xid();
  const Xid other = test_xid();
  enter(*session, xid, c.state);
  const XaReply reply = call(*session, xid, other, c.call);
  EXPECT_EQ(reply.code, c.expected) << xa_code_name(reply.code) << ": " << reply.detail;
  // A refused verb leaves the session and its branch as they were.
  EXPECT_TRUE(session->usable()) << reply.detail;
  if (c.call == Call::kStart && reply.ok()) {
    EXPECT_EQ(session->rollback(other).code, XA_OK);
  }
  if (c.state != State::kNone) {  // the branch may still be there: roll it back
    const XaReply cleaned = session->rollback(xid);
    EXPECT_TRUE(cleaned.ok() || cleaned.code == XAER_NOTA) << cleaned.detail;
  }
  // And the session carries a new branch afterwards.
  const Xid next = test_xid();
  EXPECT_EQ(session->start(next).code, XA_OK);
  EXPECT_EQ(session->rollback(next).code, XA_OK);
}

INSTANTIATE_TEST_SUITE_P(
    EveryState, MysqlVerbStateTest,
    ::testing::Values(
        // No branch on the session.
        Case{State::kNone, Call::kStart, XA_OK}, Case{State::kNone, Call::kEnd, XAER_NOTA},
        Case{State::kNone, Call::kPrepare, XAER_NOTA}, Case{State::kNone, Call::kCommit, XAER_NOTA},
        Case{State::kNone, Call::kCommitOnePhase, XAER_NOTA},
        Case{State::kNone, Call::kRollback, XAER_NOTA},
        // ACTIVE (after XA START).
        Case{State::kActive, Call::kStart, XAER_PROTO}, Case{State::kActive, Call::kEnd, XA_OK},
        Case{State::kActive, Call::kPrepare, XAER_PROTO},
        Case{State::kActive, Call::kCommit, XAER_PROTO},
        Case{State::kActive, Call::kCommitOnePhase, XAER_PROTO},
        Case{State::kActive, Call::kRollback, XA_OK},
        // IDLE (after XA END).
        Case{State::kIdle, Call::kStart, XAER_PROTO}, Case{State::kIdle, Call::kEnd, XAER_PROTO},
        Case{State::kIdle, Call::kPrepare, XA_OK}, Case{State::kIdle, Call::kCommit, XAER_PROTO},
        Case{State::kIdle, Call::kCommitOnePhase, XA_OK},
        Case{State::kIdle, Call::kRollback, XA_OK},
        // PREPARED (attached to this session).
        Case{State::kPrepared, Call::kStart, XAER_PROTO},
        Case{State::kPrepared, Call::kEnd, XAER_PROTO},
        Case{State::kPrepared, Call::kPrepare, XAER_PROTO},
        Case{State::kPrepared, Call::kCommit, XA_OK},
        Case{State::kPrepared, Call::kCommitOnePhase, XAER_PROTO},
        Case{State::kPrepared, Call::kRollback, XA_OK}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::ostringstream name;
      name << info.param;
      return name.str();
    });

TEST_F(MysqlTest, IdlePrepareLeavesABranchThatCommitsOnItsSession) {
  std::unique_ptr<internal::MysqlConnection> session = open_session(*resource_);
  ASSERT_NE(session, nullptr);
  const Xid xid = test_xid();
  ASSERT_EQ(session->start(xid).code, XA_OK);
  ASSERT_FALSE(run(session->sql_connection(), "UPDATE t SET balance = 150 WHERE id = 2"));
  ASSERT_EQ(session->end(xid).code, XA_OK);
  ASSERT_EQ(session->prepare(xid).code, XA_OK);
  EXPECT_TRUE(is_listed(*resource_, xid));
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 2"), 100);
  EXPECT_EQ(session->commit(xid, false).code, XA_OK);
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 2"), 150);
  EXPECT_FALSE(is_listed(*resource_, xid));
}

// The session encodes a branch's XID once and reuses it for the branch's next verbs: the next
// branch's verbs must name the next XID, not the last one encoded.
TEST_F(MysqlTest, EachVerbNamesItsOwnXidWhenASessionCarriesBranchesInTurn) {
  std::unique_ptr<internal::MysqlConnection> session = open_session(*resource_);
  ASSERT_NE(session, nullptr);
  const Xid first = test_xid();
  const Xid second = test_xid();
  ASSERT_NE(first, second);
  ASSERT_EQ(session->start(first).code, XA_OK);
  ASSERT_EQ(session->end(first).code, XA_OK);
  ASSERT_EQ(session->prepare(first).code, XA_OK);
  EXPECT_EQ(session->commit(first, false).code, XA_OK);
  EXPECT_FALSE(is_listed(*resource_, first));
  ASSERT_EQ(session->start(second).code, XA_OK);
  ASSERT_EQ(session->end(second).code, XA_OK);
  ASSERT_EQ(session->prepare(second).code, XA_OK);
  // Had the session named `first` again, XA START would have reused that (finished) XID.
  EXPECT_TRUE(is_listed(*resource_, second));
  EXPECT_FALSE(is_listed(*resource_, first));
  EXPECT_EQ(session->commit(second, false).code, XA_OK);
  EXPECT_FALSE(is_listed(*resource_, second));
}

TEST_F(MysqlTest, OnePhaseCommitMakesTheWorkVisible) {
  std::unique_ptr<internal::MysqlConnection> session = open_session(*resource_);
  ASSERT_NE(session, nullptr);
  const Xid xid = test_xid();
  ASSERT_EQ(session->start(xid).code, XA_OK);
  ASSERT_FALSE(run(session->sql_connection(), "UPDATE t SET balance = 170 WHERE id = 3"));
  ASSERT_EQ(session->end(xid).code, XA_OK);
  EXPECT_EQ(session->commit(xid, true).code, XA_OK);
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 3"), 170);
}

TEST_F(MysqlTest, RollbackOfAnActiveBranchEndsItFirst) {
  std::unique_ptr<internal::MysqlConnection> session = open_session(*resource_);
  ASSERT_NE(session, nullptr);
  const Xid xid = test_xid();
  ASSERT_EQ(session->start(xid).code, XA_OK);
  ASSERT_FALSE(run(session->sql_connection(), "UPDATE t SET balance = 0 WHERE id = 1"));
  EXPECT_EQ(session->rollback(xid).code, XA_OK);
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 1"), 100);
}

TEST_F(MysqlTest, UnknownXidOnAFreshSessionIsNota) {
  std::unique_ptr<internal::MysqlConnection> session = open_session(*resource_);
  ASSERT_NE(session, nullptr);
  const Xid xid = test_xid();
  EXPECT_EQ(session->commit(xid, false).code, XAER_NOTA);
  EXPECT_EQ(session->rollback(xid).code, XAER_NOTA);
  EXPECT_EQ(session->forget(xid).code, XAER_NOTA);
  EXPECT_TRUE(session->usable());
}

TEST_F(MysqlTest, DuplicateXidIsDupid) {
  std::unique_ptr<internal::MysqlConnection> first = open_session(*resource_);
  std::unique_ptr<internal::MysqlConnection> second = open_session(*resource_);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  const Xid xid = test_xid();
  ASSERT_EQ(first->start(xid).code, XA_OK);
  EXPECT_EQ(second->start(xid).code, XAER_DUPID);  // active elsewhere
  ASSERT_FALSE(run(first->sql_connection(), "UPDATE t SET balance = 1 WHERE id = 1"));
  ASSERT_EQ(first->end(xid).code, XA_OK);
  ASSERT_EQ(first->prepare(xid).code, XA_OK);
  EXPECT_EQ(second->start(xid).code, XAER_DUPID);  // prepared, attached
  first.reset();                                   // prepared, detached
  EXPECT_EQ(second->start(xid).code, XAER_DUPID);
  EXPECT_TRUE(second->usable());
  // Any session finishes a detached branch (once the server has noticed the disconnect).
  EXPECT_EQ(retry_while_attached([&] { return second->rollback(xid); }).code, XA_OK);
}

}  // namespace
}  // namespace xatm::mysql::testing
