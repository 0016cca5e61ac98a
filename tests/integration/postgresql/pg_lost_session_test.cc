// Sessions that die (pg_terminate_backend), a server that crashes and restarts with a prepared
// branch, and a branch that another session is finishing right now (55000 "busy").
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <future>
#include <thread>

#include "driver_under_test.h"
#include "pg_test_util.h"
#include "xatm/xa.h"

namespace xatm::postgresql::testing {
namespace {

using xatm::testing::driver_under_test;
using xatm::testing::run_test_servers;

class PgLostSessionTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    session_ = open_session();
    ASSERT_NE(session_, nullptr);
  }

  void prepare_update(XaConnection& session, const Xid& xid) {
    ASSERT_TRUE(is_xa(session.start(xid), XA_OK));
    ASSERT_TRUE(run(session, "UPDATE t SET balance = balance + 10 WHERE id = 1").ok());
    ASSERT_TRUE(is_xa(session.end(xid), XA_OK));
    ASSERT_TRUE(is_xa(session.prepare(xid), XA_OK));
  }

  std::unique_ptr<XaConnection> session_;
  const Xid xid_ = fresh_xid();
};

TEST_F(PgLostSessionTest, SplitCommitOnAKilledSessionAnswersRmfailAndTheBranchStaysPrepared) {
  prepare_update(*session_, xid_);
  ASSERT_TRUE(driver_under_test().kill_session(*session_).ok());
  session_->send_commit(xid_);  // libpq may or may not notice yet: either way no answer comes
  EXPECT_FALSE(session_->usable());
  EXPECT_TRUE(is_xa(session_->receive_reply(), XAER_RMFAIL));
  EXPECT_FALSE(session_->usable());
  EXPECT_TRUE(is_prepared(xid_)) << "a prepared branch survives its session";
  std::unique_ptr<XaConnection> other = open_session();
  EXPECT_TRUE(is_xa(other->commit(xid_, false), XA_OK));
  EXPECT_EQ(balance(1), 110);
}

TEST_F(PgLostSessionTest, EndSessionRollsBackTheActiveBranchFromAnotherSession) {
  // The reaper's tool (XaConnection::end_session): pg_terminate_backend, then waits for the end.
  ASSERT_TRUE(is_xa(session_->start(xid_), XA_OK));
  ASSERT_TRUE(run(*session_, "UPDATE t SET balance = balance + 10 WHERE id = 1").ok());
  const std::string key = session_->session_key();
  ASSERT_NE(key.find('@'), std::string::npos) << key;
  std::unique_ptr<XaConnection> other = open_session();
  Status ended = other->end_session(key);
  EXPECT_TRUE(ended.ok()) << ended.to_string();
  EXPECT_FALSE(run(*session_, "SELECT 1").ok()) << "the session is gone";
  // Its row lock went with it: a plain update does not wait.
  ASSERT_TRUE(run(*other, "SET lock_timeout = '100ms'").ok());
  EXPECT_TRUE(run(*other, "UPDATE t SET balance = balance + 1 WHERE id = 1").ok());
  EXPECT_EQ(balance(1), 101);
  EXPECT_TRUE(other->end_session(key).ok()) << "a session that has ended already is ended";
  // The pid matches no session started then: a reused pid is never ended.
  EXPECT_TRUE(other->end_session(key.substr(0, key.find('@')) + "@1").ok());
  EXPECT_EQ(other->end_session("not a key").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(other->usable());
}

TEST_F(PgLostSessionTest, KilledWhileIdleInAReadingBranchPrepareAnswersRbCommfail) {
  ASSERT_TRUE(is_xa(session_->start(xid_), XA_OK));
  ASSERT_TRUE(run(*session_, "SELECT balance FROM t WHERE id = 1").ok());
  ASSERT_TRUE(driver_under_test().kill_session(*session_).ok());
  // xa_end sends nothing, so it cannot know yet; the read-only probe finds out before anything
  // could be prepared.
  EXPECT_TRUE(is_xa(session_->end(xid_), XA_OK));
  EXPECT_TRUE(is_xa(session_->prepare(xid_), XA_RBCOMMFAIL));
  EXPECT_FALSE(session_->usable());
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XA_OK));  // it died with its session
  EXPECT_TRUE(is_xa(session_->start(fresh_xid()), XAER_RMFAIL));
  EXPECT_FALSE(is_prepared(xid_));
}

TEST_F(PgLostSessionTest, KilledWhileIdleAfterAWritePrepareAnswersRmfail) {
  ASSERT_TRUE(is_xa(session_->start(xid_), XA_OK));
  ASSERT_TRUE(run(*session_, "UPDATE t SET balance = 0 WHERE id = 1").ok());
  ASSERT_TRUE(driver_under_test().kill_session(*session_).ok());
  // The branch wrote, so no probe: PREPARE TRANSACTION itself meets the dead session, and a
  // lost PREPARE may have happened (docs/driver-postgresql.md), so the driver cannot say more.
  EXPECT_TRUE(is_xa(session_->end(xid_), XA_OK));
  EXPECT_TRUE(is_xa(session_->prepare(xid_), XAER_RMFAIL));
  EXPECT_FALSE(session_->usable());
  EXPECT_FALSE(is_prepared(xid_));
  std::unique_ptr<XaConnection> fresh = open_session();
  EXPECT_TRUE(is_xa(fresh->rollback(xid_), XAER_NOTA)) << "it died with its session";
  EXPECT_EQ(balance(1), 100);
}

