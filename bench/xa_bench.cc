// xa_bench: what xatm costs against the same work done without it (docs/performance.md).
//
// One process, one run, the same tables (xa_bench: 1000 rows per database unless --rows) and
// the same row choice (uniformly random per transaction) for every variant:
//
//   local2      two local commits: BEGIN/UPDATE/COMMIT on MariaDB, then on PostgreSQL (not atomic)
//   rawxa       hand-written XA, no TM log: XA START/UPDATE/XA END, BEGIN/UPDATE, XA PREPARE,
//               PREPARE TRANSACTION, XA COMMIT, COMMIT PREPARED (sequential)
//   rawxa_sync  rawxa plus one fdatasync per decision under a global mutex, between the prepares
//               and the commits (a 64-byte pwrite into a zero-filled file on --dir's disk)
//   rawllr      the decision in PostgreSQL's commit, written by hand (the ceiling of xatm_llr):
//               XA START/UPDATE/XA END, BEGIN/UPDATE, XA PREPARE, then PostgreSQL's
//               "[DELETE <64 finished rows>;] INSERT <decision row>; COMMIT" in one round trip,
//               XA COMMIT; the rows go to xa_bench_raw_decisions (xatm_llr's table's schema)
//   xatm2pc     xatm TransactionManager over both data sources (default options)
//   xatm_llr    the same with PostgreSQL's decision table (xa_bench_decisions): the decision
//               rides in PostgreSQL's own commit (logging last resource), no prepare there and
//               no write to xatm's log; a second TransactionManager of its own node
//   xatm_pglog  xatm2pc with the decision log in PostgreSQL (xatm/postgresql/decision_log.h,
//               table xa_bench_log in the test database) instead of the file log; a third
//               TransactionManager of its own node
//   local_pg    BEGIN/UPDATE/COMMIT on PostgreSQL only
//   xatm1pc_pg  xatm with only the PostgreSQL branch enlisted (one-phase commit)
//   local_my    BEGIN/UPDATE/COMMIT on MariaDB only
//   xatm1pc_my  xatm with only the MariaDB branch enlisted (one-phase commit)
//   rawxa1pc_my hand-written XA one-phase commit on MariaDB: XA START/UPDATE/XA END/XA COMMIT ONE
//               PHASE, the statements xatm1pc_my sends (MariaDB allows no one-phase commit of an
//               XA branch without XA END), so xatm1pc_my / rawxa1pc_my is the TM's own share
//
//   xa_bench [--threads 1,8,32] [--duration 4] [--warmup 1] [--rounds 1] [--rows 1000] [--dir DIR]
//            [--variants all|name,name,...] [--xatm-fsyncs 1=1.0,8=0.5,...] [--phase-threads N]
//            [--mysql-socket P] [--mysql-user U] [--mysql-password P] [--mysql-database D]
//            [--pg-conninfo C]
//
// Settings default to the XATM_TEST_* variables that scripts/test-servers.sh env prints.
// Every point runs each thread with its own connections for --warmup seconds, then counts the
// transactions that finish within the next --duration seconds. With --rounds N the duration is
// split into N rounds (each with its own warm-up) that alternate the variants: on a small noisy
// machine the variant that happens to run first or last is otherwise favoured or penalised. Lock-hold time per branch: from
// the end of the branch's work (MariaDB: after XA END, or after the UPDATE for local commits;
// PostgreSQL: after the UPDATE) until its commit returns. For xatm it is measured from outside:
// from after the application's last UPDATE until commit() returns, an upper bound for both
// branches. --xatm-fsyncs only labels the table (scripts/bench.sh counts them with strace; the
// decision log exposes no counter); "xa-bench-count" lines give the transactions run per point.
#include <cppconn/exception.h>
#include <cppconn/statement.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <mysql_connection.h>
#include <mysql_driver.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "xatm/mysql/mysql.h"
#include "xatm/postgresql/decision_log.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/transaction_manager.h"

#ifndef XATM_BENCH_DIR
#define XATM_BENCH_DIR "xa_bench.d"
#endif

