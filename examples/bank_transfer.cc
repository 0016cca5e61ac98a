// bank_transfer: moves money between accounts in MariaDB and accounts in PostgreSQL, from
// several threads, each transfer one global transaction; then checks that the total is intact.
//
//   bank_transfer --mysql-socket PATH --mysql-user U --mysql-password P --mysql-database D
//                 --pg-conninfo "host=... dbname=..." [--threads 4] [--transfers 200]
//                 [--log-dir DIR]
//
// Every setting may also come from the environment variables XATM_TEST_MYSQL_SOCKET, ...,
// XATM_TEST_PG_CONNINFO that scripts/test-servers.sh env prints (scripts/demo.sh does that).
// Exit status: 0 when the total is unchanged and no prepared branch is left, 1 otherwise.
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <libpq-fe.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "xatm/mysql/mysql.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/transaction_manager.h"

namespace {

constexpr int kAccounts = 10;               // per database
constexpr std::int64_t kOpeningBalance = 1000;

struct Settings {
  xatm::mysql::DataSource mariadb{.name = "mariadb"};
  xatm::postgresql::DataSource postgres{.name = "postgresql"};
  int threads = 4;
  int transfers = 200;  // per thread
  std::string log_dir = (std::filesystem::temp_directory_path() / "xatm-bank-transfer").string();
};

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read at start-up
  return value != nullptr ? value : fallback;
}

bool parse_args(int argc, char** argv, Settings& s) {
  s.mariadb.unix_socket = env_or("XATM_TEST_MYSQL_SOCKET", "");
  s.mariadb.user = env_or("XATM_TEST_MYSQL_USER", "xatm");
  s.mariadb.password = env_or("XATM_TEST_MYSQL_PASSWORD", "");
  s.mariadb.database = env_or("XATM_TEST_MYSQL_DATABASE", "xatm_test");
  s.postgres.conninfo = env_or("XATM_TEST_PG_CONNINFO", "");
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--mysql-socket") s.mariadb.unix_socket = value;
    else if (flag == "--mysql-user") s.mariadb.user = value;
    else if (flag == "--mysql-password") s.mariadb.password = value;
    else if (flag == "--mysql-database") s.mariadb.database = value;
    else if (flag == "--pg-conninfo") s.postgres.conninfo = value;
    else if (flag == "--threads") s.threads = std::stoi(value);
    else if (flag == "--transfers") s.transfers = std::stoi(value);
    else if (flag == "--log-dir") s.log_dir = value;
    else { std::cerr << "unknown option " << flag << "\n"; return false; }
  }
  if (argc % 2 == 0) { std::cerr << "option " << argv[argc - 1] << " needs a value\n"; return false; }
  if (s.mariadb.unix_socket.empty() || s.postgres.conninfo.empty()) {
    std::cerr << "set --mysql-socket and --pg-conninfo (or eval \"$(scripts/test-servers.sh env)\")\n";
    return false;
  }
  return true;
}

// Plain (non-XA) helpers for setting up and checking the accounts.
std::unique_ptr<sql::Connection> connect_mariadb(const xatm::mysql::DataSource& ds) {
  try {
    sql::ConnectOptionsMap options;
    options["hostName"] = sql::SQLString("unix://" + ds.unix_socket);
    options["userName"] = sql::SQLString(ds.user);
    options["password"] = sql::SQLString(ds.password);
    options["schema"] = sql::SQLString(ds.database);
    return std::unique_ptr<sql::Connection>(sql::mysql::get_mysql_driver_instance()->connect(options));
  } catch (const sql::SQLException& e) {
    std::cerr << "mariadb: " << e.what() << "\n";
    return nullptr;
  }
}

bool mysql_exec(sql::Connection& c, const std::string& statement) {
  try {
    std::unique_ptr<sql::Statement>(c.createStatement())->execute(statement);
    return true;
  } catch (const sql::SQLException& e) {
    std::cerr << "mariadb: " << e.what() << " (" << e.getErrorCode() << ")\n";
    return false;
  }
}

