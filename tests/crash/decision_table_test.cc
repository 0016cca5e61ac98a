// Decisions inside a participant (logging last resource) against the real MariaDB and
// PostgreSQL: PostgreSQL keeps the decision table, and a transfer across both databases decides
// inside PostgreSQL's own commit. What the application is told, what the log and the table
// hold, and what happens when the decision's answer is lost. (The crash loop of crash_test.cc
// kills the same path at every point.)
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <mysql_connection.h>
#include <mysql_driver.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "bank_test.h"
#include "xatm/decision_log.h"
#include "xatm/mysql/mysql.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/transaction_manager.h"

namespace xatm::crash {
namespace {


constexpr const char* kTable = "xatm_llr_test_decisions";

// The file log, counting the COMMIT records written to it.
class CountingLog final : public DecisionLog {
 public:
  explicit CountingLog(std::unique_ptr<DecisionLog> log) : log_(std::move(log)) {}
  Status log_commit(const CommitRecord& record) override {
    ++commits;
    return log_->log_commit(record);
  }
  Status log_done(const Xid& global) override { return log_->log_done(global); }
  Status log_heuristic(const HeuristicRecord& record) override { return log_->log_heuristic(record); }
  Status log_forget(const DecisionBranch& branch) override { return log_->log_forget(branch); }
  std::chrono::system_clock::time_point birth() const override { return log_->birth(); }
  std::uint64_t sequence_limit() const override { return log_->sequence_limit(); }
  Status reserve_sequences(std::uint64_t limit) override { return log_->reserve_sequences(limit); }
  std::vector<CommitRecord> open_decisions() const override { return log_->open_decisions(); }
  std::vector<HeuristicRecord> open_heuristics() const override { return log_->open_heuristics(); }
  Status health() const override { return log_->health(); }

  std::atomic<int> commits{0};

 private:
  std::unique_ptr<DecisionLog> log_;
};

class DecisionTableTest : public BankTest {
 protected:
  void SetUp() override {
    BankTest::SetUp();
    if (HasFatalFailure()) return;
    pg_ = PQconnectdb(servers_.pg_conninfo.c_str());
    ASSERT_EQ(PQstatus(pg_), CONNECTION_OK);
    pg_exec(std::string("DROP TABLE IF EXISTS ") + kTable);
    std::unique_ptr<sql::Statement>(mariadb()->createStatement())
        ->execute(std::string("DROP TABLE IF EXISTS ") + kTable);
    node_ = "llr-" + std::to_string(getpid());
    log_dir_ = (std::filesystem::temp_directory_path() / (node_ + "-log")).string();
    std::filesystem::remove_all(log_dir_);
  }
  // A plain MariaDB session (not XA), for looking at its decision table.
  std::unique_ptr<sql::Connection> mariadb() const {
    sql::ConnectOptionsMap options;
    options["hostName"] = sql::SQLString("unix://" + servers_.mysql_socket);
    options["userName"] = sql::SQLString(servers_.mysql_user);
    options["password"] = sql::SQLString(servers_.mysql_password);
    options["schema"] = sql::SQLString(servers_.mysql_database);
    return std::unique_ptr<sql::Connection>(sql::mysql::get_mysql_driver_instance()->connect(options));
  }
  int mariadb_rows_with(char outcome) const {
    std::unique_ptr<sql::Connection> session = mariadb();
    std::unique_ptr<sql::ResultSet> row(std::unique_ptr<sql::Statement>(session->createStatement())
                                            ->executeQuery(std::string("SELECT COUNT(*) FROM ") + kTable +
                                                           " WHERE node = '" + node_ + "' AND outcome = '" +
                                                           outcome + "'"));
    row->next();
    return row->getInt(1);
  }

  void TearDown() override {
    tm_.reset();
    if (pg_ != nullptr) PQfinish(pg_);
    std::filesystem::remove_all(log_dir_);
  }

  std::string pg_exec(const std::string& sql) {
    PGresult* result = PQexec(pg_, sql.c_str());
    EXPECT_TRUE(PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK)
        << sql << ": " << PQresultErrorMessage(result);
    std::string value = PQntuples(result) > 0 ? PQgetvalue(result, 0, 0) : "";
    PQclear(result);
    return value;
  }
  int rows_with(char outcome) {
    return std::stoi(pg_exec(std::string("SELECT count(*) FROM ") + kTable + " WHERE node = '" + node_ +
                             "' AND outcome = '" + outcome + "'"));
  }