namespace {

using Clock = std::chrono::steady_clock;

enum class Variant {
  kLocal2, kRawXa, kRawXaSync, kRawLlr, kXatm2pc, kXatmLlr, kXatmPglog, kLocalPg, kXatm1pcPg, kLocalMy, kXatm1pcMy,
  kRawXa1pcMy
};
const std::vector<std::pair<Variant, std::string>> kVariants = {
    {Variant::kLocal2, "local2"},     {Variant::kRawXa, "rawxa"},
    {Variant::kRawXaSync, "rawxa_sync"}, {Variant::kRawLlr, "rawllr"},
    {Variant::kXatm2pc, "xatm2pc"},
    {Variant::kXatmLlr, "xatm_llr"},  {Variant::kXatmPglog, "xatm_pglog"},
    {Variant::kLocalPg, "local_pg"},  {Variant::kXatm1pcPg, "xatm1pc_pg"},
    {Variant::kLocalMy, "local_my"},  {Variant::kXatm1pcMy, "xatm1pc_my"},
    {Variant::kRawXa1pcMy, "rawxa1pc_my"},
};

struct Settings {
  xatm::mysql::DataSource mariadb{.name = "mariadb"};
  xatm::postgresql::DataSource postgres{.name = "postgresql"};
  std::vector<int> threads{1, 8, 32};
  double duration_s = 4;
  double warmup_s = 1;
  int rounds = 1;
  int rows = 1000;
  long phase_threads = -1;  // -1: xatm::Options' default
  std::string dir = XATM_BENCH_DIR;
  std::vector<Variant> variants;
  std::map<int, std::string> xatm_fsyncs;  // threads -> fsyncs per transaction (from strace)
};

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read at start-up
  return value != nullptr ? value : fallback;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, sep);) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

bool parse_args(int argc, char** argv, Settings& s) {
  s.mariadb.unix_socket = env_or("XATM_TEST_MYSQL_SOCKET", "");
  s.mariadb.user = env_or("XATM_TEST_MYSQL_USER", "xatm");
  s.mariadb.password = env_or("XATM_TEST_MYSQL_PASSWORD", "");
  s.mariadb.database = env_or("XATM_TEST_MYSQL_DATABASE", "xatm_test");
  s.postgres.conninfo = env_or("XATM_TEST_PG_CONNINFO", "");
  std::string variants = "all";
  if (argc % 2 == 0) { std::cerr << "option " << argv[argc - 1] << " needs a value\n"; return false; }
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--mysql-socket") s.mariadb.unix_socket = value;
    else if (flag == "--mysql-user") s.mariadb.user = value;
    else if (flag == "--mysql-password") s.mariadb.password = value;
    else if (flag == "--mysql-database") s.mariadb.database = value;
    else if (flag == "--pg-conninfo") s.postgres.conninfo = value;
    else if (flag == "--duration") s.duration_s = std::stod(value);
    else if (flag == "--warmup") s.warmup_s = std::stod(value);
    else if (flag == "--rounds") s.rounds = std::stoi(value);
    else if (flag == "--rows") s.rows = std::stoi(value);
    else if (flag == "--phase-threads") s.phase_threads = std::stol(value);
    else if (flag == "--dir") s.dir = value;
    else if (flag == "--variants") variants = value;
    else if (flag == "--threads") {
      s.threads.clear();
      for (const std::string& n : split(value, ',')) s.threads.push_back(std::stoi(n));
    } else if (flag == "--xatm-fsyncs") {
      for (const std::string& kv : split(value, ',')) {
        const auto eq = kv.find('=');
        if (eq != std::string::npos) s.xatm_fsyncs[std::stoi(kv.substr(0, eq))] = kv.substr(eq + 1);
      }
    } else { std::cerr << "unknown option " << flag << "\n"; return false; }
  }
  for (const auto& [variant, name] : kVariants) {
    if (variants == "all") { s.variants.push_back(variant); continue; }
    for (const std::string& wanted : split(variants, ',')) {
      if (wanted == name) s.variants.push_back(variant);
    }
  }
  if (s.mariadb.unix_socket.empty() || s.postgres.conninfo.empty()) {
    std::cerr << "set --mysql-socket and --pg-conninfo (or eval \"$(scripts/test-servers.sh env)\")\n";
    return false;
  }
  if (s.variants.empty() || s.threads.empty() || s.rows < 1 || s.duration_s <= 0 || s.rounds < 1) {
    std::cerr << "nothing to run: check --variants, --threads, --rows, --duration, --rounds\n";
    return false;
  }
  return true;
}

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

bool my_exec(sql::Connection& c, const std::string& statement) {
  try {
    std::unique_ptr<sql::Statement>(c.createStatement())->execute(statement);
    return true;
  } catch (const sql::SQLException& e) {
    std::cerr << "mariadb: " << statement << ": " << e.what() << " (" << e.getErrorCode() << ")\n";
    return false;
  }
}

