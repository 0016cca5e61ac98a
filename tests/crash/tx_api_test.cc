// The X/Open TX C API (include/xatm/tx.h) on the real servers (label `crash`, as it needs both):
// a C program (tx_program.c, compiled as C) runs global transactions through tx_open /
// tx_begin / tx_commit / tx_rollback, configured by the JSON file xatm-recover reads, and checks
// every return code; this test then checks what it left in both databases.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <libpq-fe.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include "bank_test.h"

namespace xatm::crash {
namespace {

class TxApiTest : public BankTest {
 protected:
  void SetUp() override {
    BankTest::SetUp();
    if (HasFatalFailure()) return;
    dir_ = (std::filesystem::temp_directory_path() / ("tx-api-" + std::to_string(getpid()))).string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The config file xatm-recover would read for this node.
  std::string write_config() const {
    const std::string path = dir_ + "/node.json";
    std::ofstream(path) << R"({"node_name": "tx-api", "log_dir": ")" << dir_ << R"(/log", )"
                        << R"("data_sources": [{"name": "mariadb", "driver": "mysql", "unix_socket": ")"
                        << servers_.mysql_socket << R"(", "user": ")" << servers_.mysql_user
                        << R"(", "password_env": "XATM_TX_TEST_MYSQL_PASSWORD", "database": ")"
                        << servers_.mysql_database << R"("}, {"name": "postgresql", "driver": )"
                        << R"("postgresql", "conninfo": ")" << servers_.pg_conninfo << R"("}]})";
    return path;
  }

  // A config whose data sources are xatm's own switches, adopted as any xa_switch_t and found
  // in the program (no "library": the program links them). The MariaDB info string, with its
  // password, comes from the environment.
  std::string write_switch_config() const {
    const std::string path = dir_ + "/switches.json";
    std::ofstream(path) << R"({"node_name": "tx-switch", "log_dir": ")" << dir_ << R"(/log", )"
                        << R"("data_sources": [{"name": "ledger-mariadb", "driver": "xa_switch", )"
                        << R"("symbol": "xatm_mysql_xa_switch", "open_info_env": "XATM_TX_TEST_MYSQL_INFO"}, )"
                        << R"({"name": "ledger-pg", "driver": "xa_switch", )"
                        << R"("symbol": "xatm_postgresql_xa_switch", "open_info": "name=ledger-pg )"
                        << servers_.pg_conninfo << R"("}], "default_timeout_s": 3})";
    return path;
  }

  // Runs the C program with XATM_CONFIG=`config` (and `mode` as its argument when not empty);
  // its exit status (its output goes to ours).
  int run_program(const std::string& config, const std::string& mysql_password,
                  const std::string& mode = "", const std::string& argument = "") const {
    const std::string mysql_info = "name=ledger-mariadb unix_socket=" + servers_.mysql_socket +
                                   " user=" + servers_.mysql_user + " password='" +
                                   servers_.mysql_password + "' database=" + servers_.mysql_database;
    const pid_t pid = fork();
    if (pid == 0) {
      setenv("XATM_CONFIG", config.c_str(), 1);                            // NOLINT(concurrency-mt-unsafe)
      setenv("XATM_TX_TEST_MYSQL_PASSWORD", mysql_password.c_str(), 1);    // NOLINT(concurrency-mt-unsafe)
      setenv("XATM_TX_TEST_MYSQL_INFO", mysql_info.c_str(), 1);            // NOLINT(concurrency-mt-unsafe)
      if (mode.empty()) {
        execl(XATM_TX_PROGRAM, XATM_TX_PROGRAM, static_cast<char*>(nullptr));
      } else {
        execl(XATM_TX_PROGRAM, XATM_TX_PROGRAM, mode.c_str(), argument.c_str(),
              static_cast<char*>(nullptr));
      }
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  long long mariadb_balance(int id) const {
    sql::ConnectOptionsMap options;
    options["socket"] = servers_.mysql_socket;
    options["userName"] = servers_.mysql_user;
    options["password"] = servers_.mysql_password;
    options["schema"] = servers_.mysql_database;
    std::unique_ptr<sql::Connection> connection(sql::mysql::get_mysql_driver_instance()->connect(options));
    std::unique_ptr<sql::Statement> statement(connection->createStatement());
    std::unique_ptr<sql::ResultSet> row(statement->executeQuery(
        "SELECT balance FROM crash_accounts WHERE id = " + std::to_string(id)));
    return row->next() ? row->getInt64(1) : -1;
  }

  long long postgresql_balance(int id) const {
    PGconn* connection = PQconnectdb(servers_.pg_conninfo.c_str());
    PGresult* result = PQexec(connection, ("SELECT balance FROM crash_accounts WHERE id = " +
                                           std::to_string(id)).c_str());
    const long long balance = PQntuples(result) == 1 ? std::atoll(PQgetvalue(result, 0, 0)) : -1;
    PQclear(result);
    PQfinish(connection);
    return balance;
  }

  std::string dir_;
};

TEST_F(TxApiTest, ACProgramRunsGlobalTransactionsThroughTx) {
  ASSERT_EQ(run_program(write_config(), servers_.mysql_password), 0) << "see the program's FAIL lines";
  EXPECT_EQ(mariadb_balance(5), kOpeningBalance - 11);  // 10 committed, 1 committed chained
  EXPECT_EQ(postgresql_balance(5), kOpeningBalance + 11);
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
  EXPECT_EQ(bank_->prepared_of_node("tx-api").value(), 0);
}

TEST_F(TxApiTest, ACProgramReachesAdoptedSwitchesInTheirThreadsOfControl) {
  ASSERT_EQ(run_program(write_switch_config(), servers_.mysql_password, "switches"), 0)
      << "see the program's FAIL lines";
  EXPECT_EQ(mariadb_balance(6), kOpeningBalance - 7);  // 7 committed; 500 and 300 rolled back
  EXPECT_EQ(postgresql_balance(6), kOpeningBalance + 7);
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
  EXPECT_EQ(bank_->prepared_of_node("tx-switch").value(), 0);
}

TEST_F(TxApiTest, TxOpenWithoutAUsableConfigFailsNamingTheFile) {
  // No such file: tx_open answers TX_FAIL (a fatal error), and tx_begin a protocol error.
  EXPECT_EQ(run_program(dir_ + "/missing.json", servers_.mysql_password, "open-fails",
                        "missing.json"),
            0);
}

TEST_F(TxApiTest, TxOpenThatFailsHalfWayLeavesNothingOpen) {
  // The config reads, but the transaction manager refuses the data source's name: every
  // tx_open fails, never a later one answering TX_OK over a manager that was never started.
  const std::string path = dir_ + "/bad-name.json";
  std::ofstream(path) << R"({"node_name": "tx-api", "log_dir": ")" << dir_ << R"(/log", )"
                      << R"("data_sources": [{"name": "bad name", "driver": "postgresql", )"
                      << R"("conninfo": ")" << servers_.pg_conninfo << R"("}]})";
  EXPECT_EQ(run_program(path, servers_.mysql_password, "open-fails", "bad name"), 0);
}

}  // namespace
}  // namespace xatm::crash
