// Timeouts on real servers (label `crash`, as it needs both): the reaper rolls back a transaction
// past its deadline while its thread is stuck in a statement, and releases its locks within
// the deadline + 1 s, on MariaDB and on PostgreSQL; a deadlock across the two databases, which
// neither server can see, ends at the first deadline instead of a lock-wait timeout.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <cppconn/exception.h>
#include <cppconn/statement.h>
#include <libpq-fe.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include "bank_test.h"
#include "xatm/mysql/mysql.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/transaction_manager.h"

namespace xatm::crash {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kTimeout{1000};
// The promise: locks are released within the deadline + 1 s.
constexpr milliseconds kReleasedWithin = kTimeout + milliseconds(1000);

// Runs `sql` on a MariaDB session; the error message, or "" when it succeeded.
std::string run_mariadb(sql::Connection& connection, const std::string& sql) {
  try {
    std::unique_ptr<sql::Statement>(connection.createStatement())->execute(sql);
    return "";
  } catch (const sql::SQLException& e) {
    return std::string("MariaDB error ") + std::to_string(e.getErrorCode()) + ": " + e.what();
  }
}

// Runs `sql` on a PostgreSQL session; the error message, or "" when it succeeded.
std::string run_postgresql(PGconn* connection, const std::string& sql) {
  PGresult* result = PQexec(connection, sql.c_str());
  const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  std::string error = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK
                          ? ""
                          : std::string("PostgreSQL error: ") + PQerrorMessage(connection);
  PQclear(result);
  return error;
}

class TimeoutTest : public BankTest {
 protected:
  void SetUp() override {
    BankTest::SetUp();
    if (HasFatalFailure()) return;
    log_dir_ = (std::filesystem::temp_directory_path() / ("timeout-" + std::to_string(getpid()))).string();
    std::filesystem::remove_all(log_dir_);
    Options options{.node_name = "timeouts", .log_dir = log_dir_};
    options.recovery_interval = milliseconds::zero();
    tm_ = std::make_unique<TransactionManager>(options);
    ASSERT_TRUE(tm_->add(mysql::DataSource{.name = "mariadb",
                                           .unix_socket = servers_.mysql_socket,
                                           .user = servers_.mysql_user,
                                           .password = servers_.mysql_password,
                                           .database = servers_.mysql_database})
                    .ok());
    ASSERT_TRUE(tm_->add(postgresql::DataSource{.name = "postgresql", .conninfo = servers_.pg_conninfo}).ok());
    ASSERT_TRUE(tm_->start().ok());
  }
  void TearDown() override {
    tm_.reset();
    std::filesystem::remove_all(log_dir_);
  }

  // A transaction on both databases.
  struct Enlisted {
    Transaction tx;
    sql::Connection* mariadb;
    PGconn* postgresql;
  };
  Enlisted begin_on_both(milliseconds timeout) {
    Result<Transaction> tx = tm_->begin(timeout);
    if (!tx.ok()) throw std::runtime_error(tx.status().to_string());
    Result<sql::Connection*> mariadb = mysql::connection(*tx, "mariadb");
    Result<PGconn*> postgres = postgresql::connection(*tx, "postgresql");
    if (!mariadb.ok() || !postgres.ok()) throw std::runtime_error("enlist failed");
    return {std::move(*tx), *mariadb, *postgres};
  }

  // How long until a plain session of each database may update account `id`, waiting for its
  // lock (bounded at 20 s).
  milliseconds time_to_lock_mariadb(int id) {
    Result<std::unique_ptr<sql::Connection>> connection = plain_mariadb();
    if (!connection.ok()) throw std::runtime_error(connection.status().to_string());
    const auto started = steady_clock::now();
    EXPECT_EQ(run_mariadb(**connection, "SET SESSION innodb_lock_wait_timeout = 20"), "");
    EXPECT_EQ(run_mariadb(**connection, "UPDATE crash_accounts SET balance = balance WHERE id = " +
                                            std::to_string(id)),
              "");
    return std::chrono::duration_cast<milliseconds>(steady_clock::now() - started);
  }
  milliseconds time_to_lock_postgresql(int id) {
    PGconn* connection = PQconnectdb(servers_.pg_conninfo.c_str());
    const auto started = steady_clock::now();
    EXPECT_EQ(run_postgresql(connection, "SET lock_timeout = '20s'"), "");
    EXPECT_EQ(run_postgresql(connection, "UPDATE crash_accounts SET balance = balance WHERE id = " +
                                             std::to_string(id)),
              "");
    const auto waited = std::chrono::duration_cast<milliseconds>(steady_clock::now() - started);
    PQfinish(connection);
    return waited;
  }

