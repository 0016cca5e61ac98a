// Answers that leave a branch as it was (transient: XA_RETRY) or that concern the session rather
// than the branch, against the real MariaDB: FTWRL (1205), read_only (1290), a local
// transaction on the session (1400), and a snapshot-isolation conflict (1020).
#include <cppconn/connection.h>
#include <gtest/gtest.h>

#include "mysql_test_util.h"

namespace xatm::mysql::testing {
namespace {

using internal::MysqlConnection;

// A prepared read-write branch (row 1 set to `value`) whose session has closed: any session can
// finish it.
Xid detached_branch(Resource& resource, int value) {
  const Xid xid = test_xid();
  std::unique_ptr<MysqlConnection> session = open_session(resource);
  EXPECT_NE(session, nullptr);
  if (session == nullptr) return xid;
  EXPECT_EQ(session->start(xid).code, XA_OK);
  EXPECT_FALSE(run(session->sql_connection(),
                   "UPDATE t SET balance = " + std::to_string(value) + " WHERE id = 1"));
  EXPECT_EQ(session->end(xid).code, XA_OK);
  EXPECT_EQ(session->prepare(xid).code, XA_OK);
  return xid;
}

TEST_F(MysqlTest, CommitBlockedByAGlobalReadLockIsRetry) {
  const Xid xid = detached_branch(*resource_, 11);
  std::unique_ptr<sql::Connection> backup = plain_connection();
  ASSERT_FALSE(run(*backup, "FLUSH TABLES WITH READ LOCK"));
  std::unique_ptr<MysqlConnection> session = open_session(*resource_);
  ASSERT_NE(session, nullptr);
  ASSERT_FALSE(run(session->sql_connection(), "SET SESSION lock_wait_timeout = 1"));
  const XaReply blocked = retry_while_attached([&] {
    XaReply reply = session->commit(xid, false);
    // Still attached to its closing session (XA_RETRY too): wait for the lock error itself.
    return reply.detail.find("1205") == std::string::npos ? reply : XaReply{XA_OK, reply.detail};
  });
  EXPECT_NE(blocked.detail.find("1205"), std::string::npos) << blocked.detail;
  EXPECT_EQ(session->commit(xid, false).code, XA_RETRY);
  EXPECT_TRUE(session->usable());
  EXPECT_EQ(session->rollback(xid).code, XA_RETRY);
  ASSERT_FALSE(run(*backup, "UNLOCK TABLES"));
  EXPECT_EQ(session->commit(xid, false).code, XA_OK);
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 1"), 11);
}

TEST_F(MysqlTest, CommitOnAReadOnlyServerIsRetry) {
  // read_only stops users without the READ_ONLY ADMIN privilege; finishing a detached branch
  // needs no privilege at all on MariaDB, so a bare user finishes it.
  run_plain("DROP USER IF EXISTS 'xatm_bare'@'localhost'");
  run_plain("CREATE USER 'xatm_bare'@'localhost' IDENTIFIED BY 'bare-password'");
  DataSource bare = test_data_source("bare");
  bare.user = "xatm_bare";
  bare.password = "bare-password";
  bare.database.clear();
  std::unique_ptr<Resource> bare_resource = make_resource(bare);
  const Xid xid = detached_branch(*resource_, 12);
  std::unique_ptr<MysqlConnection> session = open_session(*bare_resource);
  ASSERT_NE(session, nullptr);
  struct Restore {  // even when an assertion ends the test early
    ~Restore() {
      run_plain("SET GLOBAL read_only = 0");
      run_plain("DROP USER IF EXISTS 'xatm_bare'@'localhost'");
    }
  } restore;
  run_plain("SET GLOBAL read_only = 1");
  const XaReply refused = retry_while_attached([&] {
    XaReply reply = session->commit(xid, false);
    return reply.detail.find("1290") == std::string::npos ? reply : XaReply{XA_OK, reply.detail};
  });
  EXPECT_NE(refused.detail.find("1290"), std::string::npos) << refused.detail;
  EXPECT_EQ(session->commit(xid, false).code, XA_RETRY);
  EXPECT_EQ(session->rollback(xid).code, XA_RETRY);
  run_plain("SET GLOBAL read_only = 0");
  EXPECT_EQ(session->commit(xid, false).code, XA_OK);
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 1"), 12);
}

TEST_F(MysqlTest, LocalTransactionOnTheSessionIsOutsideAndDiscardsIt) {
  std::unique_ptr<MysqlConnection> session = open_session(*resource_);
  ASSERT_NE(session, nullptr);
  ASSERT_FALSE(run(session->sql_connection(), "BEGIN"));
  const XaReply started = session->start(test_xid());
  EXPECT_EQ(started.code, XAER_OUTSIDE) << started.detail;
  EXPECT_FALSE(session->usable());  // the pool must not hand it out again

  // Finishing a detached branch from a session inside a local transaction: retried elsewhere.
  const Xid xid = detached_branch(*resource_, 13);
  std::unique_ptr<MysqlConnection> other = open_session(*resource_);
  ASSERT_NE(other, nullptr);
  ASSERT_FALSE(run(other->sql_connection(), "BEGIN"));
  const XaReply commit = other->commit(xid, false);
  EXPECT_EQ(commit.code, XA_RETRY) << commit.detail;
  EXPECT_NE(commit.detail.find("1400"), std::string::npos) << commit.detail;
  EXPECT_FALSE(other->usable());
  std::unique_ptr<MysqlConnection> clean = open_session(*resource_);
  ASSERT_NE(clean, nullptr);
  EXPECT_EQ(retry_while_attached([&] { return clean->commit(xid, false); }).code, XA_OK);
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 1"), 13);
}

TEST_F(MysqlTest, SnapshotIsolationConflictRollsTheBranchBack) {
  std::unique_ptr<MysqlConnection> session = open_session(*resource_);
  ASSERT_NE(session, nullptr);
  ASSERT_FALSE(run(session->sql_connection(), "SET SESSION innodb_snapshot_isolation = ON"));
  const Xid xid = test_xid();
  ASSERT_EQ(session->start(xid).code, XA_OK);
  ASSERT_FALSE(run(session->sql_connection(), "SELECT balance FROM t WHERE id = 2"));
  run_plain("UPDATE t SET balance = 5 WHERE id = 2");  // committed after the branch's snapshot
  std::optional<internal::SqlError> conflict =
      run(session->sql_connection(), "UPDATE t SET balance = balance + 1 WHERE id = 2");
  ASSERT_TRUE(conflict.has_value());
  EXPECT_EQ(conflict->code, 1020) << internal::describe(*conflict);
  const XaReply ended = session->end(xid);
  EXPECT_TRUE(ended.is_rollback()) << xa_code_name(ended.code) << " " << ended.detail;
  EXPECT_EQ(session->rollback(xid).code, XA_OK);
  EXPECT_TRUE(session->usable());
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 2"), 5);
}

}  // namespace
}  // namespace xatm::mysql::testing