bool pg_exec(PGconn* c, const std::string& statement) {
  PGresult* result = PQexec(c, statement.c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK;
  if (!ok) std::cerr << "postgresql: " << statement << ": " << PQresultErrorMessage(result);
  PQclear(result);
  return ok;
}

std::string update_sql(int row) {
  return "UPDATE xa_bench SET v = v + 1 WHERE id = " + std::to_string(row);
}

// The table, fresh, in both databases (plain connections: DDL is not allowed inside XA).
bool create_tables(const Settings& s) {
  std::unique_ptr<sql::Connection> my = connect_mariadb(s.mariadb);
  PGconn* pg = PQconnectdb(s.postgres.conninfo.c_str());
  if (!my || PQstatus(pg) != CONNECTION_OK) {
    std::cerr << "cannot connect: " << PQerrorMessage(pg);
    PQfinish(pg);
    return false;
  }
  std::string rows = "INSERT INTO xa_bench VALUES ";
  for (int id = 1; id <= s.rows; ++id) rows += (id > 1 ? ", (" : "(") + std::to_string(id) + ", 0)";
  const bool ok = my_exec(*my, "DROP TABLE IF EXISTS xa_bench") &&
                  my_exec(*my, "CREATE TABLE xa_bench (id INT PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB") &&
                  my_exec(*my, rows) && pg_exec(pg, "DROP TABLE IF EXISTS xa_bench") &&
                  pg_exec(pg, "CREATE TABLE xa_bench (id INT PRIMARY KEY, v BIGINT NOT NULL)") &&
                  pg_exec(pg, rows) && pg_exec(pg, "VACUUM ANALYZE xa_bench") &&
                  pg_exec(pg, "DROP TABLE IF EXISTS xa_bench_raw_decisions") &&
                  pg_exec(pg, "CREATE TABLE xa_bench_raw_decisions (gtrid bytea PRIMARY KEY, node text NOT NULL, "
                              "outcome \"char\" NOT NULL, branches text NOT NULL DEFAULT '', "
                              "created timestamptz NOT NULL DEFAULT now())");
  PQfinish(pg);
  return ok;
}

// The serialised decision record of rawxa_sync: one pwrite + fdatasync under a global mutex,
// into a file filled with zeros beforehand (so fdatasync has only data to write: the cheapest
// forced write this disk offers).
class SyncFile {
 public:
  static constexpr off_t kSize = off_t{4} << 20;
  bool open(const std::string& dir) {
    std::filesystem::create_directories(dir);
    const std::string path = dir + "/rawxa_sync.dat";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) { std::perror(path.c_str()); return false; }
    const std::vector<char> zeros(1 << 20, 0);
    for (off_t at = 0; at < kSize; at += static_cast<off_t>(zeros.size())) {
      if (::pwrite(fd_, zeros.data(), zeros.size(), at) != static_cast<ssize_t>(zeros.size())) return false;
    }
    return ::fsync(fd_) == 0;
  }
  ~SyncFile() { if (fd_ >= 0) ::close(fd_); }
  bool record(std::uint64_t id) {
    char record[64] = {};
    std::snprintf(record, sizeof record, "COMMIT %llu\n", static_cast<unsigned long long>(id));
    const std::lock_guard<std::mutex> lock(mutex_);
    if (::pwrite(fd_, record, sizeof record, offset_) != static_cast<ssize_t>(sizeof record)) return false;
    offset_ = (offset_ + static_cast<off_t>(sizeof record)) % kSize;
    return ::fdatasync(fd_) == 0;
  }

 private:
  int fd_ = -1;
  std::mutex mutex_;
  off_t offset_ = 0;
};

struct Sample {
  std::uint32_t latency_us;
  std::uint32_t hold_my_us;  // 0 when the variant has no MariaDB branch
  std::uint32_t hold_pg_us;
};

std::uint32_t micros(Clock::time_point from, Clock::time_point to) {
  return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(to - from).count());
}

struct Shared {
  const Settings* settings;
  xatm::TransactionManager* tm;
  xatm::TransactionManager* tm_llr;  // PostgreSQL keeps the decision table
  xatm::TransactionManager* tm_pglog;  // the decision log in PostgreSQL
  SyncFile* sync;
};

// Workers made so far: part of each worker's XIDs, unique across rounds.
std::atomic<int> workers_made{0};

