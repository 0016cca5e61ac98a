// Database failures and multi-node safety (label `crash`): a server killed with SIGKILL during
// phase 1 and during phase 2 and restarted; two TransactionManagers with different node names
// on the same databases. The TM must report outcomes honestly and recovery must finish every
// transaction once the server is back, never touching another node's branches.
#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include <cppconn/exception.h>
#include <cppconn/statement.h>
#include <libpq-fe.h>
#include <mysql_connection.h>

#include "bank_test.h"
#include "testing/crash_points.h"
#include "driver_under_test.h"
#include "xatm/mysql/mysql.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/transaction_manager.h"

namespace xatm::crash {
namespace {

using testing::run_test_servers;

class DatabaseFailureTest : public BankTest {
 protected:
  void TearDown() override {
    internal::set_crash_hook({});
    managers_.clear();
    for (const std::string& dir : log_dirs_) std::filesystem::remove_all(dir);
  }

  // `decision_table`: PostgreSQL's decision table (logging last resource), none when empty;
  // with one, transactions time out after 2 s so that recovery may presume abort soon.
  TransactionManager& manager(const std::string& node, bool sequential_phases = true,
                              const std::string& decision_table = "") {
    const std::string dir =
        (std::filesystem::temp_directory_path() / (node + "-" + std::to_string(getpid()))).string();
    std::filesystem::remove_all(dir);
    log_dirs_.push_back(dir);
    Options options{.node_name = node, .log_dir = dir};
    options.phase_threads = sequential_phases ? 0 : 2;
    options.phase2_retry_window = std::chrono::seconds(1);
    options.recovery_interval = std::chrono::milliseconds::zero();
    if (!decision_table.empty()) {
      options.default_timeout = std::chrono::seconds(2);
      options.recovery_grace = std::chrono::seconds(1);
    }
    auto tm = std::make_unique<TransactionManager>(options);
    EXPECT_TRUE(tm->add(mysql::DataSource{.name = "mariadb",
                                          .unix_socket = servers_.mysql_socket,
                                          .user = servers_.mysql_user,
                                          .password = servers_.mysql_password,
                                          .database = servers_.mysql_database,
                                          .connect_timeout = std::chrono::seconds(1)})
                    .ok());
    EXPECT_TRUE(tm->add(postgresql::DataSource{.name = "postgresql",
                                               .conninfo = servers_.pg_conninfo,
                                               .decision_table = decision_table})
                    .ok());
    EXPECT_TRUE(tm->start().ok());
    managers_.push_back(std::move(tm));
    return *managers_.back();
  }

  // Begins a transfer of `amount` from MariaDB account 1 to PostgreSQL account 1.
  static Transaction begin_transfer(TransactionManager& tm, std::int64_t amount) {
    Result<Transaction> tx = tm.begin();
    if (!tx.ok()) throw std::runtime_error(tx.status().to_string());
    Result<sql::Connection*> mariadb = mysql::connection(*tx, "mariadb");
    Result<PGconn*> postgres = postgresql::connection(*tx, "postgresql");
    if (!mariadb.ok() || !postgres.ok()) throw std::runtime_error("enlist failed");
    std::unique_ptr<sql::Statement>((*mariadb)->createStatement())
        ->executeUpdate("UPDATE crash_accounts SET balance = balance - " + std::to_string(amount) + " WHERE id = 1");
    PGresult* result = PQexec(*postgres, ("UPDATE crash_accounts SET balance = balance + " +
                                          std::to_string(amount) + " WHERE id = 1").c_str());
    EXPECT_EQ(PQresultStatus(result), PGRES_COMMAND_OK);
    PQclear(result);
    return std::move(*tx);
  }