bool pg_exec(PGconn* c, const std::string& statement) {
  PGresult* result = PQexec(c, statement.c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK;
  if (!ok) std::cerr << "postgresql: " << PQresultErrorMessage(result);
  PQclear(result);
  return ok;
}

std::string accounts_sql(bool create) {
  std::string text = create ? "CREATE TABLE bank_accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL)"
                            : "INSERT INTO bank_accounts VALUES ";
  if (create) return text;
  for (int id = 1; id <= kAccounts; ++id) {
    text += (id > 1 ? ", (" : "(") + std::to_string(id) + ", " + std::to_string(kOpeningBalance) + ")";
  }
  return text;
}

// One transfer: `amount` leaves MariaDB account `from` and arrives in PostgreSQL account `to`
// (or the other way round when amount < 0). Locks are always taken MariaDB first, so two
// transfers can never wait for each other across the two databases.
xatm::Outcome transfer(xatm::TransactionManager& tm, int from, int to, std::int64_t amount) {
  xatm::Result<xatm::Transaction> tx = tm.begin(std::chrono::seconds(10));
  if (!tx.ok()) return {xatm::Outcome::Kind::kRolledBack, tx.status().to_string(), {}};
  xatm::Result<sql::Connection*> mariadb = xatm::mysql::connection(*tx, "mariadb");
  xatm::Result<PGconn*> postgres = xatm::postgresql::connection(*tx, "postgresql");
  if (!mariadb.ok() || !postgres.ok()) {
    tx->set_rollback_only(!mariadb.ok() ? mariadb.status().to_string() : postgres.status().to_string());
    return tx->commit();
  }
  const bool moved =
      mysql_exec(**mariadb, "UPDATE bank_accounts SET balance = balance - " + std::to_string(amount) +
                                " WHERE id = " + std::to_string(from)) &&
      pg_exec(*postgres, "UPDATE bank_accounts SET balance = balance + " + std::to_string(amount) +
                             " WHERE id = " + std::to_string(to));
  if (!moved) tx->set_rollback_only("an UPDATE failed");
  return tx->commit();
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  if (!parse_args(argc, argv, settings)) return 2;
  std::filesystem::remove_all(settings.log_dir);

  // Fresh accounts in both databases, through plain connections (DDL is not allowed in XA).
  std::unique_ptr<sql::Connection> admin = connect_mariadb(settings.mariadb);
  PGconn* pg_admin = PQconnectdb(settings.postgres.conninfo.c_str());
  if (admin == nullptr || PQstatus(pg_admin) != CONNECTION_OK) {
    std::cerr << "cannot connect for setup\n";
    return 1;
  }
  bool ready = mysql_exec(*admin, "DROP TABLE IF EXISTS bank_accounts") &&
               mysql_exec(*admin, accounts_sql(true) + " ENGINE=InnoDB") &&
               mysql_exec(*admin, accounts_sql(false)) &&
               pg_exec(pg_admin, "DROP TABLE IF EXISTS bank_accounts") &&
               pg_exec(pg_admin, accounts_sql(true)) && pg_exec(pg_admin, accounts_sql(false));
  if (!ready) return 1;

  xatm::TransactionManager tm({.node_name = "bank-1", .log_dir = settings.log_dir});
  for (xatm::Status status : {tm.add(settings.mariadb), tm.add(settings.postgres), tm.start()}) {
    if (!status.ok()) {
      std::cerr << status.to_string() << "\n";
      return 1;
    }
  }

  std::atomic<int> committed{0}, rolled_back{0}, other{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < settings.threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 random(static_cast<unsigned>(t) * 7919u + 1u);
      std::uniform_int_distribution<int> account(1, kAccounts), amount(-50, 50);
      for (int i = 0; i < settings.transfers; ++i) {
        xatm::Outcome outcome = transfer(tm, account(random), account(random), amount(random));
        if (outcome.committed()) ++committed;
        else if (outcome.rolled_back()) ++rolled_back;
        else { ++other; std::cerr << "transfer: " << outcome.to_string() << "\n"; }
      }
    });
  }
  for (std::thread& worker : workers) worker.join();

  std::int64_t mariadb_total = 0, postgres_total = 0;
  {
    std::unique_ptr<sql::ResultSet> rows(std::unique_ptr<sql::Statement>(admin->createStatement())
                                             ->executeQuery("SELECT SUM(balance) FROM bank_accounts"));
    if (rows->next()) mariadb_total = rows->getInt64(1);
    PGresult* sum = PQexec(pg_admin, "SELECT SUM(balance) FROM bank_accounts");
    if (PQresultStatus(sum) == PGRES_TUPLES_OK) postgres_total = std::stoll(PQgetvalue(sum, 0, 0));
    PQclear(sum);
  }
  PQfinish(pg_admin);
  const std::int64_t expected = 2 * kAccounts * kOpeningBalance;
  const std::int64_t total = mariadb_total + postgres_total;
  xatm::Stats stats = tm.stats();
  std::cout << "bank_transfer: " << settings.threads << " threads x " << settings.transfers
            << " transfers: committed=" << committed << " rolled_back=" << rolled_back
            << " other=" << other << "\n"
            << "bank_transfer: MariaDB total=" << mariadb_total << " PostgreSQL total="
            << postgres_total << " sum=" << total << " expected=" << expected
            << (total == expected ? " (consistent)" : " (INCONSISTENT)") << "\n"
            << "bank_transfer: transaction manager: begun=" << stats.begun
            << " committed=" << stats.committed << " rolled_back=" << stats.rolled_back
            << " one_phase=" << stats.one_phase << " unknown=" << stats.unknown << "\n";
  return total == expected && other == 0 ? 0 : 1;
}
