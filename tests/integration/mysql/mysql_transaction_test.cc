// The driver under the TransactionManager, as an application uses it: tm.add(DataSource),
// connection(tx, name), ordinary SQL, commit / rollback.
#include <cppconn/connection.h>
#include <cppconn/statement.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <thread>

#include "mysql_driver_thread.h"
#include "mysql_test_util.h"
#include "xatm/fake/fake_resource.h"
#include "xatm/transaction_manager.h"

namespace xatm::mysql::testing {
namespace {

class MysqlTransactionTest : public MysqlTest {
 protected:
  void SetUp() override {
    MysqlTest::SetUp();
    std::string pattern = (std::filesystem::temp_directory_path() / "xatm-mysql-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    tm_ = std::make_unique<TransactionManager>(
        Options{.node_name = "mysql-test", .log_dir = dir_ + "/log"});
  }
  void TearDown() override {
    tm_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Runs `statement` on data source `name` inside `tx`; the vendor error, if any.
  std::optional<internal::SqlError> exec(Transaction& tx, const std::string& name,
                                         const std::string& statement) {
    Result<sql::Connection*> connection = mysql::connection(tx, name);
    EXPECT_TRUE(connection.ok()) << connection.status().to_string();
    if (!connection.ok()) return internal::SqlError{-1, "", connection.status().to_string()};
    return run(**connection, statement);
  }

  std::string dir_;
  std::unique_ptr<TransactionManager> tm_;
};

TEST_F(MysqlTransactionTest, OnePhaseCommitThroughTheManager) {
  ASSERT_TRUE(tm_->add(test_data_source("x")).ok());
  ASSERT_TRUE(tm_->start().ok());
  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok()) << tx.status().to_string();
  EXPECT_FALSE(exec(*tx, "x", "UPDATE t SET balance = 42 WHERE id = 1"));
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 1"), 100);  // not yet
  const Outcome outcome = tx->commit();
  EXPECT_TRUE(outcome.committed()) << outcome.to_string();
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 1"), 42);
  EXPECT_EQ(tm_->stats().one_phase, 1U);
}

TEST_F(MysqlTransactionTest, TwoPhaseCommitAcrossTwoDataSources) {
  ASSERT_TRUE(tm_->add(test_data_source("left")).ok());
  ASSERT_TRUE(tm_->add(test_data_source("right")).ok());
  ASSERT_TRUE(tm_->start().ok());
  for (int round = 0; round < 3; ++round) {  // sessions come back from the pool
    Result<Transaction> tx = tm_->begin();
    ASSERT_TRUE(tx.ok());
    EXPECT_FALSE(exec(*tx, "left", "UPDATE t SET balance = balance - 10 WHERE id = 1"));
    EXPECT_FALSE(exec(*tx, "right", "UPDATE t SET balance = balance + 10 WHERE id = 2"));
    const Outcome outcome = tx->commit();
    EXPECT_TRUE(outcome.committed()) << outcome.to_string();
  }
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 1"), 70);
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 2"), 130);
  EXPECT_EQ(tm_->stats().committed, 3U);
}

TEST_F(MysqlTransactionTest, RollbackUndoesTheWork) {
  ASSERT_TRUE(tm_->add(test_data_source("x")).ok());
  ASSERT_TRUE(tm_->start().ok());
  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok());
  EXPECT_FALSE(exec(*tx, "x", "UPDATE t SET balance = 0 WHERE id = 3"));
  EXPECT_TRUE(tx->rollback().rolled_back());
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 3"), 100);
}

TEST_F(MysqlTransactionTest, DeadlockVictimTransactionRollsBackWithRbDeadlock) {
  ASSERT_TRUE(tm_->add(test_data_source("x")).ok());
  ASSERT_TRUE(tm_->start().ok());
  Result<Transaction> t1 = tm_->begin();
  Result<Transaction> t2 = tm_->begin();
  ASSERT_TRUE(t1.ok() && t2.ok());
  ASSERT_FALSE(exec(*t1, "x", "UPDATE t SET balance = balance + 1 WHERE id = 1"));
  ASSERT_FALSE(exec(*t2, "x", "UPDATE t SET balance = balance + 1 WHERE id = 2"));
  sql::Connection* c1 = *mysql::connection(*t1, "x");
  auto blocked = std::async(std::launch::async, [c1] {
    return run(*c1, "UPDATE t SET balance = balance + 1 WHERE id = 2");
  });
  wait_for_lock_wait();
  std::optional<internal::SqlError> closing =
      exec(*t2, "x", "UPDATE t SET balance = balance + 1 WHERE id = 1");
  std::optional<internal::SqlError> waited = blocked.get();
  ASSERT_NE(closing.has_value(), waited.has_value());
  Transaction& victim = closing ? *t2 : *t1;
  Transaction& survivor = closing ? *t1 : *t2;
  const Outcome lost = victim.commit();
  EXPECT_TRUE(lost.rolled_back()) << lost.to_string();
  EXPECT_NE(lost.reason.find("XA_RBDEADLOCK"), std::string::npos) << lost.to_string();
  const Outcome won = survivor.commit();
  EXPECT_TRUE(won.committed()) << won.to_string();
  EXPECT_EQ(query_plain("SELECT SUM(balance) FROM t WHERE id IN (1, 2)"), 202);
}

// With MariaDB's default innodb_rollback_on_timeout=OFF a lock wait timeout (1205) undoes only
// the statement that waited: the branch goes on, and commit() commits the rest of its work
// (include/xatm/mysql/mysql.h and docs/driver-mysql.md say so).
TEST_F(MysqlTransactionTest, LockWaitTimeoutUndoesOnlyTheStatementAndCommitCommitsTheRest) {
  ASSERT_TRUE(tm_->add(test_data_source("x")).ok());
  ASSERT_TRUE(tm_->start().ok());
  std::unique_ptr<sql::Connection> holder = plain_connection();
  ASSERT_FALSE(run(*holder, "BEGIN"));
  ASSERT_FALSE(run(*holder, "UPDATE t SET balance = balance + 1 WHERE id = 2"));  // holds row 2

  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok());
  ASSERT_FALSE(exec(*tx, "x", "SET SESSION innodb_lock_wait_timeout = 1"));
  ASSERT_FALSE(exec(*tx, "x", "UPDATE t SET balance = balance - 10 WHERE id = 1"));
  std::optional<internal::SqlError> timed_out =
      exec(*tx, "x", "UPDATE t SET balance = balance + 10 WHERE id = 2");
  ASSERT_TRUE(timed_out.has_value());
  EXPECT_EQ(timed_out->code, 1205) << timed_out->message;
  ASSERT_FALSE(exec(*tx, "x", "SET SESSION innodb_lock_wait_timeout = DEFAULT"));
  const Outcome outcome = tx->commit();
  EXPECT_TRUE(outcome.committed()) << outcome.to_string();
  ASSERT_FALSE(run(*holder, "ROLLBACK"));
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 1"), 90);   // kept
  EXPECT_EQ(query_plain("SELECT balance FROM t WHERE id = 2"), 100);  // the statement undone
}

