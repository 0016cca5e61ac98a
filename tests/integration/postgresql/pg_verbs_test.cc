// Each XA verb of the PostgreSQL driver in each state a branch can be in, against the real
// server: the answers of docs/driver-postgresql.md and the state the server is left in.
#include <gtest/gtest.h>
#include <libpq-events.h>
#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <thread>

#include "pg_test_util.h"
#include "xatm/xa.h"

namespace xatm::postgresql::testing {
namespace {

class PgVerbsTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    session_ = open_session();
    ASSERT_NE(session_, nullptr);
  }

  // start + UPDATE row `id` (+10) + end.
  void write_branch(XaConnection& session, const Xid& xid, int id = 1) {
    ASSERT_TRUE(is_xa(session.start(xid), XA_OK));
    ASSERT_TRUE(
        run(session, "UPDATE t SET balance = balance + 10 WHERE id = " + std::to_string(id)).ok());
    ASSERT_TRUE(is_xa(session.end(xid), XA_OK));
  }

  std::unique_ptr<XaConnection> session_;
  const Xid xid_ = fresh_xid();
};

TEST_F(PgVerbsTest, TwoPhaseCommitOnTheSameSession) {
  write_branch(*session_, xid_);
  EXPECT_TRUE(is_xa(session_->prepare(xid_), XA_OK));
  EXPECT_TRUE(is_prepared(xid_));
  EXPECT_EQ(PQtransactionStatus(native(*session_)), PQTRANS_IDLE);  // free after PREPARE
  EXPECT_EQ(balance(1), 100);
  EXPECT_TRUE(is_xa(session_->commit(xid_, false), XA_OK));
  EXPECT_EQ(balance(1), 110);
  EXPECT_FALSE(is_prepared(xid_));
  EXPECT_TRUE(is_xa(session_->commit(xid_, false), XAER_NOTA));  // idempotence: already done
  EXPECT_TRUE(session_->usable());
}

TEST_F(PgVerbsTest, TwoPhaseCommitFromAnotherSession) {
  write_branch(*session_, xid_);
  ASSERT_TRUE(is_xa(session_->prepare(xid_), XA_OK));
  std::unique_ptr<XaConnection> other = open_session();
  EXPECT_TRUE(is_xa(other->commit(xid_, false), XA_OK));
  EXPECT_EQ(balance(1), 110);
  EXPECT_TRUE(is_xa(other->commit(xid_, false), XAER_NOTA));
  EXPECT_TRUE(is_xa(session_->commit(xid_, false), XAER_NOTA));  // the server says 42704
}

TEST_F(PgVerbsTest, OnePhaseCommit) {
  write_branch(*session_, xid_);
  EXPECT_TRUE(is_xa(session_->commit(xid_, true), XA_OK));
  EXPECT_EQ(balance(1), 110);
  EXPECT_FALSE(is_prepared(xid_));
  EXPECT_EQ(PQtransactionStatus(native(*session_)), PQTRANS_IDLE);
}

TEST_F(PgVerbsTest, RollbackOfAnActiveBranch) {
  ASSERT_TRUE(is_xa(session_->start(xid_), XA_OK));
  ASSERT_TRUE(run(*session_, "UPDATE t SET balance = 0 WHERE id = 1").ok());
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XA_OK));
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XA_OK));  // idempotent, no SQL
  EXPECT_EQ(balance(1), 100);
  EXPECT_EQ(PQtransactionStatus(native(*session_)), PQTRANS_IDLE);
}

TEST_F(PgVerbsTest, RollbackOfAnEndedBranch) {
  write_branch(*session_, xid_);
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XA_OK));
  EXPECT_EQ(balance(1), 100);
  EXPECT_TRUE(is_xa(session_->start(fresh_xid()), XA_OK));  // the session is reusable
}

