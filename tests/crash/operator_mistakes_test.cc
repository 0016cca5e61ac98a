// An operator's mistake on real servers (label `crash`): a transaction crashes after its COMMIT
// decision is durable, both branches prepared, and the operator points `xatm-recover` at a
// mistyped log directory. It once created a new log there and rolled the branches back; now
// nothing is created, `run` refuses, a log created anyway leaves the branches to an operator,
// and the right directory commits them.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_connection.h>
#include <mysql_driver.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bank.h"
#include "testing/crash_points.h"
#include "driver_under_test.h"
#include "xatm/mysql/mysql.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/transaction_manager.h"

extern char** environ;

namespace xatm::crash {
namespace {

using testing::test_setting;

mysql::DataSource mariadb() {
  return {.name = "mariadb", .unix_socket = test_setting("MYSQL_SOCKET"),
          .user = test_setting("MYSQL_USER"), .password = test_setting("MYSQL_PASSWORD"),
          .database = test_setting("MYSQL_DATABASE")};
}

postgresql::DataSource postgres() {
  return {.name = "postgresql", .conninfo = test_setting("PG_CONNINFO")};
}

class OperatorMistakesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = "mistake-" + std::to_string(getpid());
    dir_ = (std::filesystem::temp_directory_path() / node_).string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    create_table();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Options options(const std::string& log_dir) const {
    Options options{.node_name = node_, .log_dir = log_dir};
    options.recovery_interval = std::chrono::milliseconds::zero();
    return options;
  }

  // The test's own TM for setting up and reading data: another node with its own log (two TMs
  // must never share a node name).
  Options helper_options() const {
    Options options{.node_name = node_ + "-h", .log_dir = dir_ + "/helper-log"};
    options.recovery_interval = std::chrono::milliseconds::zero();
    return options;
  }

  // DDL cannot run inside an XA branch: plain sessions.
  static void create_table() {
    const std::vector<std::string> statements = {
        "DROP TABLE IF EXISTS xatm_operator_rows",
        "CREATE TABLE xatm_operator_rows (id VARCHAR(64) PRIMARY KEY)"};
    sql::ConnectOptionsMap options;
    options["hostName"] = sql::SQLString("unix://" + test_setting("MYSQL_SOCKET"));
    options["userName"] = sql::SQLString(test_setting("MYSQL_USER"));
    options["password"] = sql::SQLString(test_setting("MYSQL_PASSWORD"));
    options["schema"] = sql::SQLString(test_setting("MYSQL_DATABASE"));
    std::unique_ptr<sql::Connection> my(sql::mysql::get_mysql_driver_instance()->connect(options));
    PGconn* pg = PQconnectdb(test_setting("PG_CONNINFO").c_str());
    ASSERT_EQ(PQstatus(pg), CONNECTION_OK) << PQerrorMessage(pg);
    for (const std::string& statement : statements) {
      std::unique_ptr<sql::Statement>(my->createStatement())->execute(statement);
      PGresult* result = PQexec(pg, statement.c_str());
      EXPECT_EQ(PQresultStatus(result), PGRES_COMMAND_OK) << PQerrorMessage(pg);
      PQclear(result);
    }
    PQfinish(pg);
  }

  static bool execute(Transaction& tx, const std::vector<std::string>& statements) {
    Result<sql::Connection*> my = mysql::connection(tx, "mariadb");
    Result<PGconn*> pg = postgresql::connection(tx, "postgresql");
    if (!my.ok() || !pg.ok()) return false;
    for (const std::string& statement : statements) {
      std::unique_ptr<sql::Statement>((*my)->createStatement())->execute(statement);
      PGresult* result = PQexec(*pg, statement.c_str());
      const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
      PQclear(result);
      if (!ok) return false;
    }
    return true;
  }