// One thread's connections and transaction bodies.
class Worker {
 public:
  Worker(const Shared& shared, Variant variant, int index)
      : shared_(shared), variant_(variant), rng_(0x5eed + static_cast<unsigned>(index)),
        pick_(1, shared.settings->rows), prefix_("xb" + std::to_string(::getpid()) + "-" + std::to_string(index) + "-" + std::to_string(++workers_made) + "-") {}
  ~Worker() { if (pg_ != nullptr) PQfinish(pg_); }

  bool connect() {
    const bool needs_my = variant_ == Variant::kLocal2 || variant_ == Variant::kRawXa ||
                          variant_ == Variant::kRawXaSync || variant_ == Variant::kRawLlr ||
                          variant_ == Variant::kLocalMy || variant_ == Variant::kRawXa1pcMy;
    const bool needs_pg = variant_ == Variant::kLocal2 || variant_ == Variant::kRawXa ||
                          variant_ == Variant::kRawXaSync || variant_ == Variant::kRawLlr ||
                          variant_ == Variant::kLocalPg;
    if (needs_my && !(my_ = connect_mariadb(shared_.settings->mariadb))) return false;
    if (needs_pg) {
      pg_ = PQconnectdb(shared_.settings->postgres.conninfo.c_str());
      if (PQstatus(pg_) != CONNECTION_OK) { std::cerr << PQerrorMessage(pg_); return false; }
    }
    return true;
  }