TEST_F(PgVerbsTest, RollbackOfAPreparedBranchHereAndElsewhere) {
  write_branch(*session_, xid_);
  ASSERT_TRUE(is_xa(session_->prepare(xid_), XA_OK));
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XA_OK));
  EXPECT_FALSE(is_prepared(xid_));
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XAER_NOTA));

  const Xid second = fresh_xid();
  write_branch(*session_, second);
  ASSERT_TRUE(is_xa(session_->prepare(second), XA_OK));
  std::unique_ptr<XaConnection> other = open_session();
  EXPECT_TRUE(is_xa(other->rollback(second), XA_OK));
  EXPECT_TRUE(is_xa(other->rollback(second), XAER_NOTA));
  EXPECT_EQ(balance(1), 100);
}

TEST_F(PgVerbsTest, UnknownXidIsNotaForCommitAndRollback) {
  EXPECT_TRUE(is_xa(session_->commit(xid_, false), XAER_NOTA));
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XAER_NOTA));
  EXPECT_TRUE(is_xa(session_->end(xid_), XAER_NOTA));
  EXPECT_TRUE(is_xa(session_->prepare(xid_), XAER_NOTA));
  EXPECT_TRUE(is_xa(session_->commit(xid_, true), XAER_NOTA));
  EXPECT_TRUE(session_->usable());
}

TEST_F(PgVerbsTest, StartOnASessionThatCarriesABranchIsProto) {
  ASSERT_TRUE(is_xa(session_->start(xid_), XA_OK));
  EXPECT_TRUE(is_xa(session_->start(fresh_xid()), XAER_PROTO));
  ASSERT_TRUE(is_xa(session_->end(xid_), XA_OK));
  EXPECT_TRUE(is_xa(session_->start(fresh_xid()), XAER_PROTO));
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XA_OK));
}

TEST_F(PgVerbsTest, StartWithLocalWorkOpenIsOutside) {
  ASSERT_TRUE(run(*session_, "BEGIN").ok());
  EXPECT_TRUE(is_xa(session_->start(xid_), XAER_OUTSIDE));
  ASSERT_TRUE(run(*session_, "ROLLBACK").ok());
  EXPECT_TRUE(is_xa(session_->start(xid_), XA_OK));
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XA_OK));
}

TEST_F(PgVerbsTest, ASessionIsFreeForANewBranchRightAfterPrepare) {
  write_branch(*session_, xid_, 1);
  ASSERT_TRUE(is_xa(session_->prepare(xid_), XA_OK));
  EXPECT_TRUE(is_xa(session_->start(xid_), XAER_DUPID));
  const Xid next = fresh_xid();
  write_branch(*session_, next, 2);
  ASSERT_TRUE(is_xa(session_->prepare(next), XA_OK));
  // The session encodes a branch's gid once; a verb naming another XID names that one.
  EXPECT_TRUE(is_xa(session_->commit(xid_, false), XA_OK));
  EXPECT_FALSE(is_prepared(xid_));
  EXPECT_TRUE(is_prepared(next));
  EXPECT_TRUE(is_xa(session_->commit(next, false), XA_OK));
  EXPECT_EQ(balance(1), 110);
  EXPECT_EQ(balance(2), 110);
}

TEST_F(PgVerbsTest, CallOrderErrorsAreProto) {
  ASSERT_TRUE(is_xa(session_->start(xid_), XA_OK));
  EXPECT_TRUE(is_xa(session_->prepare(xid_), XAER_PROTO));        // before end
  EXPECT_TRUE(is_xa(session_->commit(xid_, true), XAER_PROTO));   // before end
  EXPECT_TRUE(is_xa(session_->commit(xid_, false), XAER_PROTO));  // not prepared
  ASSERT_TRUE(is_xa(session_->end(xid_), XA_OK));
  EXPECT_TRUE(is_xa(session_->end(xid_), XAER_PROTO));            // twice
  EXPECT_TRUE(is_xa(session_->commit(xid_, false), XAER_PROTO));  // not prepared
  EXPECT_TRUE(is_xa(session_->end(fresh_xid()), XAER_NOTA));      // not this session's
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XA_OK));
}