  Result<std::unique_ptr<sql::Connection>> plain_mariadb() {
    try {
      sql::ConnectOptionsMap options;
      options["socket"] = servers_.mysql_socket;
      options["userName"] = servers_.mysql_user;
      options["password"] = servers_.mysql_password;
      options["schema"] = servers_.mysql_database;
      return std::unique_ptr<sql::Connection>(sql::mysql::get_mysql_driver_instance()->connect(options));
    } catch (const sql::SQLException& e) {
      return unavailable_error(e.what());
    }
  }

  std::string log_dir_;
  std::unique_ptr<TransactionManager> tm_;
};

TEST_F(TimeoutTest, AStatementStuckInPostgresqlIsCancelledAndItsLocksReleased) {
  const auto begun = steady_clock::now();
  Enlisted work = begin_on_both(kTimeout);
  ASSERT_EQ(run_mariadb(*work.mariadb, "UPDATE crash_accounts SET balance = balance - 5 WHERE id = 2"), "");
  ASSERT_EQ(run_postgresql(work.postgresql, "UPDATE crash_accounts SET balance = balance + 5 WHERE id = 2"), "");
  auto other_mariadb = std::async(std::launch::async, [&] { return time_to_lock_mariadb(2); });
  auto other_postgresql = std::async(std::launch::async, [&] { return time_to_lock_postgresql(2); });

  const std::string stuck = run_postgresql(work.postgresql, "SELECT pg_sleep(30)");
  const auto returned = steady_clock::now() - begun;
  EXPECT_NE(stuck, "") << "the stuck statement should have been ended";
  EXPECT_LT(returned, kReleasedWithin);
  EXPECT_LT(other_mariadb.get(), kReleasedWithin);
  EXPECT_LT(other_postgresql.get(), kReleasedWithin);

  Outcome outcome = work.tx.commit();
  EXPECT_TRUE(outcome.rolled_back()) << outcome.to_string();
  EXPECT_NE(outcome.reason.find("timed out"), std::string::npos) << outcome.reason;
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
  EXPECT_EQ(bank_->prepared_of_node("timeouts").value(), 0);
  EXPECT_EQ(tm_->stats().timed_out, 1u);
}

TEST_F(TimeoutTest, AStatementStuckInMariadbIsKilledAndItsLocksReleased) {
  const auto begun = steady_clock::now();
  Enlisted work = begin_on_both(kTimeout);
  ASSERT_EQ(run_postgresql(work.postgresql, "UPDATE crash_accounts SET balance = balance + 5 WHERE id = 3"), "");
  ASSERT_EQ(run_mariadb(*work.mariadb, "UPDATE crash_accounts SET balance = balance - 5 WHERE id = 3"), "");
  auto other_mariadb = std::async(std::launch::async, [&] { return time_to_lock_mariadb(3); });
  auto other_postgresql = std::async(std::launch::async, [&] { return time_to_lock_postgresql(3); });

  const std::string stuck = run_mariadb(*work.mariadb, "SELECT SLEEP(30)");
  const auto returned = steady_clock::now() - begun;
  // MariaDB answers a KILLed SLEEP() with 1, or the connection is gone: either way it returned.
  EXPECT_LT(returned, kReleasedWithin) << stuck;
  EXPECT_LT(other_mariadb.get(), kReleasedWithin);
  EXPECT_LT(other_postgresql.get(), kReleasedWithin);

  // The next call on the transaction names the timeout.
  Result<XaConnection*> again = work.tx.enlist("mariadb");
  EXPECT_EQ(again.status().code(), StatusCode::kAborted);
  EXPECT_NE(again.status().message().find("timed out"), std::string::npos) << again.status().to_string();
  Outcome outcome = work.tx.rollback();
  EXPECT_TRUE(outcome.rolled_back()) << outcome.to_string();
  EXPECT_NE(outcome.reason.find("timed out"), std::string::npos) << outcome.reason;
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);