  postgresql::DataSource pg_source(const std::string& table = kTable) const {
    return {.name = "postgresql", .conninfo = servers_.pg_conninfo, .decision_table = table};
  }

  // Starts a TransactionManager over both databases, PostgreSQL with the decision table
  // `table` (none when empty), MariaDB with `mariadb_table`, and a second PostgreSQL data
  // source "pg-reader" without one.
  Status start(const std::string& table = kTable, const std::string& mariadb_table = "") {
    Result<std::unique_ptr<DecisionLog>> file_log =
        open_file_log({.dir = log_dir_, .create_if_missing = true, .node_name = node_});
    if (!file_log.ok()) return file_log.status();
    auto log = std::make_unique<CountingLog>(std::move(*file_log));
    log_ = log.get();
    tm_ = std::make_unique<TransactionManager>(Options{.node_name = node_, .log_dir = log_dir_},
                                               std::move(log));
    XATM_RETURN_IF_ERROR(tm_->add(mysql::DataSource{.name = "mariadb",
                                                   .unix_socket = servers_.mysql_socket,
                                                   .user = servers_.mysql_user,
                                                   .password = servers_.mysql_password,
                                                   .database = servers_.mysql_database,
                                                   .decision_table = mariadb_table}));
    XATM_RETURN_IF_ERROR(tm_->add(pg_source(table)));
    XATM_RETURN_IF_ERROR(tm_->add(postgresql::DataSource{.name = "pg-reader", .conninfo = servers_.pg_conninfo}));
    return tm_->start();
  }

  // Transfer `id`: 5 from MariaDB's account 1 to PostgreSQL's, with a ledger row in each
  // database it writes (`mariadb_writes` false: MariaDB is only read). `before_commit` runs
  // on PostgreSQL's session just before commit().
  Outcome transfer(std::int64_t id, bool mariadb_writes = true,
                   const std::function<void(PGconn*)>& before_commit = nullptr) {
    Result<Transaction> tx = tm_->begin();
    EXPECT_TRUE(tx.ok());
    Result<sql::Connection*> mariadb = mysql::connection(*tx, "mariadb");
    EXPECT_TRUE(mariadb.ok()) << mariadb.status().to_string();
    std::unique_ptr<sql::Statement> statement((*mariadb)->createStatement());
    const int parts = mariadb_writes ? 2 : 1;
    if (mariadb_writes) {
      statement->executeUpdate("UPDATE crash_accounts SET balance = balance - 5 WHERE id = 1");
      statement->executeUpdate("INSERT INTO crash_ledger VALUES (" + std::to_string(id) + ", 2)");
    } else {
      std::unique_ptr<sql::ResultSet>(statement->executeQuery("SELECT balance FROM crash_accounts"));
    }
    Result<PGconn*> postgres = postgresql::connection(*tx, "postgresql");
    EXPECT_TRUE(postgres.ok()) << postgres.status().to_string();
    for (const std::string& sql :
         {std::string("UPDATE crash_accounts SET balance = balance + ") + (mariadb_writes ? "5" : "0") +
              " WHERE id = 1",
          "INSERT INTO crash_ledger VALUES (" + std::to_string(id) + ", " + std::to_string(parts) + ")"}) {
      PGresult* result = PQexec(*postgres, sql.c_str());
      EXPECT_EQ(PQresultStatus(result), PGRES_COMMAND_OK) << PQresultErrorMessage(result);
      PQclear(result);
    }
    if (before_commit) before_commit(*postgres);
    return tx->commit();
  }

  // In which databases transfer `id` is: "" (neither), "M", "P" or "MP".
  std::string where_is(std::int64_t id) {
    Result<Bank::Ledgers> ledgers = bank_->ledgers();
    EXPECT_TRUE(ledgers.ok());
    return std::string(ledgers->mariadb.count(id) ? "M" : "") + (ledgers->postgresql.count(id) ? "P" : "");
  }