TEST_F(PgVerbsTest, FinishingAnotherBranchWhileOneIsOpenIsRefusedWithoutHarm) {
  std::unique_ptr<XaConnection> other = open_session();
  write_branch(*other, xid_, 1);
  ASSERT_TRUE(is_xa(other->prepare(xid_), XA_OK));
  const Xid mine = fresh_xid();
  ASSERT_TRUE(is_xa(session_->start(mine), XA_OK));
  ASSERT_TRUE(run(*session_, "UPDATE t SET balance = balance + 1 WHERE id = 2").ok());
  // COMMIT PREPARED inside a transaction block would fail with 25001 and abort `mine`.
  EXPECT_TRUE(is_xa(session_->commit(xid_, false), XAER_PROTO));
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XAER_PROTO));
  EXPECT_TRUE(is_xa(session_->end(mine), XA_OK));
  EXPECT_TRUE(is_xa(session_->commit(mine, true), XA_OK));
  EXPECT_TRUE(is_xa(other->commit(xid_, false), XA_OK));
  EXPECT_EQ(balance(1), 110);
  EXPECT_EQ(balance(2), 101);
}

TEST_F(PgVerbsTest, ForgetIsNota) { EXPECT_TRUE(is_xa(session_->forget(xid_), XAER_NOTA)); }

TEST_F(PgVerbsTest, FailedStatementMakesEndAnswerRollbackAndRollsBackAtOnce) {
  ASSERT_TRUE(is_xa(session_->start(xid_), XA_OK));
  ASSERT_TRUE(run(*session_, "UPDATE t SET balance = 0 WHERE id = 1").ok());
  EXPECT_EQ(failing_sqlstate(*session_, "SELECT 1/0"), "22012");
  EXPECT_EQ(failing_sqlstate(*session_, "SELECT 1"), "25P02");  // ignored: echoes the failure
  EXPECT_TRUE(is_xa(session_->end(xid_), XA_RBROLLBACK));
  EXPECT_EQ(PQtransactionStatus(native(*session_)), PQTRANS_IDLE);  // ROLLBACK sent already
  EXPECT_TRUE(is_xa(session_->prepare(xid_), XA_RBROLLBACK));
  EXPECT_TRUE(is_xa(session_->commit(xid_, true), XA_RBROLLBACK));
  EXPECT_TRUE(is_xa(session_->commit(xid_, false), XAER_NOTA));
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XA_OK));
  EXPECT_EQ(balance(1), 100);
  EXPECT_TRUE(session_->usable());
}

TEST_F(PgVerbsTest, FailureUndoneWithASavepointDoesNotFailTheBranch) {
  ASSERT_TRUE(is_xa(session_->start(xid_), XA_OK));
  ASSERT_TRUE(run(*session_, "SAVEPOINT s").ok());
  EXPECT_EQ(failing_sqlstate(*session_, "INSERT INTO t VALUES (1, 0)"), "23505");
  ASSERT_TRUE(run(*session_, "ROLLBACK TO SAVEPOINT s").ok());
  ASSERT_TRUE(run(*session_, "UPDATE t SET balance = 7 WHERE id = 1").ok());
  EXPECT_TRUE(is_xa(session_->end(xid_), XA_OK));
  EXPECT_TRUE(is_xa(session_->commit(xid_, true), XA_OK));
  EXPECT_EQ(balance(1), 7);
}

TEST_F(PgVerbsTest, TheApplicationCommittingItselfIsAProtocolError) {
  ASSERT_TRUE(is_xa(session_->start(xid_), XA_OK));
  ASSERT_TRUE(run(*session_, "UPDATE t SET balance = 1 WHERE id = 1").ok());
  ASSERT_TRUE(run(*session_, "COMMIT").ok());  // escapes the global transaction
  ASSERT_TRUE(run(*session_, "BEGIN").ok());
  ASSERT_TRUE(run(*session_, "UPDATE t SET balance = 2 WHERE id = 2").ok());
  EXPECT_TRUE(is_xa(session_->end(xid_), XAER_PROTO));
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XA_OK));
  EXPECT_EQ(balance(2), 100);  // what came after the COMMIT was discarded
  EXPECT_EQ(PQtransactionStatus(native(*session_)), PQTRANS_IDLE);
}