  // In a child process: one transaction inserting `id` on both databases, ended like kill -9
  // right after its COMMIT decision became durable. Both branches stay prepared.
  void crash_after_the_decision(const std::string& id) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      internal::set_crash_hook([](std::string_view point) {
        if (point == internal::kCrashAfterDecision) _exit(internal::kCrashExitCode);
      });
      TransactionManager tm(options(dir_ + "/log"));
      if (!tm.add(mariadb()).ok() || !tm.add(postgres()).ok() || !tm.start().ok()) _exit(2);
      Result<Transaction> tx = tm.begin();
      if (!tx.ok() || !execute(*tx, {"INSERT INTO xatm_operator_rows VALUES ('" + id + "')"})) _exit(3);
      tx->commit();
      _exit(0);  // not reached
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == internal::kCrashExitCode) << status;
  }

  // Prepared branches of this node on both servers.
  int prepared() {
    int count = 0;
    for (const std::unique_ptr<Resource>& resource : make_resources()) {
      auto session = resource->connect();
      EXPECT_TRUE(session.ok()) << session.status().to_string();
      if (!session.ok()) continue;
      for (const Xid& xid : (*session)->recover().xids) {
        Result<GtridInfo> info = decode_gtrid(xid);
        count += info.ok() && info->node_name == node_ ? 1 : 0;
      }
    }
    return count;
  }

  std::vector<std::unique_ptr<Resource>> make_resources() const {
    std::vector<std::unique_ptr<Resource>> resources;
    resources.push_back(mysql::make_resource(mariadb()));
    resources.push_back(postgresql::make_resource(postgres()));
    return resources;
  }

  // Rows with `id` on MariaDB and on PostgreSQL, committed.
  std::pair<int, int> rows(const std::string& id) {
    TransactionManager tm(helper_options());
    EXPECT_TRUE(tm.add(mariadb()).ok() && tm.add(postgres()).ok() && tm.start().ok());
    Result<Transaction> tx = tm.begin();
    const std::string query = "SELECT COUNT(*) FROM xatm_operator_rows WHERE id = '" + id + "'";
    std::unique_ptr<sql::ResultSet> my_rows(
        std::unique_ptr<sql::Statement>((*mysql::connection(*tx, "mariadb"))->createStatement())
            ->executeQuery(query));
    my_rows->next();
    PGresult* pg_rows = PQexec(*postgresql::connection(*tx, "postgresql"), query.c_str());
    std::pair<int, int> counts{my_rows->getInt(1), std::atoi(PQgetvalue(pg_rows, 0, 0))};
    PQclear(pg_rows);
    tx->rollback();
    return counts;
  }

  // Runs xatm-recover with a config naming `log_dir`; its exit code.
  int recover_tool(const std::vector<std::string>& command, const std::string& log_dir) {
    const std::string config = dir_ + "/node.json";
    std::ofstream(config) << R"({"node_name": ")" << node_ << R"(", "log_dir": ")" << log_dir
                          << R"(", "data_sources": [{"name": "mariadb", "driver": "mysql", "unix_socket": ")"
                          << test_setting("MYSQL_SOCKET") << R"(", "user": ")" << test_setting("MYSQL_USER")
                          << R"(", "password_env": "XATM_TEST_MYSQL_PASSWORD", "database": ")"
                          << test_setting("MYSQL_DATABASE") << R"("}, {"name": "postgresql", "driver": )"
                          << R"("postgresql", "conninfo": ")" << test_setting("PG_CONNINFO") << R"("}]})";
    std::vector<std::string> args{XATM_RECOVER_TOOL};
    args.insert(args.end(), command.begin(), command.end());
    args.insert(args.end(), {"--config", config});
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    setenv("XATM_TEST_MYSQL_PASSWORD", test_setting("MYSQL_PASSWORD").c_str(), 1);
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  std::string node_, dir_;
};

TEST_F(OperatorMistakesTest, MistypedLogDirectoryNeverTurnsACommitIntoARollback) {
  crash_after_the_decision("t1");
  ASSERT_EQ(prepared(), 2);
  const std::string typo = dir_ + "/lgo";
  EXPECT_EQ(recover_tool({"list"}, typo), 3);
  EXPECT_FALSE(std::filesystem::exists(typo)) << "list created a log";
  EXPECT_EQ(recover_tool({"run"}, typo), 3);
  EXPECT_FALSE(std::filesystem::exists(typo));
  EXPECT_EQ(prepared(), 2) << "run on a directory without a log resolved something";

  // The operator insists on a new log there: the branches predate it and wait for an operator.
  EXPECT_EQ(recover_tool({"run", "--create-log"}, typo), 1);
  EXPECT_EQ(prepared(), 2) << "a log born after the branches presumed them aborted";

  // A TransactionManager pointed at an empty directory refuses too.
  TransactionManager tm(options(dir_ + "/empty"));
  ASSERT_TRUE(tm.add(mariadb()).ok() && tm.add(postgres()).ok());
  EXPECT_EQ(tm.start().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(prepared(), 2);

  // The right directory holds the decision: both commit.
  EXPECT_EQ(recover_tool({"run"}, dir_ + "/log"), 0);
  EXPECT_EQ(prepared(), 0);
  EXPECT_EQ(rows("t1"), std::make_pair(1, 1));
}

}  // namespace
}  // namespace xatm::crash
