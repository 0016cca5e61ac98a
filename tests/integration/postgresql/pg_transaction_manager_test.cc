// The driver as an application uses it: tm.add(postgresql::DataSource{...}), connection(tx, name),
// ordinary SQL on the PGconn, tx.commit().
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <filesystem>

#include "pg_test_util.h"
#include "xatm/fake/fake_resource.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/transaction_manager.h"

namespace xatm::postgresql::testing {
namespace {

class PgTransactionManagerTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    std::string pattern = (std::filesystem::temp_directory_path() / "xatm-pg-tm-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    tm_ = std::make_unique<TransactionManager>(
        Options{.node_name = "pg-tm-test", .log_dir = dir_ + "/log"});
    ASSERT_TRUE(tm_->add(DataSource{.name = "x", .conninfo = conninfo()}).ok());
    ASSERT_TRUE(tm_->add(DataSource{.name = "y", .conninfo = conninfo()}).ok());
    ASSERT_TRUE(tm_->add(fake_->make_handle()).ok());
    ASSERT_TRUE(tm_->start().ok());
  }
  void TearDown() override {
    tm_.reset();
    std::filesystem::remove_all(dir_);
    PgTest::TearDown();
  }

  static void exec(PGconn* conn, const std::string& sql) {
    PGresult* result = PQexec(conn, sql.c_str());
    EXPECT_EQ(sqlstate_of(result), "") << sql << ": " << PQerrorMessage(conn);
    PQclear(result);
  }

  std::string dir_;
  std::shared_ptr<fake::FakeResource> fake_ = std::make_shared<fake::FakeResource>("fake");
  std::unique_ptr<TransactionManager> tm_;
};

TEST_F(PgTransactionManagerTest, OneDataSourceCommitsInOnePhase) {
  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok());
  Result<PGconn*> conn = connection(*tx, "x");
  ASSERT_TRUE(conn.ok()) << conn.status().to_string();
  EXPECT_EQ(PQtransactionStatus(*conn), PQTRANS_INTRANS);  // BEGIN done
  exec(*conn, "UPDATE t SET balance = balance + 5 WHERE id = 1");
  Result<PGconn*> again = connection(*tx, "x");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *conn);
  EXPECT_EQ(balance(1), 100);
  const Outcome outcome = tx->commit();
  EXPECT_TRUE(outcome.committed()) << outcome.to_string();
  EXPECT_EQ(balance(1), 105);
  EXPECT_EQ(tm_->stats().one_phase, 1u);
}

TEST_F(PgTransactionManagerTest, TwoDataSourcesCommitInTwoPhases) {
  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok());
  Result<PGconn*> x = connection(*tx, "x");
  Result<PGconn*> y = connection(*tx, "y");
  ASSERT_TRUE(x.ok() && y.ok());
  exec(*x, "UPDATE t SET balance = balance - 30 WHERE id = 1");
  exec(*y, "UPDATE t SET balance = balance + 30 WHERE id = 2");
  const Outcome outcome = tx->commit();
  EXPECT_TRUE(outcome.committed()) << outcome.to_string();
  EXPECT_EQ(balance(1), 70);
  EXPECT_EQ(balance(2), 130);
  EXPECT_TRUE(tm_->decision_log().open_decisions().empty());
}

TEST_F(PgTransactionManagerTest, AReadOnlyBranchLeavesNothingPrepared) {
  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok());
  Result<PGconn*> x = connection(*tx, "x");
  Result<PGconn*> y = connection(*tx, "y");
  ASSERT_TRUE(x.ok() && y.ok());
  exec(*x, "SELECT balance FROM t WHERE id = 1");
  exec(*y, "UPDATE t SET balance = 1 WHERE id = 2");
  const Outcome outcome = tx->commit();
  EXPECT_TRUE(outcome.committed()) << outcome.to_string();
  EXPECT_EQ(balance(2), 1);
}

TEST_F(PgTransactionManagerTest, AFailedStatementRollsTheWholeTransactionBack) {
  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok());
  Result<PGconn*> x = connection(*tx, "x");
  Result<PGconn*> y = connection(*tx, "y");
  ASSERT_TRUE(x.ok() && y.ok());
  exec(*x, "UPDATE t SET balance = 0 WHERE id = 1");
  PGresult* failed = PQexec(*y, "INSERT INTO t VALUES (2, 0)");
  EXPECT_EQ(sqlstate_of(failed), "23505");
  PQclear(failed);
  const Outcome outcome = tx->commit();
  EXPECT_TRUE(outcome.rolled_back()) << outcome.to_string();
  EXPECT_NE(outcome.to_string().find("XA_RBINTEGRITY"), std::string::npos) << outcome.to_string();
  EXPECT_EQ(balance(1), 100);
}

TEST_F(PgTransactionManagerTest, RollbackAndDestroyingAnUnfinishedTransactionUndoTheWork) {
  {
    Result<Transaction> tx = tm_->begin();
    ASSERT_TRUE(tx.ok());
    Result<PGconn*> x = connection(*tx, "x");
    ASSERT_TRUE(x.ok());
    exec(*x, "UPDATE t SET balance = 0 WHERE id = 1");
  }  // destroyed without commit
  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok());
  Result<PGconn*> x = connection(*tx, "x");
  ASSERT_TRUE(x.ok());
  exec(*x, "UPDATE t SET balance = 0 WHERE id = 2");
  EXPECT_TRUE(tx->rollback().rolled_back());
  EXPECT_EQ(balance(1), 100);
  EXPECT_EQ(balance(2), 100);
}

TEST_F(PgTransactionManagerTest, ConnectionOfAnotherDriversDataSourceIsInvalidArgument) {
  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok());
  Result<PGconn*> conn = connection(*tx, "fake");
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(conn.status().message().find("'fake'"), std::string::npos);
  EXPECT_EQ(connection(*tx, "nope").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(tx->rollback().rolled_back());
}

}  // namespace
}  // namespace xatm::postgresql::testing