  // The data sources' pools work on: the ended sessions were not pooled.
  Enlisted next = begin_on_both(std::chrono::seconds(30));
  EXPECT_EQ(run_mariadb(*next.mariadb, "UPDATE crash_accounts SET balance = balance - 7 WHERE id = 3"), "");
  EXPECT_EQ(run_postgresql(next.postgresql, "UPDATE crash_accounts SET balance = balance + 7 WHERE id = 3"), "");
  EXPECT_TRUE(next.tx.commit().committed());
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
}

// A deadlock across the databases: the first transaction locks a row in one database and waits
// for a row in the other that the second transaction locked; the second waits for the first's
// row. Neither server sees a cycle. The first times out: the reaper ends its sessions, and the
// second goes on and commits, well before MariaDB's lock-wait timeout (raised to 50 s here).
class CrossDatabaseDeadlockTest : public TimeoutTest, public ::testing::WithParamInterface<bool> {};

INSTANTIATE_TEST_SUITE_P(Order, CrossDatabaseDeadlockTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "MariadbFirst" : "PostgresqlFirst";
                         });

TEST_P(CrossDatabaseDeadlockTest, EndsAtTheFirstDeadline) {
  const bool mariadb_first = GetParam();
  const auto begun = steady_clock::now();
  Enlisted first = begin_on_both(kTimeout);
  Enlisted second = begin_on_both(std::chrono::seconds(30));
  for (Enlisted* work : {&first, &second}) {
    ASSERT_EQ(run_mariadb(*work->mariadb, "SET SESSION innodb_lock_wait_timeout = 50"), "");
  }
  auto lock_mariadb = [](Enlisted& work, int id) {
    return run_mariadb(*work.mariadb, "UPDATE crash_accounts SET balance = balance - 1 WHERE id = " + std::to_string(id));
  };
  auto lock_postgresql = [](Enlisted& work, int id) {
    return run_postgresql(work.postgresql, "UPDATE crash_accounts SET balance = balance + 1 WHERE id = " + std::to_string(id));
  };
  // first holds row 4 of its first database; second holds row 4 of the other one.
  ASSERT_EQ(mariadb_first ? lock_mariadb(first, 4) : lock_postgresql(first, 4), "");
  ASSERT_EQ(mariadb_first ? lock_postgresql(second, 4) : lock_mariadb(second, 4), "");
  auto first_waits = std::async(std::launch::async, [&] {
    return mariadb_first ? lock_postgresql(first, 4) : lock_mariadb(first, 4);
  });
  std::this_thread::sleep_for(milliseconds(100));  // first is waiting for second's lock
  const std::string second_waited = mariadb_first ? lock_mariadb(second, 4) : lock_postgresql(second, 4);
  const auto unblocked = steady_clock::now() - begun;
  EXPECT_EQ(second_waited, "") << "second should get first's lock once first is rolled back";
  EXPECT_LT(unblocked, kReleasedWithin);
  first_waits.get();  // its session was ended: an error, or (rarely) the lock once second is done

  Outcome second_outcome = second.tx.commit();
  EXPECT_TRUE(second_outcome.committed()) << second_outcome.to_string();
  Outcome first_outcome = first.tx.commit();
  EXPECT_TRUE(first_outcome.rolled_back()) << first_outcome.to_string();
  EXPECT_NE(first_outcome.reason.find("timed out"), std::string::npos) << first_outcome.reason;
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
  EXPECT_EQ(bank_->prepared_of_node("timeouts").value(), 0);
}

}  // namespace
}  // namespace xatm::crash
