// xatm_crash_worker: one TransactionManager incarnation of the crash tests.
//
//   xatm_crash_worker NODE LOG_DIR TRANSFERS THREADS SEED PHASE_THREADS OUTCOMES_FILE
//
// Starts a TransactionManager over MariaDB ("mariadb") and PostgreSQL ("postgresql") — start()
// recovers whatever an earlier incarnation left — then runs TRANSFERS transfers on each of
// THREADS threads. Most move money between an account in one database and one in the other;
// some have a statement fail and commit anyway (they must roll back), some stay inside one
// database (the one-phase path), some write in one database and only read in the other (the
// read-only vote). Every transfer also writes a ledger row with its id in each database it
// writes, and after commit() answers, the worker appends "<id> <B|M|P> <C|R|U>" to
// OUTCOMES_FILE: where it wrote (both, MariaDB, PostgreSQL) and what it was told (committed,
// rolled back, anything else). Each line is one write(2) to an O_APPEND file: a kill -9 of the
// worker cannot lose a line it wrote, so the harness knows what every answered commit said.
// XATM_CRASH_AT (testing/crash_points.h) ends the process at a named point, like kill -9; the
// harness may also SIGKILL it at any time. With TRANSFERS = 0 it only recovers. With
// XATM_CRASH_DECISION_TABLE set, PostgreSQL (or XATM_CRASH_DECISION_SOURCE) keeps the decisions
// in that table. With XATM_CRASH_LOG_TABLE set, the decision log is that table of PostgreSQL's
// database (xatm/postgresql/decision_log.h) instead of LOG_DIR, and every worker takes the node
// over (as a TM started on another machine after the node's death); XATM_CRASH_LOG_CONNINFO
// puts it in another server's database. PHASE_THREADS = 0
// runs the branches of each phase one after the other, so that "between the two prepares" and
// "between the two commits" are distinct moments a crash point can hit. XATM_CRASH_RECOVERY_MS
// turns the background recovery pass on.
// Exit: 0 done, 2 usage or setup error, 86 crashed at a point.
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <libpq-fe.h>
#include <fcntl.h>
#include <mysql_connection.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bank.h"
#include "xatm/mysql/mysql.h"
#include "xatm/postgresql/decision_log.h"
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

