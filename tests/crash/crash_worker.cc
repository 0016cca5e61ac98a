// xatm_crash_worker: one TransactionManager incarnation of the crash tests.
//
//   xatm_crash_worker NODE LOG_DIR TRANSFERS THREADS SEED PHASE_THREADS
//
// Starts a TransactionManager over MariaDB ("mariadb") and PostgreSQL ("postgresql") — start()
// recovers whatever an earlier incarnation left — then runs TRANSFERS transfers on each of
// THREADS threads, each moving money between an account in one database and one in the other.
// XATM_CRASH_AT (see src/crash_points.h) ends the process at a named point, like kill -9; the
// harness may also SIGKILL it at any time. With TRANSFERS = 0 it only recovers. PHASE_THREADS = 0
// runs the branches of each phase one after the other, so that "between the two prepares" and
// "between the two commits" are distinct moments a crash point can hit.
// Exit: 0 done, 2 usage or setup error, 86 crashed at a point.
#include <cppconn/exception.h>
#include <cppconn/statement.h>
#include <libpq-fe.h>
#include <mysql_connection.h>

#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bank.h"
#include "xatm/mysql/mysql.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/transaction_manager.h"

namespace xatm::crash {
namespace {

bool mysql_update(sql::Connection& c, const std::string& statement) {
  try {
    std::unique_ptr<sql::Statement>(c.createStatement())->executeUpdate(statement);
    return true;
  } catch (const sql::SQLException&) {
    return false;  // a deadlock or a lock wait timeout: the transaction rolls back
  }
}

bool pg_update(PGconn* c, const std::string& statement) {
  PGresult* result = PQexec(c, statement.c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  PQclear(result);
  return ok;
}

std::string add(std::int64_t amount, int account) {
  return "UPDATE crash_accounts SET balance = balance + " + std::to_string(amount) +
         " WHERE id = " + std::to_string(account);
}

// Money leaves MariaDB and reaches PostgreSQL (or the reverse for a negative amount). MariaDB's
// row is always locked first, so two transfers never wait for each other across databases.
void transfer(TransactionManager& tm, std::mt19937& random) {
  std::uniform_int_distribution<int> account(1, kAccounts);
  std::uniform_int_distribution<std::int64_t> amount(-20, 20);
  const std::int64_t moved = amount(random);
  Result<Transaction> tx = tm.begin(std::chrono::seconds(5));
  if (!tx.ok()) return;
  Result<sql::Connection*> mariadb = mysql::connection(*tx, "mariadb");
  if (!mariadb.ok() || !mysql_update(**mariadb, add(-moved, account(random)))) {
    tx->set_rollback_only("mariadb update failed");
    tx->commit();
    return;
  }
  Result<PGconn*> postgres = postgresql::connection(*tx, "postgresql");
  if (!postgres.ok() || !pg_update(*postgres, add(moved, account(random)))) {
    tx->set_rollback_only("postgresql update failed");
  }
  tx->commit();
}

int run(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: xatm_crash_worker NODE LOG_DIR TRANSFERS THREADS SEED PHASE_THREADS\n";
    return 2;
  }
  Result<ServerSettings> servers = ServerSettings::from_environment();
  if (!servers.ok()) {
    std::cerr << servers.status().to_string() << "\n";
    return 2;
  }
  const int transfers = std::stoi(argv[3]), threads = std::stoi(argv[4]);
  const unsigned seed = static_cast<unsigned>(std::stoul(argv[5]));
  Options options{.node_name = argv[1], .log_dir = argv[2]};
  options.default_timeout = std::chrono::seconds(5);
  options.recovery_interval = std::chrono::milliseconds::zero();
  options.phase2_retry_window = std::chrono::seconds(5);
  options.phase_threads = static_cast<std::size_t>(std::stoul(argv[6]));
  TransactionManager tm(options);
  Status added = tm.add(mysql::DataSource{.name = "mariadb",
                                          .unix_socket = servers->mysql_socket,
                                          .user = servers->mysql_user,
                                          .password = servers->mysql_password,
                                          .database = servers->mysql_database});
  if (added.ok()) added = tm.add(postgresql::DataSource{.name = "postgresql", .conninfo = servers->pg_conninfo});
  if (added.ok()) added = tm.start();
  if (!added.ok()) {
    std::cerr << "crash worker: " << added.to_string() << "\n";
    return 2;
  }
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 random(seed * 31u + static_cast<unsigned>(t));
      for (int i = 0; i < transfers; ++i) transfer(tm, random);
    });
  }
  for (std::thread& worker : workers) worker.join();
  return 0;
}

}  // namespace
}  // namespace xatm::crash

int main(int argc, char** argv) { return xatm::crash::run(argc, argv); }