TEST_F(PgVerbsTest, TheApplicationRollingBackItselfIsAProtocolError) {
  ASSERT_TRUE(is_xa(session_->start(xid_), XA_OK));
  ASSERT_TRUE(run(*session_, "ROLLBACK").ok());
  EXPECT_TRUE(is_xa(session_->end(xid_), XAER_PROTO));
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XA_OK));
  EXPECT_TRUE(is_xa(session_->start(fresh_xid()), XA_OK));
}

TEST_F(PgVerbsTest, ASessionLeftWithATransactionOpenIsNotUsable) {
  write_branch(*session_, xid_);
  ASSERT_TRUE(is_xa(session_->commit(xid_, true), XA_OK));
  EXPECT_TRUE(session_->usable());
  ASSERT_TRUE(run(*session_, "BEGIN").ok());  // the application kept using the handle
  EXPECT_FALSE(session_->usable());
}

TEST_F(PgVerbsTest, ResettingTheConnectionLosesTheBranch) {
  ASSERT_TRUE(is_xa(session_->start(xid_), XA_OK));
  ASSERT_TRUE(run(*session_, "UPDATE t SET balance = 0 WHERE id = 1").ok());
  PQreset(native(*session_));  // a new server session: the branch is gone
  EXPECT_TRUE(is_xa(session_->end(xid_), XA_RBCOMMFAIL));
  EXPECT_FALSE(session_->usable());
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XA_OK));
  EXPECT_EQ(balance(1), 100);
}

TEST_F(PgVerbsTest, RecoverListsPreparedBranches) {
  write_branch(*session_, xid_);
  ASSERT_TRUE(is_xa(session_->prepare(xid_), XA_OK));
  XaConnection::Recovered recovered = open_session()->recover();
  ASSERT_TRUE(is_xa(recovered.reply, XA_OK));
  EXPECT_EQ(recovered.xids, std::vector<Xid>{xid_});
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XA_OK));
  recovered = session_->recover();
  EXPECT_TRUE(recovered.xids.empty());
}

// Counts the results a session produces: one per statement sent.
int count_results(PGEventId event, void* /*info*/, void* counter) {
  if (event == PGEVT_RESULTCREATE) ++*static_cast<int*>(counter);
  return 1;
}

// The read-only probe costs a round trip; it runs only when it may save a PREPARE.
TEST_F(PgVerbsTest, PrepareProbesForReadOnlyOnlyWhenNoRowWasModified) {
  int statements = 0;
  ASSERT_NE(PQregisterEventProc(native(*session_), &count_results, "count", &statements), 0);
  struct Case {
    const char* sql;
    int vote;
    int statements;  // sent by prepare
  };
  for (const Case& c : {Case{"UPDATE t SET balance = balance + 10 WHERE id = 1", XA_OK, 1},
                        Case{"UPDATE t SET balance = 0 WHERE id = 999", XA_RDONLY, 2},
                        Case{"SELECT txid_current()", XA_OK, 2},  // an xid, no row modified
                        Case{"SELECT balance FROM t WHERE id = 2", XA_RDONLY, 2}}) {
    const Xid xid = fresh_xid();
    ASSERT_TRUE(is_xa(session_->start(xid), XA_OK));
    ASSERT_TRUE(run(*session_, c.sql).ok()) << c.sql;
    ASSERT_TRUE(is_xa(session_->end(xid), XA_OK));
    statements = 0;
    EXPECT_TRUE(is_xa(session_->prepare(xid), c.vote)) << c.sql;
    EXPECT_EQ(statements, c.statements) << c.sql;
    if (c.vote == XA_OK) {
      EXPECT_TRUE(is_xa(session_->rollback(xid), XA_OK));
    }
  }
  EXPECT_EQ(balance(1), 100);
}