bool mysql_read(sql::Connection& c, const std::string& query) {
  try {
    std::unique_ptr<sql::ResultSet>(std::unique_ptr<sql::Statement>(c.createStatement())->executeQuery(query));
    return true;
  } catch (const sql::SQLException&) {
    return false;
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

std::string ledger(std::int64_t id, int parts) {
  return "INSERT INTO crash_ledger VALUES (" + std::to_string(id) + ", " + std::to_string(parts) + ")";
}

// Appends what commit() answered for transfer `id` to the outcomes file (one write(2)).
void report(int outcomes_fd, std::int64_t id, char where, const Outcome& outcome) {
  const char told = outcome.committed() ? 'C' : outcome.rolled_back() ? 'R' : 'U';
  const std::string line = std::to_string(id) + " " + where + " " + told + "\n";
  if (write(outcomes_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::abort();
}

enum class Kind { kAcross, kAcrossWithAFailedStatement, kMariadbOnly, kPostgresqlOnly, kLoneWriter };

Kind pick_kind(std::mt19937& random) {
  switch (random() % 10) {
    case 0: return Kind::kAcrossWithAFailedStatement;
    case 1: return Kind::kMariadbOnly;
    case 2: return Kind::kPostgresqlOnly;
    case 3: return Kind::kLoneWriter;
    default: return Kind::kAcross;
  }
}

// One transfer `id`. Across databases, money leaves MariaDB and reaches PostgreSQL (or the
// reverse for a negative amount); MariaDB's rows are always locked first, so two transfers never
// wait for each other across databases. Inside one database it moves between two accounts.
void transfer(TransactionManager& tm, std::mt19937& random, std::int64_t id, int outcomes_fd) {
  std::uniform_int_distribution<int> account(1, kAccounts);
  std::uniform_int_distribution<std::int64_t> amount(-20, 20);
  const std::int64_t moved = amount(random);
  const int from = account(random), to = account(random);
  const Kind kind = pick_kind(random);
  Result<Transaction> tx = tm.begin(std::chrono::seconds(5));
  // While the decision log is down, begin() refuses: wait for it (up to 20 s) as an application
  // would retry, unless another owner took the node, which is for good.
  for (int wait = 0; !tx.ok() && wait < 400; ++wait) {
    if (tx.status().message().find("taken over") != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    tx = tm.begin(std::chrono::seconds(5));
  }
  if (!tx.ok()) return;
  const bool uses_mariadb = kind != Kind::kPostgresqlOnly;
  const bool writes_mariadb = uses_mariadb && kind != Kind::kLoneWriter;
  const bool writes_postgresql = kind != Kind::kMariadbOnly;
  const int parts = (writes_mariadb ? 1 : 0) + (writes_postgresql ? 1 : 0);
  const char where = parts == 2 ? 'B' : writes_mariadb ? 'M' : 'P';
  bool ok = true;
  if (uses_mariadb) {
    Result<sql::Connection*> mariadb = mysql::connection(*tx, "mariadb");
    ok = mariadb.ok();
    if (ok && writes_mariadb) {
      ok = mysql_update(**mariadb, add(-moved, from)) && mysql_update(**mariadb, ledger(id, parts));
      if (ok && kind == Kind::kMariadbOnly) ok = mysql_update(**mariadb, add(moved, to));
    } else if (ok) {
      ok = mysql_read(**mariadb, "SELECT balance FROM crash_accounts WHERE id = " + std::to_string(from));
    }
  }
  if (ok && writes_postgresql) {
    Result<PGconn*> postgres = postgresql::connection(*tx, "postgresql");
    ok = postgres.ok() && pg_update(*postgres, add(moved, to)) && pg_update(*postgres, ledger(id, parts));
    if (ok && kind != Kind::kAcross && kind != Kind::kAcrossWithAFailedStatement) {
      ok = pg_update(*postgres, add(-moved, from));
    }
    if (ok && kind == Kind::kAcrossWithAFailedStatement) {
      // A duplicate key: PostgreSQL's branch is now aborted. The application commits anyway,
      // and commit() must answer rolled back, with nothing of the transfer anywhere.
      pg_update(*postgres, ledger(id, parts));
    }
  }
  if (!ok) tx->set_rollback_only("a statement failed");
  report(outcomes_fd, id, where, tx->commit());
}

// XATM_CRASH_DECISION_TABLE names a decision table of the data source XATM_CRASH_DECISION_SOURCE
// ("postgresql" unless set): transfers across both databases then decide inside that data
// source's own commit (logging last resource).
std::string decision_table_of(const std::string& data_source) {
  const char* table = std::getenv("XATM_CRASH_DECISION_TABLE");    // NOLINT(concurrency-mt-unsafe)
  const char* source = std::getenv("XATM_CRASH_DECISION_SOURCE");  // NOLINT(concurrency-mt-unsafe)
  if (table == nullptr) return "";
  return (source != nullptr ? source : "postgresql") == data_source ? table : "";
}

int run(int argc, char** argv) {
  if (argc != 8) {
    std::cerr << "usage: xatm_crash_worker NODE LOG_DIR TRANSFERS THREADS SEED PHASE_THREADS "
                 "OUTCOMES_FILE\n";
    return 2;
  }
  const int outcomes_fd = open(argv[7], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (outcomes_fd < 0) {
    std::cerr << "crash worker: cannot open " << argv[7] << "\n";
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
  // No background recovery (each incarnation's start() recovers), unless a test asks for it:
  // XATM_CRASH_RECOVERY_MS sets the interval, with a grace of one second (a TM that keeps
  // running after its log database came back finishes its own transactions in doubt).
  options.recovery_interval = std::chrono::milliseconds::zero();
  if (const char* interval = std::getenv("XATM_CRASH_RECOVERY_MS")) {  // NOLINT(concurrency-mt-unsafe)
    options.recovery_interval = std::chrono::milliseconds(std::stoi(interval));
    options.recovery_grace = std::chrono::seconds(1);
  }
  options.phase2_retry_window = std::chrono::seconds(5);
  options.phase_threads = static_cast<std::size_t>(std::stoul(argv[6]));
  // One incarnation: the TransactionManager over both data sources, started. An operator's
  // `xatm-recover run --force` that finds the log directory free holds its lock while it runs
  // (the harness runs one beside the worker), and start() then refuses: the worker tries again,
  // as a supervisor restarts a TM whose start() failed.
  std::unique_ptr<TransactionManager> manager;
  Status started;
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (const char* table = std::getenv("XATM_CRASH_LOG_TABLE")) {  // NOLINT(concurrency-mt-unsafe)
      const char* log_conninfo = std::getenv("XATM_CRASH_LOG_CONNINFO");  // NOLINT(concurrency-mt-unsafe)
      postgresql::LogOptions log_options{.database = {.name = "decision-log",
                                                      .conninfo = log_conninfo != nullptr ? log_conninfo
                                                                                          : servers->pg_conninfo},
                                         .table = table,
                                         .node = options.node_name,
                                         .take_over = true};
      Result<std::unique_ptr<DecisionLog>> log = postgresql::make_decision_log(log_options);
      if (!log.ok()) {
        std::cerr << "crash worker: " << log.status().to_string() << "\n";
        return 2;
      }
      manager = std::make_unique<TransactionManager>(options, std::move(*log));
    } else {
      manager = std::make_unique<TransactionManager>(options);
    }
    started = manager->add(mysql::DataSource{.name = "mariadb",
                                             .unix_socket = servers->mysql_socket,
                                             .user = servers->mysql_user,
                                             .password = servers->mysql_password,
                                             .database = servers->mysql_database,
                                             .decision_table = decision_table_of("mariadb")});
    if (started.ok()) {
      started = manager->add(postgresql::DataSource{.name = "postgresql",
                                                    .conninfo = servers->pg_conninfo,
                                                    .decision_table = decision_table_of("postgresql")});
    }
    if (started.ok()) started = manager->start();
    const bool log_in_use = started.code() == StatusCode::kFailedPrecondition &&
                            started.message().find("is in use") != std::string::npos;
    if (!log_in_use) break;
  }
  if (!started.ok()) {
    std::cerr << "crash worker: " << started.to_string() << "\n";
    return 2;
  }
  TransactionManager& tm = *manager;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 random(seed * 31u + static_cast<unsigned>(t));
      for (int i = 0; i < transfers; ++i) {
        // Unique over a whole run: one worker with transfers per seed, < 100 threads, < 1000 each.
        const std::int64_t id = static_cast<std::int64_t>(seed) * 100000 + t * 1000 + i;
        transfer(tm, random, id, outcomes_fd);
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  return 0;
}

}  // namespace
}  // namespace xatm::crash

int main(int argc, char** argv) { return xatm::crash::run(argc, argv); }