  // Recovery passes until nothing of `node` is left prepared (the restarted server may need a
  // moment); returns how many are left.
  int recover_until_clean(TransactionManager& tm, const std::string& node) {
    int left = -1;
    for (int pass = 0; pass < 50 && left != 0; ++pass) {
      EXPECT_TRUE(tm.recover().ok());
      left = bank_->prepared_of_node(node).value();
      if (left != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return left;
  }

  std::vector<std::unique_ptr<TransactionManager>> managers_;
  std::vector<std::string> log_dirs_;
};

TEST_F(DatabaseFailureTest, ServerKilledDuringPhaseOneRollsBackHonestly) {
  TransactionManager& tm = manager("dbfail-p1");
  Transaction tx = begin_transfer(tm, 10);
  internal::set_crash_hook([&](std::string_view point) {
    if (point == internal::kCrashBeforePrepare) {
      internal::set_crash_hook({});
      ASSERT_TRUE(run_test_servers("kill mariadb").ok());  // before MariaDB's prepare
    }
  });
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kRolledBack) << outcome.to_string();
  ASSERT_TRUE(run_test_servers("start").ok());
  Result<std::unique_ptr<Bank>> bank = Bank::open(servers_);  // the old session died with it
  ASSERT_TRUE(bank.ok());
  bank_ = std::move(*bank);
  EXPECT_EQ(recover_until_clean(tm, "dbfail-p1"), 0);
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
}

TEST_F(DatabaseFailureTest, ServerKilledDuringPhaseTwoIsCommittedByRecovery) {
  TransactionManager& tm = manager("dbfail-p2");
  Transaction tx = begin_transfer(tm, 10);
  internal::set_crash_hook([&](std::string_view point) {
    if (point == internal::kCrashAfterDecision) {
      internal::set_crash_hook({});
      ASSERT_TRUE(run_test_servers("kill mariadb").ok());  // the decision is durable: commit
    }
  });
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kCommitted) << outcome.to_string();
  EXPECT_TRUE(outcome.pending()) << "MariaDB could not confirm: it is down";
  ASSERT_TRUE(run_test_servers("start").ok());
  Result<std::unique_ptr<Bank>> bank = Bank::open(servers_);
  ASSERT_TRUE(bank.ok());
  bank_ = std::move(*bank);
  EXPECT_EQ(recover_until_clean(tm, "dbfail-p2"), 0);
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
  EXPECT_TRUE(tm.decision_log().open_decisions().empty());
}

TEST_F(DatabaseFailureTest, PostgresKilledDuringPhaseTwoIsCommittedByRecovery) {
  TransactionManager& tm = manager("dbfail-pg");
  Transaction tx = begin_transfer(tm, 7);
  internal::set_crash_hook([&](std::string_view point) {
    // The decision is durable and PostgreSQL's COMMIT PREPARED not sent yet (it is sent first
    // in phase 2, so that MariaDB's XA COMMIT overlaps it): MariaDB commits, PostgreSQL cannot.
    if (point == internal::kCrashAfterDecision) {
      internal::set_crash_hook({});
      ASSERT_TRUE(run_test_servers("kill postgresql").ok());
    }
  });
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kCommitted) << outcome.to_string();
  EXPECT_TRUE(outcome.pending());
  ASSERT_TRUE(run_test_servers("start").ok());
  Result<std::unique_ptr<Bank>> bank = Bank::open(servers_);
  ASSERT_TRUE(bank.ok());
  bank_ = std::move(*bank);
  EXPECT_EQ(recover_until_clean(tm, "dbfail-pg"), 0);
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
}

// PostgreSQL keeps the decision table and dies just before the decision's commit reaches it:
// the commit's answer is lost and the fence cannot be written, so the outcome is unknown; once
// PostgreSQL is back, recovery fences and rolls MariaDB's prepared branch back.
TEST_F(DatabaseFailureTest, PostgresKilledBeforeTheDecisionCommitEndsRolledBackByRecovery) {
  TransactionManager& tm = manager("dbfail-llr1", true, "xatm_dbfail_decisions");
  Transaction tx = begin_transfer(tm, 6);
  internal::set_crash_hook([&](std::string_view point) {
    if (point == internal::kCrashBeforeDecisionCommit) {
      internal::set_crash_hook({});
      ASSERT_TRUE(run_test_servers("kill postgresql").ok());
    }
  });
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kUnknown) << outcome.to_string();
  EXPECT_NE(outcome.reason.find("fence"), std::string::npos) << outcome.to_string();
  ASSERT_TRUE(run_test_servers("start").ok());
  Result<std::unique_ptr<Bank>> bank = Bank::open(servers_);
  ASSERT_TRUE(bank.ok());
  bank_ = std::move(*bank);
  EXPECT_EQ(bank_->prepared_of_node("dbfail-llr1").value(), 1) << "MariaDB's branch waits";
  std::this_thread::sleep_for(std::chrono::seconds(3));  // past the deadline and the grace
  EXPECT_EQ(recover_until_clean(tm, "dbfail-llr1"), 0);
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
}

// The decision is committed in PostgreSQL's table, then MariaDB dies before its phase 2: the
// application is told committed (pending), and recovery commits MariaDB's branch from the row.
TEST_F(DatabaseFailureTest, MariadbKilledAfterTheDecisionCommitIsCommittedByRecovery) {
  TransactionManager& tm = manager("dbfail-llr2", true, "xatm_dbfail_decisions");
  Transaction tx = begin_transfer(tm, 8);
  internal::set_crash_hook([&](std::string_view point) {
    if (point == internal::kCrashAfterDecisionCommit) {
      internal::set_crash_hook({});
      ASSERT_TRUE(run_test_servers("kill mariadb").ok());
    }
  });
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kCommitted) << outcome.to_string();
  EXPECT_TRUE(outcome.pending()) << "MariaDB could not confirm: it is down";
  EXPECT_TRUE(tm.decision_log().open_decisions().empty()) << "the decision is in the table, not the log";
  ASSERT_TRUE(run_test_servers("start").ok());
  Result<std::unique_ptr<Bank>> bank = Bank::open(servers_);
  ASSERT_TRUE(bank.ok());
  bank_ = std::move(*bank);
  EXPECT_EQ(recover_until_clean(tm, "dbfail-llr2"), 0);
  Result<std::int64_t> total = bank_->total();
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(*total, kExpectedTotal);
}

TEST_F(DatabaseFailureTest, RecoveryOfOneNodeNeverTouchesAnotherNodesBranches) {
  TransactionManager& busy = manager("node-busy");
  TransactionManager& other = manager("node-other");
  Transaction tx = begin_transfer(busy, 5);
  std::mutex mutex;
  std::condition_variable changed;
  bool paused = false, resume = false;
  internal::set_crash_hook([&](std::string_view point) {
    if (point != internal::kCrashAfterDecision) return;
    std::unique_lock lock(mutex);
    paused = true;
    changed.notify_all();
    changed.wait(lock, [&] { return resume; });  // both branches prepared, decision logged
  });
  std::future<Outcome> outcome = std::async(std::launch::async, [&] { return tx.commit(); });
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(20), [&] { return paused; }));
  }
  EXPECT_EQ(bank_->prepared_of_node("node-busy").value(), 2);
  Result<RecoveryReport> report = other.recover();  // the other node: nothing of it is ours
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->branches.empty());
  EXPECT_EQ(bank_->prepared_of_node("node-busy").value(), 2) << "node-other left them alone";
  {
    std::lock_guard lock(mutex);
    resume = true;
  }
  changed.notify_all();
  EXPECT_TRUE(outcome.get().committed());
  EXPECT_EQ(bank_->prepared_of_node("node-busy").value(), 0);
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
}

}  // namespace
}  // namespace xatm::crash