  // One transaction; false when it failed (it is then rolled back as far as possible).
  bool run(Sample& sample) {
    const int my_row = pick_(rng_), pg_row = pick_(rng_);
    const Clock::time_point begin = Clock::now();
    bool ok = false;
    Clock::time_point my_done{}, pg_done{}, my_end{}, pg_end{};
    switch (variant_) {
      case Variant::kLocal2:
        ok = my_exec(*my_, "BEGIN") && my_exec(*my_, update_sql(my_row)) && (my_done = Clock::now(), true) &&
             my_exec(*my_, "COMMIT") && (my_end = Clock::now(), true) && pg_exec(pg_, "BEGIN") &&
             pg_exec(pg_, update_sql(pg_row)) && (pg_done = Clock::now(), true) && pg_exec(pg_, "COMMIT");
        pg_end = Clock::now();
        if (!ok) { my_exec(*my_, "ROLLBACK"); pg_exec(pg_, "ROLLBACK"); }
        break;
      case Variant::kLocalMy:
        ok = my_exec(*my_, "BEGIN") && my_exec(*my_, update_sql(my_row)) && (my_done = Clock::now(), true) &&
             my_exec(*my_, "COMMIT");
        my_end = Clock::now();
        if (!ok) my_exec(*my_, "ROLLBACK");
        break;
      case Variant::kLocalPg:
        ok = pg_exec(pg_, "BEGIN") && pg_exec(pg_, update_sql(pg_row)) && (pg_done = Clock::now(), true) &&
             pg_exec(pg_, "COMMIT");
        pg_end = Clock::now();
        if (!ok) pg_exec(pg_, "ROLLBACK");
        break;
      case Variant::kRawXa1pcMy: {
        const std::string xid = "'" + prefix_ + std::to_string(++sequence_) + "'";
        ok = my_exec(*my_, "XA START " + xid) && my_exec(*my_, update_sql(my_row)) &&
             my_exec(*my_, "XA END " + xid) && (my_done = Clock::now(), true) &&
             my_exec(*my_, "XA COMMIT " + xid + " ONE PHASE");
        my_end = Clock::now();
        if (!ok) {
          my_exec(*my_, "XA END " + xid);  // harmless error when already ended
          my_exec(*my_, "XA ROLLBACK " + xid);
        }
        break;
      }
      case Variant::kRawXa:
      case Variant::kRawXaSync: {
        const std::uint64_t id = ++sequence_;
        const std::string xid = "'" + prefix_ + std::to_string(id) + "'";
        bool my_prepared = false, pg_prepared = false;
        ok = my_exec(*my_, "XA START " + xid) && my_exec(*my_, update_sql(my_row)) &&
             my_exec(*my_, "XA END " + xid) && (my_done = Clock::now(), true) && pg_exec(pg_, "BEGIN") &&
             pg_exec(pg_, update_sql(pg_row)) && (pg_done = Clock::now(), true) &&
             (my_prepared = my_exec(*my_, "XA PREPARE " + xid)) &&
             (pg_prepared = pg_exec(pg_, "PREPARE TRANSACTION " + xid));
        if (ok && variant_ == Variant::kRawXaSync) ok = shared_.sync->record(id);
        if (ok) {
          ok = my_exec(*my_, "XA COMMIT " + xid);
          my_end = Clock::now();
          ok = pg_exec(pg_, "COMMIT PREPARED " + xid) && ok;
          pg_end = Clock::now();
        } else {
          my_exec(*my_, "XA END " + xid);  // harmless error when already ended
          my_exec(*my_, "XA ROLLBACK " + xid);
          pg_exec(pg_, pg_prepared ? "ROLLBACK PREPARED " + xid : std::string("ROLLBACK"));
          (void)my_prepared;
        }
        break;
      }
      case Variant::kRawLlr: {
        const std::string gtrid = prefix_ + std::to_string(++sequence_);
        const std::string xid = "'" + gtrid + "'";
        ok = my_exec(*my_, "XA START " + xid) && my_exec(*my_, update_sql(my_row)) &&
             my_exec(*my_, "XA END " + xid) && (my_done = Clock::now(), true) && pg_exec(pg_, "BEGIN") &&
             pg_exec(pg_, update_sql(pg_row)) && (pg_done = Clock::now(), true) &&
             my_exec(*my_, "XA PREPARE " + xid);
        if (!ok) {
          my_exec(*my_, "XA END " + xid);  // harmless error when already ended
          my_exec(*my_, "XA ROLLBACK " + xid);
          pg_exec(pg_, "ROLLBACK");
          break;
        }
        std::string decision;
        if (finished_.size() >= 64) {  // as xatm_llr: finished rows go with a later decision
          decision = "DELETE FROM xa_bench_raw_decisions WHERE gtrid IN (";
          for (std::size_t i = 0; i < finished_.size(); ++i) {
            decision += (i > 0 ? ", '" : "'") + finished_[i] + "'::bytea";
          }
          decision += ");";
          finished_.clear();
        }
        decision += "INSERT INTO xa_bench_raw_decisions (gtrid, node, outcome, branches) VALUES ('" + gtrid +
                    "'::bytea, 'rawllr', 'C', 'mariadb=" + gtrid + "');COMMIT";
        ok = pg_exec(pg_, decision);
        pg_end = Clock::now();
        if (!ok) {
          pg_exec(pg_, "ROLLBACK");
          my_exec(*my_, "XA ROLLBACK " + xid);
          break;
        }
        ok = my_exec(*my_, "XA COMMIT " + xid);
        my_end = Clock::now();
        if (ok) finished_.push_back(gtrid);
        break;
      }
      case Variant::kXatm2pc:
      case Variant::kXatmPglog:
      case Variant::kXatmLlr:
      case Variant::kXatm1pcPg:
      case Variant::kXatm1pcMy: {
        xatm::TransactionManager& tm = variant_ == Variant::kXatmLlr     ? *shared_.tm_llr
                                       : variant_ == Variant::kXatmPglog ? *shared_.tm_pglog
                                                                         : *shared_.tm;
        xatm::Result<xatm::Transaction> tx = tm.begin(std::chrono::seconds(10));
        if (!tx.ok()) { std::cerr << "begin: " << tx.status().to_string() << "\n"; break; }
        bool worked = true;
        if (variant_ != Variant::kXatm1pcPg) {
          xatm::Result<sql::Connection*> my = xatm::mysql::connection(*tx, "mariadb");
          worked = my.ok() && my_exec(**my, update_sql(my_row));
        }
        if (worked && variant_ != Variant::kXatm1pcMy) {
          xatm::Result<PGconn*> pg = xatm::postgresql::connection(*tx, "postgresql");
          worked = pg.ok() && pg_exec(*pg, update_sql(pg_row));
        }
        const Clock::time_point last_update = Clock::now();
        if (!worked) tx->set_rollback_only("an UPDATE failed");
        const xatm::Outcome outcome = tx->commit();
        const Clock::time_point end = Clock::now();
        ok = worked && outcome.committed();
        if (!ok && worked) std::cerr << "commit: " << outcome.to_string() << "\n";
        if (variant_ != Variant::kXatm1pcPg) { my_done = last_update; my_end = end; }
        if (variant_ != Variant::kXatm1pcMy) { pg_done = last_update; pg_end = end; }
        break;
      }
    }
    const Clock::time_point end = Clock::now();
    sample.latency_us = micros(begin, end);
    sample.hold_my_us = my_done == Clock::time_point{} ? 0 : micros(my_done, my_end);
    sample.hold_pg_us = pg_done == Clock::time_point{} ? 0 : micros(pg_done, pg_end);
    return ok;
  }