TEST_F(MysqlTransactionTest, ConnectionRefusesOtherDriversAndUnknownNames) {
  auto fake = std::make_shared<fake::FakeResource>("not-mysql");
  ASSERT_TRUE(tm_->add(fake->make_handle()).ok());
  ASSERT_TRUE(tm_->add(test_data_source("x")).ok());
  ASSERT_TRUE(tm_->start().ok());
  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok());
  Result<sql::Connection*> other = mysql::connection(*tx, "not-mysql");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(other.status().message().find("'not-mysql'"), std::string::npos);
  Result<sql::Connection*> missing = mysql::connection(*tx, "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  // The same session on every call within one transaction.
  Result<sql::Connection*> first = mysql::connection(*tx, "x");
  Result<sql::Connection*> again = mysql::connection(*tx, "x");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(*first, *again);
  EXPECT_TRUE(tx->rollback().rolled_back());
}

TEST_F(MysqlTransactionTest, UnreachableDataSourceIsUnavailableAtEnlist) {
  DataSource config = test_data_source("down");
  config.unix_socket = "/nonexistent/xatm/mysqld.sock";
  // A new log: with a data source down, start() cannot tell whether a branch of this node is
  // prepared there, so it creates the log only when told to.
  tm_ = std::make_unique<TransactionManager>(
      Options{.node_name = "mysql-test", .log_dir = dir_ + "/log", .create_log_if_missing = true});
  ASSERT_TRUE(tm_->add(config).ok());
  ASSERT_TRUE(tm_->start().ok());
  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok());
  Result<sql::Connection*> connection = mysql::connection(*tx, "down");
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(connection.status().message().find(config.password), std::string::npos);
}

// Fail fast: a configuration the server refuses fails start() with the driver's code, naming the
// data source and never the password; an unreachable server only warns (the test above).
TEST_F(MysqlTransactionTest, AConfigurationTheServerRefusesFailsStart) {
  DataSource wrong_password = test_data_source("inventory");
  wrong_password.password = "not-the-password-4711";
  DataSource missing_database = test_data_source("inventory");
  missing_database.database = "no_such_database_4711";
  for (const DataSource& source : {wrong_password, missing_database}) {
    TransactionManager tm(Options{.node_name = "mysql-start", .log_dir = dir_ + "/start-log"});
    ASSERT_TRUE(tm.add(source).ok());
    const Status started = tm.start();
    EXPECT_EQ(started.code(), StatusCode::kInvalidArgument) << started.to_string();
    EXPECT_NE(started.message().find("start(): data source 'inventory'"), std::string::npos)
        << started.to_string();
    EXPECT_EQ(started.message().find("not-the-password-4711"), std::string::npos) << started.to_string();
    EXPECT_EQ(tm.begin().status().code(), StatusCode::kFailedPrecondition);
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/start-log")) << "nothing was opened";
  }
}

}  // namespace
}  // namespace xatm::mysql::testing