// Split verbs: the statement reaches the server at send_*, before the answer is read, so the
// coordinator can overlap it with another branch's round trips.
bool eventually(const std::function<bool()>& condition) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST_F(PgVerbsTest, SplitPrepareAndCommitReachTheServerBeforeTheirAnswersAreRead) {
  ASSERT_TRUE(session_->splits_verbs());
  write_branch(*session_, xid_);
  session_->send_prepare(xid_);
  EXPECT_TRUE(eventually([&] { return is_prepared(xid_); })) << "PREPARE TRANSACTION not sent";
  EXPECT_TRUE(is_xa(session_->receive_reply(), XA_OK));
  EXPECT_EQ(PQtransactionStatus(native(*session_)), PQTRANS_IDLE);
  session_->send_commit(xid_);
  EXPECT_TRUE(eventually([&] { return !is_prepared(xid_); })) << "COMMIT PREPARED not sent";
  EXPECT_TRUE(is_xa(session_->receive_reply(), XA_OK));
  EXPECT_EQ(balance(1), 110);
  EXPECT_TRUE(session_->usable());
}

TEST_F(PgVerbsTest, WhileAnAnswerIsOnItsWayEveryOtherVerbIsRefused) {
  write_branch(*session_, xid_);
  session_->send_prepare(xid_);
  EXPECT_FALSE(session_->usable()) << "the pool must not take a session with an answer pending";
  // A ROLLBACK sent now would make libpq discard the PREPARE's answer and leave it prepared.
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XAER_PROTO));
  EXPECT_TRUE(is_xa(session_->commit(xid_, false), XAER_PROTO));
  EXPECT_TRUE(is_xa(session_->start(fresh_xid()), XAER_PROTO));
  EXPECT_TRUE(is_xa(session_->recover().reply, XAER_PROTO));
  EXPECT_TRUE(is_xa(session_->receive_reply(), XA_OK)) << "the PREPARE's answer was kept";
  EXPECT_TRUE(is_prepared(xid_));
  EXPECT_TRUE(session_->usable());
  EXPECT_TRUE(is_xa(session_->commit(xid_, false), XA_OK));
  EXPECT_EQ(balance(1), 110);
}

TEST_F(PgVerbsTest, SplitVerbsAnswerWhatTheBlockingVerbsAnswer) {
  // Refused without SQL: the answer is decided at send and returned by receive_reply.
  session_->send_prepare(xid_);
  EXPECT_TRUE(is_xa(session_->receive_reply(), XAER_NOTA));
  // A gid the server does not know: COMMIT PREPARED is sent and fails with 42704.
  session_->send_commit(fresh_xid());
  EXPECT_TRUE(is_xa(session_->receive_reply(), XAER_NOTA));
  // A read-only branch: the probe runs at send, COMMIT is what is sent.
  ASSERT_TRUE(is_xa(session_->start(xid_), XA_OK));
  ASSERT_TRUE(run(*session_, "SELECT balance FROM t WHERE id = 1").ok());
  ASSERT_TRUE(is_xa(session_->end(xid_), XA_OK));
  session_->send_prepare(xid_);
  EXPECT_TRUE(is_xa(session_->receive_reply(), XA_RDONLY));
  EXPECT_FALSE(is_prepared(xid_));
  EXPECT_EQ(PQtransactionStatus(native(*session_)), PQTRANS_IDLE);
  // Nothing sent: a protocol error, and the session stays usable.
  EXPECT_TRUE(is_xa(session_->receive_reply(), XAER_PROTO));
  EXPECT_TRUE(session_->usable());
}

}  // namespace
}  // namespace xatm::postgresql::testing