 private:
  const Shared& shared_;
  Variant variant_;
  std::mt19937 rng_;
  std::uniform_int_distribution<int> pick_;
  std::string prefix_;
  std::uint64_t sequence_ = 0;
  std::vector<std::string> finished_;  // rawllr: decisions whose branches all committed
  std::unique_ptr<sql::Connection> my_;
  PGconn* pg_ = nullptr;
};

struct Point {
  std::string variant;
  int threads = 0;
  double tps = 0;
  double p50_ms = 0, p99_ms = 0;
  double hold_my_p50_ms = 0, hold_pg_p50_ms = 0;
  std::uint64_t errors = 0;
  std::uint64_t transactions_run = 0;  // including warm-up
  bool valid = false;
};

double percentile_ms(std::vector<std::uint32_t>& values, double q) {
  if (values.empty()) return 0;
  const std::size_t at = std::min(values.size() - 1, static_cast<std::size_t>(q * static_cast<double>(values.size())));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(at), values.end());
  return values[at] / 1000.0;
}

// The samples of one variant at one thread count, gathered over all its rounds.
struct Samples {
  std::vector<Sample> ok;
  std::uint64_t errors = 0;
  std::uint64_t transactions_run = 0;  // including warm-up
  bool failed = false;
};

// One round: each thread connects, warms up for --warmup seconds, then counts for `duration_s`.
void run_round(const Shared& shared, Variant variant, int threads, double duration_s, Samples& into) {
  const Settings& s = *shared.settings;
  std::latch ready(threads);
  std::atomic<bool> go{false}, failed{false};
  Clock::time_point measure_from, measure_to;
  std::vector<std::vector<Sample>> samples(static_cast<std::size_t>(threads));
  std::vector<std::uint64_t> errors(static_cast<std::size_t>(threads)), runs(static_cast<std::size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      Worker worker(shared, variant, t);
      if (!worker.connect()) failed = true;
      ready.count_down();
      while (!go.load()) std::this_thread::yield();
      if (failed) return;
      auto& mine = samples[static_cast<std::size_t>(t)];
      mine.reserve(1 << 16);
      for (;;) {
        Sample sample{};
        const bool ok = worker.run(sample);
        const Clock::time_point now = Clock::now();
        ++runs[static_cast<std::size_t>(t)];
        if (now >= measure_to) break;
        if (now < measure_from) continue;
        if (ok) mine.push_back(sample);
        else ++errors[static_cast<std::size_t>(t)];
      }
    });
  }
  ready.wait();
  const Clock::time_point start = Clock::now();
  measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.warmup_s));
  measure_to = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration_s));
  go = true;
  for (std::thread& thread : pool) thread.join();
  into.failed = into.failed || failed;
  for (std::size_t t = 0; t < samples.size(); ++t) {
    into.errors += errors[t];
    into.transactions_run += runs[t];
    into.ok.insert(into.ok.end(), samples[t].begin(), samples[t].end());
  }
}

Point summarize(const std::string& name, int threads, const Samples& samples, double duration_s) {
  Point point{.variant = name, .threads = threads};
  point.errors = samples.errors;
  point.transactions_run = samples.transactions_run;
  if (samples.failed) return point;
  std::vector<std::uint32_t> latency, hold_my, hold_pg;
  for (const Sample& sample : samples.ok) {
    latency.push_back(sample.latency_us);
    if (sample.hold_my_us != 0) hold_my.push_back(sample.hold_my_us);
    if (sample.hold_pg_us != 0) hold_pg.push_back(sample.hold_pg_us);
  }
  point.tps = static_cast<double>(latency.size()) / duration_s;
  point.p50_ms = percentile_ms(latency, 0.50);
  point.p99_ms = percentile_ms(latency, 0.99);
  point.hold_my_p50_ms = percentile_ms(hold_my, 0.50);
  point.hold_pg_p50_ms = percentile_ms(hold_pg, 0.50);
  point.valid = !latency.empty();
  return point;
}

