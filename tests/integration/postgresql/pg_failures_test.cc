// The rows of docs/driver-postgresql.md that a test server can provoke: failed and read-only branches at
// prepare, conflicts between sessions, finishing from the wrong place, lost sessions and a
// crashed server.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <thread>

#include "pg_test_util.h"
#include "xatm/xa.h"

namespace xatm::postgresql::testing {
namespace {

// Waits until backend `pid` waits for `wait_event` (e.g. a lock), for at most ~5 s.
bool wait_until_waiting(int pid, const std::string& condition) {
  PlainConnection plain;
  for (int i = 0; i < 250; ++i) {
    if (plain.integer("SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(pid) +
                      " AND " + condition) == 1) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

class PgFailuresTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    a_ = open_session();
    b_ = open_session();
    ASSERT_TRUE(a_ != nullptr && b_ != nullptr);
  }

  std::unique_ptr<XaConnection> a_, b_;
  const Xid xa_ = fresh_xid(0);
  const Xid xb_ = fresh_xid(1);
};

TEST_F(PgFailuresTest, SilentRollbackAtPrepareIsARollbackVote) {
  ASSERT_TRUE(is_xa(a_->start(xa_), XA_OK));
  ASSERT_TRUE(run(*a_, "UPDATE t SET balance = 0 WHERE id = 1").ok());
  ASSERT_TRUE(is_xa(a_->end(xa_), XA_OK));
  // The statement fails after xa_end (PostgreSQL's xa_end is client-side only), so only
  // PREPARE TRANSACTION can notice: it answers the command tag ROLLBACK, no error.
  EXPECT_EQ(failing_sqlstate(*a_, "SELECT 1/0"), "22012");
  EXPECT_TRUE(is_xa(a_->prepare(xa_), XA_RBROLLBACK));
  EXPECT_FALSE(is_prepared(xa_));
  EXPECT_TRUE(is_xa(a_->rollback(xa_), XA_OK));  // no SQL: nothing to roll back
  EXPECT_EQ(balance(1), 100);
  EXPECT_TRUE(a_->usable());
}

TEST_F(PgFailuresTest, SilentRollbackAtOnePhaseCommitIsARollback) {
  ASSERT_TRUE(is_xa(a_->start(xa_), XA_OK));
  ASSERT_TRUE(run(*a_, "UPDATE t SET balance = 0 WHERE id = 1").ok());
  ASSERT_TRUE(is_xa(a_->end(xa_), XA_OK));
  EXPECT_EQ(failing_sqlstate(*a_, "INSERT INTO t VALUES (2, 0)"), "23505");
  EXPECT_TRUE(is_xa(a_->commit(xa_, true), XA_RBINTEGRITY));
  EXPECT_EQ(balance(1), 100);
}

TEST_F(PgFailuresTest, ReadOnlyBranchesCommitAndAnswerRdonly) {
  for (const char* sql : {"SELECT balance FROM t WHERE id = 1",
                          "UPDATE t SET balance = 0 WHERE id = 99",  // matches no row
                          "SELECT 1"}) {
    const Xid xid = fresh_xid();
    ASSERT_TRUE(is_xa(a_->start(xid), XA_OK));
    ASSERT_TRUE(run(*a_, sql).ok());
    ASSERT_TRUE(is_xa(a_->end(xid), XA_OK));
    EXPECT_TRUE(is_xa(a_->prepare(xid), XA_RDONLY)) << sql;
    EXPECT_FALSE(is_prepared(xid)) << sql;
    EXPECT_EQ(PQtransactionStatus(native(*a_)), PQTRANS_IDLE);
    EXPECT_TRUE(is_xa(a_->rollback(xid), XAER_NOTA));  // finished: never ROLLBACK PREPARED
  }
  PlainConnection plain;
  EXPECT_EQ(plain.integer("SELECT count(*) FROM pg_prepared_xacts"), 0);
}

TEST_F(PgFailuresTest, EmptyBranchIsReadOnly) {
  ASSERT_TRUE(is_xa(a_->start(xa_), XA_OK));
  ASSERT_TRUE(is_xa(a_->end(xa_), XA_OK));
  EXPECT_TRUE(is_xa(a_->prepare(xa_), XA_RDONLY));
  EXPECT_FALSE(is_prepared(xa_));
}

TEST_F(PgFailuresTest, LockingReadIsPrepared) {
  ASSERT_TRUE(is_xa(a_->start(xa_), XA_OK));
  ASSERT_TRUE(run(*a_, "SELECT balance FROM t WHERE id = 1 FOR UPDATE").ok());
  ASSERT_TRUE(is_xa(a_->end(xa_), XA_OK));
  EXPECT_TRUE(is_xa(a_->prepare(xa_), XA_OK));
  EXPECT_TRUE(is_prepared(xa_));
  EXPECT_TRUE(is_xa(a_->rollback(xa_), XA_OK));
}

TEST_F(PgFailuresTest, DuplicateGidVotesNoAndLeavesTheFirstBranchAlone) {
  ASSERT_TRUE(is_xa(a_->start(xa_), XA_OK));
  ASSERT_TRUE(run(*a_, "UPDATE t SET balance = 111 WHERE id = 1").ok());
  ASSERT_TRUE(is_xa(a_->end(xa_), XA_OK));
  ASSERT_TRUE(is_xa(a_->prepare(xa_), XA_OK));
  ASSERT_TRUE(is_xa(b_->start(xa_), XA_OK));  // not detectable before PREPARE
  ASSERT_TRUE(run(*b_, "UPDATE t SET balance = 222 WHERE id = 2").ok());
  ASSERT_TRUE(is_xa(b_->end(xa_), XA_OK));
  XaReply vote = b_->prepare(xa_);
  EXPECT_TRUE(is_xa(vote, XA_RBOTHER));
  EXPECT_NE(vote.detail.find("42710"), std::string::npos) << vote.detail;
  // Neither rollback nor commit on b may touch the gid: it is a's prepared branch.
  EXPECT_TRUE(is_xa(b_->rollback(xa_), XA_OK));
  EXPECT_TRUE(is_xa(b_->rollback(xa_), XA_OK));
  EXPECT_TRUE(is_xa(b_->commit(xa_, false), XAER_NOTA));
  EXPECT_TRUE(is_prepared(xa_));
  EXPECT_TRUE(is_xa(a_->commit(xa_, false), XA_OK));
  EXPECT_EQ(balance(1), 111);
  EXPECT_EQ(balance(2), 100);
}

TEST_F(PgFailuresTest, DeadlockVictimAnswersRbDeadlock) {
  ASSERT_TRUE(is_xa(a_->start(xa_), XA_OK));
  ASSERT_TRUE(is_xa(b_->start(xb_), XA_OK));
  ASSERT_TRUE(run(*a_, "UPDATE t SET balance = balance + 1 WHERE id = 1").ok());
  ASSERT_TRUE(run(*b_, "UPDATE t SET balance = balance + 1 WHERE id = 2").ok());
  std::string a_sqlstate;
  std::thread waiter([&] {
    a_sqlstate = failing_sqlstate(*a_, "UPDATE t SET balance = balance + 1 WHERE id = 2");
  });
  ASSERT_TRUE(wait_until_waiting(PQbackendPID(native(*a_)), "wait_event_type = 'Lock'"));
  const std::string b_sqlstate =
      failing_sqlstate(*b_, "UPDATE t SET balance = balance + 1 WHERE id = 1");
  waiter.join();
  ASSERT_NE(a_sqlstate == "40P01", b_sqlstate == "40P01") << a_sqlstate << " / " << b_sqlstate;
  XaConnection& victim = a_sqlstate == "40P01" ? *a_ : *b_;
  XaConnection& survivor = a_sqlstate == "40P01" ? *b_ : *a_;
  const Xid& victim_xid = a_sqlstate == "40P01" ? xa_ : xb_;
  const Xid& survivor_xid = a_sqlstate == "40P01" ? xb_ : xa_;
  EXPECT_TRUE(is_xa(victim.end(victim_xid), XA_RBDEADLOCK));
  EXPECT_TRUE(is_xa(victim.rollback(victim_xid), XA_OK));
  EXPECT_TRUE(is_xa(survivor.end(survivor_xid), XA_OK));
  EXPECT_TRUE(is_xa(survivor.commit(survivor_xid, true), XA_OK));
  EXPECT_EQ(balance(1) + balance(2), 202);
}

TEST_F(PgFailuresTest, UpdateConflictUnderRepeatableReadAnswersRbTransient) {
  ASSERT_TRUE(is_xa(a_->start(xa_), XA_OK));
  ASSERT_TRUE(run(*a_, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").ok());
  ASSERT_TRUE(run(*a_, "SELECT balance FROM t WHERE id = 1").ok());
  PlainConnection plain;
  ASSERT_TRUE(plain.exec("UPDATE t SET balance = 5 WHERE id = 1").ok());
  EXPECT_EQ(failing_sqlstate(*a_, "UPDATE t SET balance = balance + 1 WHERE id = 1"), "40001");
  EXPECT_TRUE(is_xa(a_->end(xa_), XA_RBTRANSIENT));
  EXPECT_EQ(balance(1), 5);
}

TEST_F(PgFailuresTest, SerializationFailureAtPrepareAnswersRbTransient) {
  for (auto* session : {a_.get(), b_.get()}) {
    const Xid& xid = session == a_.get() ? xa_ : xb_;
    ASSERT_TRUE(is_xa(session->start(xid), XA_OK));
    ASSERT_TRUE(run(*session, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE").ok());
    ASSERT_TRUE(run(*session, "SELECT sum(balance) FROM t WHERE id IN (1, 2)").ok());
  }
  ASSERT_TRUE(run(*a_, "UPDATE t SET balance = balance - 100 WHERE id = 1").ok());  // write skew
  ASSERT_TRUE(run(*b_, "UPDATE t SET balance = balance - 100 WHERE id = 2").ok());
  ASSERT_TRUE(is_xa(a_->end(xa_), XA_OK));
  ASSERT_TRUE(is_xa(b_->end(xb_), XA_OK));
  EXPECT_TRUE(is_xa(a_->prepare(xa_), XA_OK));
  XaReply vote = b_->prepare(xb_);
  EXPECT_TRUE(is_xa(vote, XA_RBTRANSIENT));
  EXPECT_NE(vote.detail.find("40001"), std::string::npos) << vote.detail;
  EXPECT_FALSE(is_prepared(xb_));
  EXPECT_TRUE(is_xa(b_->rollback(xb_), XA_OK));
  EXPECT_TRUE(is_xa(a_->rollback(xa_), XA_OK));
}

TEST_F(PgFailuresTest, LockTimeoutAnswersRbTimeout) {
  PlainConnection holder;
  ASSERT_TRUE(holder.exec("BEGIN").ok());
  ASSERT_TRUE(holder.exec("UPDATE t SET balance = 1 WHERE id = 1").ok());
  ASSERT_TRUE(is_xa(a_->start(xa_), XA_OK));
  ASSERT_TRUE(run(*a_, "SET LOCAL lock_timeout = '100ms'").ok());
  EXPECT_EQ(failing_sqlstate(*a_, "UPDATE t SET balance = 2 WHERE id = 1"), "55P03");
  EXPECT_TRUE(is_xa(a_->end(xa_), XA_RBTIMEOUT));
  ASSERT_TRUE(holder.exec("ROLLBACK").ok());
}

TEST_F(PgFailuresTest, StatementTimeoutAnswersRbTimeout) {
  ASSERT_TRUE(is_xa(a_->start(xa_), XA_OK));
  ASSERT_TRUE(run(*a_, "SET LOCAL statement_timeout = '50ms'").ok());
  EXPECT_EQ(failing_sqlstate(*a_, "SELECT pg_sleep(2)"), "57014");
  EXPECT_TRUE(is_xa(a_->end(xa_), XA_RBTIMEOUT));
  EXPECT_TRUE(a_->usable());
}

TEST_F(PgFailuresTest, DeferredConstraintViolatedAtPrepareAnswersRbIntegrity) {
  PlainConnection plain;
  ASSERT_TRUE(plain.exec("DROP TABLE IF EXISTS deferred_unique").ok());
  ASSERT_TRUE(
      plain.exec("CREATE TABLE deferred_unique (id int UNIQUE DEFERRABLE INITIALLY DEFERRED)")
          .ok());
  ASSERT_TRUE(is_xa(a_->start(xa_), XA_OK));
  ASSERT_TRUE(run(*a_, "INSERT INTO deferred_unique VALUES (1), (1)").ok());
  ASSERT_TRUE(is_xa(a_->end(xa_), XA_OK));
  XaReply vote = a_->prepare(xa_);
  EXPECT_TRUE(is_xa(vote, XA_RBINTEGRITY));
  EXPECT_NE(vote.detail.find("23505"), std::string::npos) << vote.detail;
  EXPECT_FALSE(is_prepared(xa_));
  EXPECT_TRUE(is_xa(a_->rollback(xa_), XA_OK));
  EXPECT_EQ(plain.integer("SELECT count(*) FROM deferred_unique"), 0);
  ASSERT_TRUE(plain.exec("DROP TABLE deferred_unique").ok());
}

TEST_F(PgFailuresTest, TemporaryTableCannotBePreparedAnswersRbOther) {
  ASSERT_TRUE(is_xa(a_->start(xa_), XA_OK));
  ASSERT_TRUE(run(*a_, "CREATE TEMP TABLE scratch (x int)").ok());
  ASSERT_TRUE(run(*a_, "INSERT INTO scratch VALUES (1)").ok());
  ASSERT_TRUE(is_xa(a_->end(xa_), XA_OK));
  XaReply vote = a_->prepare(xa_);
  EXPECT_TRUE(is_xa(vote, XA_RBOTHER));
  EXPECT_NE(vote.detail.find("0A000"), std::string::npos) << vote.detail;
  EXPECT_TRUE(is_xa(a_->rollback(xa_), XA_OK));
  EXPECT_TRUE(a_->usable());
}

TEST_F(PgFailuresTest, NoFreePreparedTransactionSlotAnswersRbOther) {
  PlainConnection plain;
  const std::int64_t slots = plain.integer("SHOW max_prepared_transactions");
  std::vector<Xid> prepared;
  for (std::int64_t i = 0; i < slots; ++i) {
    const Xid xid = fresh_xid();
    ASSERT_TRUE(is_xa(a_->start(xid), XA_OK));
    ASSERT_TRUE(run(*a_, "SELECT txid_current()").ok());  // writes nothing, but takes an xid
    ASSERT_TRUE(is_xa(a_->end(xid), XA_OK));
    ASSERT_TRUE(is_xa(a_->prepare(xid), XA_OK));
    prepared.push_back(xid);
  }
  ASSERT_TRUE(is_xa(a_->start(xa_), XA_OK));
  ASSERT_TRUE(run(*a_, "UPDATE t SET balance = 0 WHERE id = 1").ok());
  ASSERT_TRUE(is_xa(a_->end(xa_), XA_OK));
  XaReply vote = a_->prepare(xa_);
  EXPECT_TRUE(is_xa(vote, XA_RBOTHER));
  EXPECT_NE(vote.detail.find("53200"), std::string::npos) << vote.detail;
  for (const Xid& xid : prepared) EXPECT_TRUE(is_xa(b_->rollback(xid), XA_OK));
  EXPECT_EQ(balance(1), 100);
}

TEST_F(PgFailuresTest, FinishingFromAnotherDatabaseIsRmfailNeverNota) {
  ASSERT_TRUE(is_xa(a_->start(xa_), XA_OK));
  ASSERT_TRUE(run(*a_, "UPDATE t SET balance = 1 WHERE id = 1").ok());
  ASSERT_TRUE(is_xa(a_->end(xa_), XA_OK));
  ASSERT_TRUE(is_xa(a_->prepare(xa_), XA_OK));
  std::unique_ptr<XaConnection> elsewhere = open_session(conninfo() + " dbname=postgres");
  ASSERT_NE(elsewhere, nullptr);
  XaReply commit = elsewhere->commit(xa_, false);
  EXPECT_TRUE(is_xa(commit, XAER_RMFAIL));
  EXPECT_NE(commit.detail.find("0A000"), std::string::npos) << commit.detail;
  EXPECT_TRUE(is_xa(elsewhere->rollback(xa_), XAER_RMFAIL));
  EXPECT_TRUE(elsewhere->recover().xids.empty());  // recovery only lists its own database's
  EXPECT_TRUE(is_xa(b_->commit(xa_, false), XA_OK));
  EXPECT_EQ(balance(1), 1);
}

TEST_F(PgFailuresTest, FinishingAsAnotherRoleIsRmfailNeverNota) {
  ensure_probe_role(superuser_conninfo());
  ASSERT_TRUE(is_xa(a_->start(xa_), XA_OK));
  ASSERT_TRUE(run(*a_, "UPDATE t SET balance = 1 WHERE id = 1").ok());
  ASSERT_TRUE(is_xa(a_->end(xa_), XA_OK));
  ASSERT_TRUE(is_xa(a_->prepare(xa_), XA_OK));
  std::unique_ptr<XaConnection> other_role =
      open_session(conninfo() + " user=" + kProbeRole + " password=" + kProbePassword);
  ASSERT_NE(other_role, nullptr);
  XaReply commit = other_role->commit(xa_, false);
  EXPECT_TRUE(is_xa(commit, XAER_RMFAIL));
  EXPECT_NE(commit.detail.find("42501"), std::string::npos) << commit.detail;
  EXPECT_TRUE(is_xa(other_role->rollback(xa_), XAER_RMFAIL));
  EXPECT_TRUE(other_role->recover().xids.empty());  // it could not finish them anyway
  EXPECT_TRUE(is_xa(b_->rollback(xa_), XA_OK));
  EXPECT_EQ(balance(1), 100);
}

}  // namespace
}  // namespace xatm::postgresql::testing