TEST_F(PgLostSessionTest, KilledSessionSeenByTheApplicationMakesEndAnswerRbCommfail) {
  ASSERT_TRUE(is_xa(session_->start(xid_), XA_OK));
  ASSERT_TRUE(driver_under_test().kill_session(*session_).ok());
  EXPECT_NE(failing_sqlstate(*session_, "UPDATE t SET balance = 0 WHERE id = 1"), "");
  EXPECT_TRUE(is_xa(session_->end(xid_), XA_RBCOMMFAIL));
  EXPECT_FALSE(session_->usable());
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XA_OK));
  EXPECT_TRUE(is_xa(session_->recover().reply, XAER_RMFAIL));
}

TEST_F(PgLostSessionTest, KilledAfterPrepareTheBranchIsCommittedFromAFreshSession) {
  prepare_update(*session_, xid_);
  ASSERT_TRUE(driver_under_test().kill_session(*session_).ok());
  XaReply lost = session_->commit(xid_, false);
  EXPECT_TRUE(is_xa(lost, XAER_RMFAIL));  // never XAER_RMERR: the branch is still prepared
  EXPECT_FALSE(session_->usable());
  EXPECT_TRUE(is_prepared(xid_));
  std::unique_ptr<XaConnection> fresh = open_session();
  EXPECT_TRUE(is_xa(fresh->commit(xid_, false), XA_OK));
  EXPECT_EQ(balance(1), 110);
}

TEST_F(PgLostSessionTest, KilledAfterPrepareTheBranchIsRolledBackFromAFreshSession) {
  prepare_update(*session_, xid_);
  ASSERT_TRUE(driver_under_test().kill_session(*session_).ok());
  EXPECT_TRUE(is_xa(session_->rollback(xid_), XAER_RMFAIL));
  std::unique_ptr<XaConnection> fresh = open_session();
  EXPECT_TRUE(is_xa(fresh->rollback(xid_), XA_OK));
  EXPECT_EQ(balance(1), 100);
}

TEST_F(PgLostSessionTest, ServerCrashKeepsThePreparedBranchRecoverableAndCommittable) {
  prepare_update(*session_, xid_);
  ASSERT_TRUE(run_test_servers("restart postgresql").ok());
  EXPECT_TRUE(is_xa(session_->commit(xid_, false), XAER_RMFAIL));
  EXPECT_FALSE(session_->usable());
  std::unique_ptr<XaConnection> fresh = open_session();
  ASSERT_NE(fresh, nullptr);
  XaConnection::Recovered recovered = fresh->recover();
  ASSERT_TRUE(is_xa(recovered.reply, XA_OK));
  EXPECT_EQ(recovered.xids, std::vector<Xid>{xid_});
  EXPECT_TRUE(is_xa(fresh->commit(xid_, false), XA_OK));
  EXPECT_EQ(balance(1), 110);
}

// While COMMIT PREPARED waits for a synchronous standby that does not exist, the gid is
// "busy" (55000) for everybody else (docs/driver-postgresql.md). The guard names a standby that
// does not exist for its lifetime, and waits until new sessions see the setting.
class SynchronousStandbyGuard {
 public:
  SynchronousStandbyGuard() { set("xatm_no_such_standby"); }
  ~SynchronousStandbyGuard() { set(""); }
  SynchronousStandbyGuard(const SynchronousStandbyGuard&) = delete;
  SynchronousStandbyGuard& operator=(const SynchronousStandbyGuard&) = delete;

 private:
  static void set(const std::string& value) {
    PlainConnection admin(superuser_conninfo());
    EXPECT_TRUE(admin
                    .exec(value.empty()
                              ? "ALTER SYSTEM RESET synchronous_standby_names"
                              : "ALTER SYSTEM SET synchronous_standby_names = '" + value + "'")
                    .ok());
    EXPECT_TRUE(admin.exec("SELECT pg_reload_conf()").ok());
    for (int i = 0; i < 250; ++i) {
      PlainConnection probe;
      Result<std::optional<std::string>> now = probe.value("SHOW synchronous_standby_names");
      if (now.ok() && now->value_or("") == value) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "synchronous_standby_names did not become '" << value << "'";
  }
};

TEST_F(PgLostSessionTest, BranchBeingFinishedElsewhereIsRetryOnCommitAndRmfailOnRollback) {
  prepare_update(*session_, xid_);
  std::unique_ptr<XaConnection> other = open_session();
  std::unique_ptr<XaConnection> committer;  // outlives `waiting`, which joins its thread
  std::future<XaReply> waiting;
  int pid = 0;
  {
    SynchronousStandbyGuard guard;
    committer = open_session();
    pid = PQbackendPID(native(*committer));
    waiting = std::async(std::launch::async, [&] { return committer->commit(xid_, false); });
    PlainConnection plain;
    bool stuck = false;
    for (int i = 0; i < 250 && !stuck; ++i) {
      stuck =
          plain.integer("SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(pid) +
                        " AND wait_event = 'SyncRep'") == 1;
      if (!stuck) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(stuck) << "COMMIT PREPARED did not wait for the synchronous standby";
    XaReply retry = other->commit(xid_, false);
    EXPECT_TRUE(is_xa(retry, XA_RETRY));
    EXPECT_NE(retry.detail.find("55000"), std::string::npos) << retry.detail;
    EXPECT_TRUE(is_xa(other->rollback(xid_), XAER_RMFAIL));
    EXPECT_TRUE(other->usable());
  }  // the standby requirement goes away: the waiting COMMIT PREPARED is released
  if (waiting.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    PlainConnection plain;  // cancelling the wait also lets it finish (committed locally)
    EXPECT_TRUE(plain.exec("SELECT pg_cancel_backend(" + std::to_string(pid) + ")").ok());
  }
  EXPECT_TRUE(is_xa(waiting.get(), XA_OK));
  EXPECT_EQ(balance(1), 110);
}

}  // namespace
}  // namespace xatm::postgresql::testing
