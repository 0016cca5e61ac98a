// The driver as an application uses it: tm.add(postgresql::DataSource{...}), connection(tx, name),
// ordinary SQL on the PGconn, tx.commit().
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

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

// Fail fast: a configuration the server refuses fails start() with the driver's code, naming the
// data source and never the password: a wrong password, a missing database,
// max_prepared_transactions = 0. An unreachable server only warns: start() goes on.
TEST(PgStartTest, AConfigurationTheServerRefusesFailsStartNamingTheDataSource) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("xatm-pg-start-" + std::to_string(::getpid()))).string();
  struct Case {
    DataSource source;
    StatusCode code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{.name = "billing", .conninfo = conninfo(), .password = kProbePassword},
       StatusCode::kInvalidArgument, "password authentication failed"},
      {{.name = "billing", .conninfo = conninfo(), .dbname = "xatm_no_such_db"},
       StatusCode::kInvalidArgument, "xatm_no_such_db"},
      {{.name = "billing", .conninfo = noprepare_conninfo()},
       StatusCode::kFailedPrecondition, "max_prepared_transactions"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.says);
    TransactionManager tm(Options{.node_name = "pg-start", .log_dir = dir});
    ASSERT_TRUE(tm.add(c.source).ok());
    const Status started = tm.start();
    EXPECT_EQ(started.code(), c.code) << started.to_string();
    EXPECT_NE(started.message().find("start(): data source 'billing'"), std::string::npos)
        << started.to_string();
    EXPECT_NE(started.message().find(c.says), std::string::npos) << started.to_string();
    EXPECT_EQ(started.message().find(kProbePassword), std::string::npos) << started.to_string();
    EXPECT_FALSE(std::filesystem::exists(dir)) << "nothing was opened";
  }
  Options unreachable_options{.node_name = "pg-start", .log_dir = dir};
  unreachable_options.create_log_if_missing = true;  // whether it holds a prepared branch is unknown
  TransactionManager unreachable(unreachable_options);
  ASSERT_TRUE(unreachable.add(DataSource{.name = "billing", .conninfo = "host=/nonexistent-xatm-dir connect_timeout=2"}).ok());
  const Status started = unreachable.start();
  EXPECT_TRUE(started.ok()) << started.to_string();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace xatm::postgresql::testing