std::string fixed(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  if (!parse_args(argc, argv, settings)) return 2;
  if (!create_tables(settings)) return 1;

  const std::string log_dir = settings.dir + "/xatm-log";
  // The log is kept across runs (same node name): a run that ended with branches in doubt leaves
  // their decisions there for the next run's recovery.
  std::filesystem::create_directories(settings.dir);
  int max_threads = 1;
  for (int n : settings.threads) max_threads = std::max(max_threads, n);
  xatm::Options options{.node_name = "xabench", .log_dir = log_dir};
  // Default options, except that the idle pool holds one session per thread: otherwise, above
  // 16 threads, sessions beyond the pool would be closed and reopened, which measures connects.
  options.max_idle_connections = std::max<std::size_t>(options.max_idle_connections, static_cast<std::size_t>(max_threads));
  if (settings.phase_threads >= 0) options.phase_threads = static_cast<std::size_t>(settings.phase_threads);
  xatm::TransactionManager tm(options);
  xatm::Status status = tm.add(settings.mariadb);
  if (status.ok()) status = tm.add(settings.postgres);
  if (status.ok()) status = tm.start();
  if (!status.ok()) { std::cerr << "xatm: " << status.to_string() << "\n"; return 1; }
  xatm::Options llr_options = options;
  llr_options.node_name = "xabench-llr";
  llr_options.log_dir = settings.dir + "/xatm-llr-log";
  xatm::TransactionManager tm_llr(llr_options);
  xatm::postgresql::DataSource llr_postgres = settings.postgres;
  llr_postgres.decision_table = "xa_bench_decisions";
  status = tm_llr.add(settings.mariadb);
  if (status.ok()) status = tm_llr.add(llr_postgres);
  if (status.ok()) status = tm_llr.start();
  if (!status.ok()) { std::cerr << "xatm (decision table): " << status.to_string() << "\n"; return 1; }
  xatm::Options pglog_options = options;
  pglog_options.node_name = "xabench-pglog";
  xatm::postgresql::LogOptions log_options{.database = {.name = "decision-log", .conninfo = settings.postgres.conninfo},
                                           .table = "xa_bench_log",
                                           .node = pglog_options.node_name,
                                           .take_over = true};  // an earlier run's is gone
  xatm::Result<std::unique_ptr<xatm::DecisionLog>> pg_log = xatm::postgresql::make_decision_log(log_options);
  if (!pg_log.ok()) { std::cerr << "xatm (PostgreSQL log): " << pg_log.status().to_string() << "\n"; return 1; }
  xatm::TransactionManager tm_pglog(pglog_options, std::move(*pg_log));
  status = tm_pglog.add(settings.mariadb);
  if (status.ok()) status = tm_pglog.add(settings.postgres);
  if (status.ok()) status = tm_pglog.start();
  if (!status.ok()) { std::cerr << "xatm (PostgreSQL log): " << status.to_string() << "\n"; return 1; }
  SyncFile sync;
  if (!sync.open(settings.dir)) return 1;
  const Shared shared{&settings, &tm, &tm_llr, &tm_pglog, &sync};

  std::cout << "xa-bench: phase_threads=" << options.phase_threads << " rows=" << settings.rows << " duration=" << settings.duration_s
            << "s warmup=" << settings.warmup_s << "s rounds=" << settings.rounds << " dir=" << settings.dir << "\n";
  std::vector<Point> points;
  const double round_s = settings.duration_s / settings.rounds;
  for (int threads : settings.threads) {
    // Rounds alternate the variants, so that the order they run in and where the scheduler
    // happens to place the threads weigh on each of them alike (docs/performance.md).
    std::vector<Samples> gathered(settings.variants.size());
    for (int round = 0; round < settings.rounds; ++round) {
      for (std::size_t v = 0; v < settings.variants.size(); ++v) {
        run_round(shared, settings.variants[v], threads, round_s, gathered[v]);
      }
    }
    for (std::size_t v = 0; v < settings.variants.size(); ++v) {
      std::string name;
      for (const auto& [variant, n] : kVariants) if (variant == settings.variants[v]) name = n;
      Point point = summarize(name, threads, gathered[v], settings.duration_s);
      std::cerr << "  " << name << " threads=" << threads << ": " << fixed(point.tps, 0) << " tps\n";
      std::cout << "xa-bench-count: variant=" << name << " threads=" << threads
                << " transactions=" << point.transactions_run << "\n";
      points.push_back(point);
    }
  }

  auto find = [&](const std::string& name, int threads) -> const Point* {
    for (const Point& p : points) if (p.variant == name && p.threads == threads && p.valid) return &p;
    return nullptr;
  };
  std::cout << "\n| variant | threads | tps | p50 ms | p99 ms | lock hold MariaDB p50 ms | lock hold PG p50 ms | "
               "TM fsyncs/tx | errors |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const Point& p : points) {
    std::string fsyncs = "0";
    if (p.variant == "rawxa_sync") fsyncs = "1";
    if (p.variant == "xatm2pc") fsyncs = settings.xatm_fsyncs.count(p.threads) ? settings.xatm_fsyncs[p.threads] : "n/a";
    if (p.variant == "xatm_llr" || p.variant == "rawllr") fsyncs = "0";  // decision in PostgreSQL's commit
    if (p.variant == "xatm_pglog") fsyncs = "0";  // the log database's commit instead
    std::cout << "| " << p.variant << " | " << p.threads << " | " << fixed(p.tps, 0) << " | " << fixed(p.p50_ms, 3)
              << " | " << fixed(p.p99_ms, 3) << " | "
              << (p.hold_my_p50_ms > 0 ? fixed(p.hold_my_p50_ms, 3) + (p.variant.rfind("xatm", 0) == 0 ? " (ub)" : "") : "-")
              << " | "
              << (p.hold_pg_p50_ms > 0 ? fixed(p.hold_pg_p50_ms, 3) + (p.variant.rfind("xatm", 0) == 0 ? " (ub)" : "") : "-")
              << " | " << fsyncs << " | " << p.errors << " |\n";
  }
  std::cout << "(ub: upper bound, measured from after the last UPDATE until commit() returns)\n\n";
  for (int threads : settings.threads) {  // MariaDB 1PC in the table's words; not a last line
    const Point* local_my = find("local_my", threads);
    const Point* one_my = find("xatm1pc_my", threads);
    const Point* raw_one_my = find("rawxa1pc_my", threads);
    if (local_my && one_my) {
      std::cout << "xa-bench-mariadb: threads=" << threads
                << " p50_ratio_1pc_vs_local=" << fixed(one_my->p50_ms / local_my->p50_ms, 3)
                << " p50_ratio_1pc_vs_raw_xa_1pc="
                << (raw_one_my ? fixed(one_my->p50_ms / raw_one_my->p50_ms, 3) : "n/a")
                << " p50_ratio_raw_xa_1pc_vs_local="
                << (raw_one_my ? fixed(raw_one_my->p50_ms / local_my->p50_ms, 3) : "n/a") << "\n";
    }
  }
  for (int threads : settings.threads) {
    const Point* raw = find("rawxa", threads);
    const Point* xa = find("xatm2pc", threads);
    const Point* llr = find("xatm_llr", threads);
    const Point* raw_llr = find("rawllr", threads);
    const Point* pglog = find("xatm_pglog", threads);
    const Point* local_pg = find("local_pg", threads);
    const Point* one_pg = find("xatm1pc_pg", threads);
    std::cout << "xa-bench: threads=" << threads << " p50_ratio_vs_raw_xa="
              << (raw && xa ? fixed(xa->p50_ms / raw->p50_ms, 3) : "n/a")
              << " tps_ratio_vs_raw_xa=" << (raw && xa ? fixed(xa->tps / raw->tps, 3) : "n/a")
              << " p50_ratio_1pc_vs_local=" << (local_pg && one_pg ? fixed(one_pg->p50_ms / local_pg->p50_ms, 3) : "n/a")
              << " llr_p50_ratio_vs_raw_xa=" << (raw && llr ? fixed(llr->p50_ms / raw->p50_ms, 3) : "n/a")
              << " llr_tps_ratio_vs_raw_xa=" << (raw && llr ? fixed(llr->tps / raw->tps, 3) : "n/a")
              << " llr_p99_ratio_vs_raw_xa=" << (raw && llr ? fixed(llr->p99_ms / raw->p99_ms, 3) : "n/a")
              << " raw_llr_p50_ratio_vs_raw_xa=" << (raw && raw_llr ? fixed(raw_llr->p50_ms / raw->p50_ms, 3) : "n/a")
              << " raw_llr_tps_ratio_vs_raw_xa=" << (raw && raw_llr ? fixed(raw_llr->tps / raw->tps, 3) : "n/a")
              << " llr_tps_ratio_vs_raw_llr=" << (llr && raw_llr ? fixed(llr->tps / raw_llr->tps, 3) : "n/a")
              << " pglog_tps_ratio_vs_raw_xa=" << (raw && pglog ? fixed(pglog->tps / raw->tps, 3) : "n/a")
              << " pglog_p50_ratio_vs_raw_xa=" << (raw && pglog ? fixed(pglog->p50_ms / raw->p50_ms, 3) : "n/a")
              << "\n";
  }
  return 0;
}