  PGconn* pg_ = nullptr;
  std::string node_, log_dir_;
  CountingLog* log_ = nullptr;
  std::unique_ptr<TransactionManager> tm_;
};

TEST_F(DecisionTableTest, StartCreatesTheTableWithTheNodesBirthRow) {
  ASSERT_TRUE(start().ok());
  EXPECT_EQ(rows_with('B'), 1);
  EXPECT_EQ(pg_exec(std::string("SELECT count(*) FROM ") + kTable + " WHERE outcome <> 'B'"), "0");
}

TEST_F(DecisionTableTest, ATransferDecidesInPostgresqlsCommitWithoutALogRecord) {
  ASSERT_TRUE(start().ok());
  const Outcome first = transfer(1);
  ASSERT_TRUE(first.committed()) << first.to_string();
  EXPECT_EQ(where_is(1), "MP");
  EXPECT_EQ(log_->commits.load(), 0) << "the decision went to the log, not the table";
  EXPECT_EQ(rows_with('C'), 1) << "the decision row stays until a later decision deletes it";
  const Outcome second = transfer(2);
  ASSERT_TRUE(second.committed()) << second.to_string();
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
  EXPECT_EQ(bank_->prepared_of_node(node_).value(), 0);
}

TEST_F(DecisionTableTest, TheTableDoesNotGrowUnderSteadyLoad) {
  ASSERT_TRUE(start().ok());
  int most = 0;
  for (int id = 1; id <= 200; ++id) {
    ASSERT_TRUE(transfer(id).committed()) << id;
    most = std::max(most, rows_with('C'));
  }
  // Finished rows go in batches of at least 32 with later decisions: never more than a batch
  // and the decision in flight.
  EXPECT_LE(most, 33) << "finished rows are deleted with later decisions";
  EXPECT_GE(most, 2);
  EXPECT_EQ(log_->commits.load(), 0);
}

TEST_F(DecisionTableTest, WhenEveryOtherBranchOnlyReadTheDecisionBranchCommitsWithoutARow) {
  ASSERT_TRUE(start().ok());
  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok());
  Result<PGconn*> reader = postgresql::connection(*tx, "pg-reader");
  ASSERT_TRUE(reader.ok());
  PQclear(PQexec(*reader, "SELECT sum(balance) FROM crash_accounts"));
  Result<PGconn*> writer = postgresql::connection(*tx, "postgresql");
  ASSERT_TRUE(writer.ok());
  PQclear(PQexec(*writer, "INSERT INTO crash_ledger VALUES (3, 1)"));
  const Outcome outcome = tx->commit();
  ASSERT_TRUE(outcome.committed()) << outcome.to_string();
  EXPECT_EQ(where_is(3), "P");
  EXPECT_EQ(rows_with('C'), 0) << "a read-only vote leaves nothing to decide";
  EXPECT_EQ(log_->commits.load(), 0);
}

// The decision's answer is lost after PostgreSQL committed: the session can still send, but
// never reads the answer (its socket is shut for reading). The fence finds the 'C' row.
TEST_F(DecisionTableTest, ALostAnswerOfACommitThatHappenedIsSettledCommittedByTheFence) {
  ASSERT_TRUE(start().ok());
  const Outcome outcome =
      transfer(4, true, [](PGconn* conn) { ASSERT_EQ(shutdown(PQsocket(conn), SHUT_RD), 0); });
  EXPECT_TRUE(outcome.committed()) << outcome.to_string();
  EXPECT_EQ(where_is(4), "MP");
  EXPECT_EQ(bank_->prepared_of_node(node_).value(), 0);
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
}

// The decision never reaches PostgreSQL (the session cannot send any more): the fence writes
// 'A', and everything rolls back.
TEST_F(DecisionTableTest, ALostCommitThatNeverArrivedIsSettledRolledBackByTheFence) {
  ASSERT_TRUE(start().ok());
  const Outcome outcome =
      transfer(5, true, [](PGconn* conn) { ASSERT_EQ(shutdown(PQsocket(conn), SHUT_WR), 0); });
  EXPECT_TRUE(outcome.rolled_back()) << outcome.to_string();
  EXPECT_EQ(where_is(5), "");
  EXPECT_EQ(rows_with('A'), 1) << "the fence stays: no late commit may land";
  EXPECT_EQ(bank_->prepared_of_node(node_).value(), 0);
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
}

TEST_F(DecisionTableTest, ANoVoteRollsBackTheDecisionBranchToo) {
  ASSERT_TRUE(start().ok());
  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok());
  Result<sql::Connection*> mariadb = mysql::connection(*tx, "mariadb");
  ASSERT_TRUE(mariadb.ok());
  std::unique_ptr<sql::Statement> statement((*mariadb)->createStatement());
  statement->executeUpdate("INSERT INTO crash_ledger VALUES (6, 2)");
  std::unique_ptr<sql::ResultSet> id(statement->executeQuery("SELECT CONNECTION_ID()"));
  ASSERT_TRUE(id->next());
  Result<PGconn*> postgres = postgresql::connection(*tx, "postgresql");
  ASSERT_TRUE(postgres.ok());
  PQclear(PQexec(*postgres, "INSERT INTO crash_ledger VALUES (6, 2)"));
  // MariaDB's session dies before phase 1: its branch is gone, and its vote is no.
  sql::ConnectOptionsMap options;
  options["hostName"] = sql::SQLString("unix://" + servers_.mysql_socket);
  options["userName"] = sql::SQLString(servers_.mysql_user);
  options["password"] = sql::SQLString(servers_.mysql_password);
  std::unique_ptr<sql::Connection> killer(sql::mysql::get_mysql_driver_instance()->connect(options));
  std::unique_ptr<sql::Statement>(killer->createStatement())
      ->execute("KILL " + id->getString(1).asStdString());
  const Outcome outcome = tx->commit();
  EXPECT_TRUE(outcome.rolled_back()) << outcome.to_string();
  EXPECT_EQ(where_is(6), "");
  EXPECT_EQ(rows_with('C'), 0);
}

// The fence against a decision still being written (D's INSERT done, its COMMIT not yet): it
// waits for D's transaction, then answers what D did.
TEST_F(DecisionTableTest, TheFenceWaitsForADecisionStillBeingWritten) {
  ASSERT_TRUE(start().ok());
  std::unique_ptr<Resource> postgres = postgresql::make_resource(pg_source());
  for (const char* end : {"COMMIT", "ROLLBACK"}) {
    const std::string gtrid = std::string("fence-") + end;
    const Xid global = Xid::make(kXatmFormatId, {reinterpret_cast<const std::uint8_t*>(gtrid.data()), gtrid.size()}, {}).value();
    pg_exec("BEGIN");
    pg_exec(std::string("INSERT INTO ") + kTable + " (gtrid, node, outcome) VALUES ('\\x" +
            to_hex(global.gtrid()) + "', '" + node_ + "', 'C')");
    std::future<Result<char>> fenced =
        std::async(std::launch::async, [&] { return postgres->decision_table()->fence(global, node_); });
    EXPECT_EQ(fenced.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout)
        << "the fence did not wait for the transaction writing the row";
    pg_exec(end);
    const Result<char> outcome = fenced.get();
    ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
    EXPECT_EQ(*outcome, std::string(end) == "COMMIT" ? 'C' : 'A') << end;
  }
}

TEST_F(DecisionTableTest, MariadbDecidesWhenItAloneKeepsATable) {
  ASSERT_TRUE(start(/*table=*/"", /*mariadb_table=*/kTable).ok());
  EXPECT_EQ(mariadb_rows_with('B'), 1);
  for (int id = 10; id < 15; ++id) {
    const Outcome outcome = transfer(id);
    ASSERT_TRUE(outcome.committed()) << outcome.to_string();
    EXPECT_EQ(where_is(id), "MP");
  }
  EXPECT_EQ(log_->commits.load(), 0);
  EXPECT_EQ(mariadb_rows_with('C'), 5) << "finished rows wait for a batch of later decisions";
  EXPECT_EQ(bank_->prepared_of_node(node_).value(), 0);
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
}

TEST_F(DecisionTableTest, PostgresqlIsPreferredWhenBothKeepATable) {
  ASSERT_TRUE(start(kTable, kTable).ok());
  ASSERT_TRUE(transfer(16).committed());
  EXPECT_EQ(rows_with('C'), 1);
  EXPECT_EQ(mariadb_rows_with('C'), 0);
}

TEST_F(DecisionTableTest, MariadbsFenceWaitsForADecisionStillBeingWritten) {
  ASSERT_TRUE(start(/*table=*/"", /*mariadb_table=*/kTable).ok());
  std::unique_ptr<Resource> resource = mysql::make_resource({.name = "mariadb",
                                                             .unix_socket = servers_.mysql_socket,
                                                             .user = servers_.mysql_user,
                                                             .password = servers_.mysql_password,
                                                             .database = servers_.mysql_database,
                                                             .decision_table = kTable});
  for (const char* end : {"COMMIT", "ROLLBACK"}) {
    const std::string gtrid = std::string("fence-") + end;
    const Xid global = Xid::make(kXatmFormatId, {reinterpret_cast<const std::uint8_t*>(gtrid.data()), gtrid.size()}, {}).value();
    std::unique_ptr<sql::Connection> writer = mariadb();
    std::unique_ptr<sql::Statement> statement(writer->createStatement());
    statement->execute("BEGIN");
    statement->execute(std::string("INSERT INTO ") + kTable + " VALUES (X'" + to_hex(global.gtrid()) + "', '" +
                       node_ + "', 'C', '', 0)");
    std::future<Result<char>> fenced =
        std::async(std::launch::async, [&] { return resource->decision_table()->fence(global, node_); });
    EXPECT_EQ(fenced.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout)
        << "the fence did not wait for the transaction writing the row";
    statement->execute(end);
    const Result<char> outcome = fenced.get();
    ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
    EXPECT_EQ(*outcome, std::string(end) == "COMMIT" ? 'C' : 'A') << end;
  }
}

// A 'C' row whose waiting branch is on a data source this pass did not ask (left out of the
// configuration) is not finished: deleting it would leave that branch to presumed abort. Built
// by hand as a crash after D's commit leaves it: the row in PostgreSQL's table, MariaDB's
// branch prepared.
TEST_F(DecisionTableTest, ARowNamingADataSourceNotAskedIsKeptAndCommitsItsBranchLater) {
  ASSERT_TRUE(start().ok());
  tm_.reset();
  const Xid global = *make_global_xid({node_, std::chrono::time_point_cast<std::chrono::milliseconds>(
                                                   std::chrono::system_clock::now()),
                                       std::chrono::seconds(1), 7});
  const Xid mariadb_branch = global.branch(0);
  const std::string xa = "X'" + to_hex(mariadb_branch.gtrid()) + "',X'" + to_hex(mariadb_branch.bqual()) + "'," +
                         std::to_string(mariadb_branch.format_id());
  {
    std::unique_ptr<sql::Connection> session = mariadb();
    std::unique_ptr<sql::Statement> statement(session->createStatement());
    statement->execute("XA START " + xa);
    statement->execute("INSERT INTO crash_ledger VALUES (900001, 2)");
    statement->execute("XA END " + xa);
    statement->execute("XA PREPARE " + xa);
  }
  pg_exec(std::string("INSERT INTO ") + kTable + " (gtrid, node, outcome, branches) VALUES ('\\x" +
          to_hex(global.gtrid()) + "', '" + node_ + "', 'C', 'mariadb=" + mariadb_branch.to_string() + "')");
  // A TM of this node without MariaDB: its recovery must not take the row for finished.
  tm_ = std::make_unique<TransactionManager>(Options{.node_name = node_, .log_dir = log_dir_});
  ASSERT_TRUE(tm_->add(pg_source()).ok());
  ASSERT_TRUE(tm_->start().ok());
  tm_.reset();
  EXPECT_EQ(rows_with('C'), 1);
  // With MariaDB configured again, the row's decision commits the branch.
  ASSERT_TRUE(start().ok());
  EXPECT_EQ(where_is(900001), "M");
  EXPECT_EQ(rows_with('A'), 0);
}

TEST_F(DecisionTableTest, StartFailsNamingAnInvalidOrUncreatableTable) {
  Status invalid = start("no such table");
  EXPECT_EQ(invalid.code(), StatusCode::kInvalidArgument) << invalid.to_string();
  EXPECT_NE(invalid.message().find("no such table"), std::string::npos) << invalid.to_string();
  tm_.reset();
  std::filesystem::remove_all(log_dir_);
  Status uncreatable = start("missing_schema.decisions");
  EXPECT_EQ(uncreatable.code(), StatusCode::kFailedPrecondition) << uncreatable.to_string();
  EXPECT_NE(uncreatable.message().find("missing_schema.decisions"), std::string::npos) << uncreatable.to_string();
}

}  // namespace
}  // namespace xatm::crash
