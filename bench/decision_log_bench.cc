// decision_log_bench: forced decisions per second and per fdatasync against the number of
// concurrent appenders (docs/performance.md), with the same disk's raw fdatasync rate measured in the
// same run as the baseline.
//
// For each appender count N: the file log, N threads each looping log_commit (timed: it returns
// once the record is durable) then log_done (not forced), for --seconds; around it, for a
// quarter of that time each, before and after (the disk's rate drifts), the baselines: one
// thread writing a record-sized block and calling fdatasync in a loop on a file in the log's
// directory, over a preallocated file (what the log does: the baseline reported) and appending
// to an empty one (printed for comparison). Ends with one machine-readable line per N:
//   log-bench: appenders=N records_per_s=R records_per_sync=S fdatasync_per_s=F
// records_per_s counts durable COMMIT records; records_per_sync divides them by the batches
// that the log made durable with an fdatasync (rotations excluded).
//
// Usage: decision_log_bench [--dir=DIR] [--seconds=S] [--appenders=1,4,16,64]
//                           [--segment-bytes=N] [--in-memory]
//                           [--backend=file|postgresql] [--conninfo=C]
// --in-memory runs the log on the in-memory Env instead of the disk (the baselines still use
// the disk): the log's CPU ceiling on this machine.
// --backend=postgresql measures the PostgreSQL log (xatm/postgresql/decision_log.h) in the
// database of --conninfo (default: $XATM_TEST_PG_CONNINFO), table xatm_log_bench, against a raw
// single-row INSERT + COMMIT loop (one autocommit INSERT per record, one thread) into a table of
// the same shape, measured before and after each point. Its lines:
//   log-bench: backend=postgresql appenders=N records_per_s=R records_per_commit=S
//              raw_commits_per_s=B ratio_vs_raw=X
// records_per_commit divides the records by the log's statements (each its own transaction).
// The directory defaults to one under the build tree, on the disk the build is on; it is
// emptied first. Use a real disk, not tmpfs: fdatasync on tmpfs measures nothing.
#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/log/file_log_testing.h"
#include "xatm/decision_log.h"
#include "xatm/xid.h"
#ifdef XATM_BENCH_WITH_POSTGRESQL
#include <libpq-fe.h>

#include "pg_decision_log.h"
#endif

#ifndef XATM_BENCH_DIR
#define XATM_BENCH_DIR "decision_log_bench.d"
#endif

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string dir = XATM_BENCH_DIR;
  double seconds = 3;
  std::vector<int> appenders = {1, 4, 16, 64};
  std::uint64_t segment_bytes = 16 << 20;
  bool in_memory = false;  // the log on PowerLossEnv: no disk, the CPU ceiling
  std::string backend = "file";
  std::string conninfo;  // --backend=postgresql
};

struct Point {
  int appenders = 0;
  double fdatasync_per_s = 0;         // into a preallocated file
  double append_fdatasync_per_s = 0;  // appending
  double records_per_s = 0;
  double records_per_sync = 0;
  double p50_us = 0;
  double p99_us = 0;
  std::uint64_t records = 0;
  std::uint64_t syncs = 0;
  std::uint64_t rotations = 0;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "decision_log_bench: " << problem
            << "\nusage: decision_log_bench [--dir=DIR] [--seconds=S] [--appenders=1,4,16,64]"
               " [--segment-bytes=N] [--in-memory] [--backend=file|postgresql] [--conninfo=C]\n";
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const std::string& name) -> const char* {
      return arg.rfind(name + "=", 0) == 0 ? arg.c_str() + name.size() + 1 : nullptr;
    };
    if (const char* v = value("--dir")) {
      options.dir = v;
    } else if (const char* v = value("--seconds")) {
      options.seconds = std::atof(v);
    } else if (const char* v = value("--segment-bytes")) {
      options.segment_bytes = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value("--backend")) {
      options.backend = v;
    } else if (const char* v = value("--conninfo")) {
      options.conninfo = v;
    } else if (arg == "--in-memory") {
      options.in_memory = true;
    } else if (const char* v = value("--appenders")) {
      options.appenders.clear();
      std::stringstream list(v);
      for (std::string item; std::getline(list, item, ',');) {
        options.appenders.push_back(std::atoi(item.c_str()));
      }
    } else {
      usage("unknown argument " + arg);
    }
  }
  if (options.seconds <= 0) usage("--seconds must be positive");
  if (options.backend != "file" && options.backend != "postgresql") usage("--backend is file or postgresql");
  if (options.conninfo.empty()) {
    const char* env = std::getenv("XATM_TEST_PG_CONNINFO");  // NOLINT(concurrency-mt-unsafe)
    if (env != nullptr) options.conninfo = env;
  }
  for (int n : options.appenders) {
    if (n <= 0) usage("--appenders must be positive numbers");
  }
  return options;
}

std::string filesystem_type(const std::string& dir) {
  struct statfs info {};
  if (::statfs(dir.c_str(), &info) != 0) return "unknown";
  switch (static_cast<unsigned long>(info.f_type)) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794C7630: return "overlayfs";
    default: {
      std::ostringstream hex;
      hex << "0x" << std::hex << info.f_type;
      return hex.str();
    }
  }
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// The COMMIT decision of transaction `sequence`: an xatm global XID and two branches, the
// shape the coordinator logs.
xatm::CommitRecord bench_record(std::uint64_t sequence) {
  xatm::GtridInfo info;
  info.node_name = "bench-1";
  info.created = std::chrono::system_clock::now();
  info.timeout = std::chrono::milliseconds(30000);
  info.sequence = sequence;
  xatm::Xid global = xatm::make_global_xid(info).value();
  return {global, {{"inventory", global.branch(0)}, {"billing", global.branch(1)}}};
}

// A baseline: one record-sized write + fdatasync at a time, for `seconds`, on a fresh file in
// `dir`: appended to an empty file (`preallocated` false), or written over a file preallocated
// with fallocate, which is what the log does and spares the file system a size update per
// sync.
double raw_fdatasync_rate(const std::string& dir, std::size_t record_bytes, double seconds,
                          bool preallocated) {
  std::string path = dir + "/fdatasync-baseline";
  ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) usage("cannot create " + path);
  constexpr off_t kPreallocated = 64 << 20;
  if (preallocated && (::fallocate(fd, 0, 0, kPreallocated) != 0 || ::fsync(fd) != 0)) {
    usage("fallocate/fsync failed on " + path);
  }
  std::string block(record_bytes, 'x');
  std::uint64_t syncs = 0;
  off_t offset = 0;
  Clock::time_point start = Clock::now();
  Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  Clock::time_point now = start;
  while (now < end) {
    if (::pwrite(fd, block.data(), block.size(), offset) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      usage("write/fdatasync failed on " + path);
    }
    offset = (offset + static_cast<off_t>(block.size())) % (kPreallocated - 4096);
    ++syncs;
    now = Clock::now();
  }
  ::close(fd);
  ::unlink(path.c_str());
  return static_cast<double>(syncs) / std::chrono::duration<double>(now - start).count();
}

double percentile(std::vector<double>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  auto index = static_cast<std::size_t>(fraction * static_cast<double>(sorted.size() - 1));
  return sorted[index];
}

// N threads each looping log_commit (timed: it returns once the record is durable) then
// log_done (not forced), for `seconds`.
Point run_appenders(xatm::DecisionLog& log, int appenders, double seconds) {
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(appenders));
  std::vector<std::thread> threads;
  const std::uint64_t base = static_cast<std::uint64_t>(::getpid()) << 48;
  Clock::time_point start = Clock::now();
  for (int t = 0; t < appenders; ++t) {
    threads.emplace_back([&, t] {
      std::vector<double>& mine = latencies[static_cast<std::size_t>(t)];
      mine.reserve(1 << 16);
      for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        xatm::CommitRecord record = bench_record(base | (static_cast<std::uint64_t>(t) << 32) | i);
        Clock::time_point before = Clock::now();
        xatm::Status status = log.log_commit(record);
        Clock::time_point after = Clock::now();
        if (!status.ok() || !log.log_done(record.global).ok()) {
          std::cerr << "append failed: " << status.to_string() << "\n";
          failed = true;
          return;
        }
        mine.push_back(std::chrono::duration<double, std::micro>(after - before).count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (std::thread& thread : threads) thread.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (failed) std::exit(1);
  std::vector<double> all;
  for (const std::vector<double>& mine : latencies) all.insert(all.end(), mine.begin(), mine.end());
  std::sort(all.begin(), all.end());
  Point point;
  point.appenders = appenders;
  point.records = all.size();
  point.records_per_s = static_cast<double>(all.size()) / elapsed;
  point.p50_us = percentile(all, 0.50);
  point.p99_us = percentile(all, 0.99);
  return point;
}

Point run_log(const Options& options, int appenders) {
  std::string dir = options.in_memory ? "/log" : options.dir + "/log";
  if (!options.in_memory) std::filesystem::remove_all(dir);
  xatm::FileLogOptions log_options;
  log_options.dir = dir;
  log_options.create_if_missing = true;
  log_options.node_name = "bench-1";
  log_options.max_segment_bytes = options.segment_bytes;
  std::optional<xatm::testing::InMemoryFileLog> memory;  // owns the in-memory Env
  std::unique_ptr<xatm::DecisionLog> log;
  if (options.in_memory) {
    auto opened = xatm::testing::open_in_memory_file_log(log_options);
    if (!opened.ok()) usage("cannot open the log: " + opened.status().to_string());
    memory.emplace(std::move(opened).value());
    log = std::move(memory->log);
  } else {
    auto opened = xatm::open_file_log(log_options);
    if (!opened.ok()) usage("cannot open the log: " + opened.status().to_string());
    log = std::move(opened).value();
  }
  Point point = run_appenders(*log, appenders, options.seconds);
  const xatm::testing::FileLogCounters stats = xatm::testing::file_log_counters(*log);
  point.syncs = stats.synced_batches;
  point.rotations = stats.rotations;
  point.records_per_sync =
      stats.synced_batches == 0 ? 0 : static_cast<double>(point.records) / stats.synced_batches;
  log.reset();
  if (!options.in_memory) std::filesystem::remove_all(dir);
  return point;
}

#ifdef XATM_BENCH_WITH_POSTGRESQL
// The baseline: one thread, one autocommit single-row INSERT (a commit) at a time, for `seconds`.
double raw_insert_commit_rate(const std::string& conninfo, double seconds) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) usage(std::string("cannot connect: ") + PQerrorMessage(conn));
  auto exec = [&](const std::string& sql) {
    PGresult* result = PQexec(conn, sql.c_str());
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    if (!ok) usage(sql + ": " + PQresultErrorMessage(result));
    PQclear(result);
  };
  exec("CREATE TABLE IF NOT EXISTS xatm_log_bench_raw (node text NOT NULL, seq bigint NOT NULL, "
       "branch integer NOT NULL, kind \"char\" NOT NULL, global text NOT NULL, data_source text "
       "NOT NULL, xid text NOT NULL, xa_code integer NOT NULL DEFAULT 0, PRIMARY KEY (node, seq, branch))");
  exec("TRUNCATE xatm_log_bench_raw");
  const xatm::CommitRecord record = bench_record(0);
  const std::string global = record.global.to_string(), xid = record.branches[0].xid.to_string();
  std::uint64_t commits = 0;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  Clock::time_point now = start;
  while (now < end) {
    exec("INSERT INTO xatm_log_bench_raw VALUES ('bench-raw', " + std::to_string(commits) + ", 0, 'C', '" +
         global + "', 'inventory', '" + xid + "')");
    ++commits;
    now = Clock::now();
  }
  PQfinish(conn);
  return static_cast<double>(commits) / std::chrono::duration<double>(now - start).count();
}

int run_postgresql(const Options& options) {
  if (options.conninfo.empty()) usage("--backend=postgresql needs --conninfo (or XATM_TEST_PG_CONNINFO)");
  std::printf("decision_log_bench: backend postgresql, %.1f s per point, %u cpus, load %s\n",
              options.seconds, std::thread::hardware_concurrency(), load_average().c_str());
  std::vector<std::string> lines;
  for (int appenders : options.appenders) {
    const double quarter = options.seconds / 4;
    double raw = raw_insert_commit_rate(options.conninfo, quarter);
    xatm::postgresql::LogOptions log_options;
    log_options.database.conninfo = options.conninfo;
    log_options.table = "xatm_log_bench";
    log_options.node = "bench-" + std::to_string(::getpid()) + "-" + std::to_string(appenders);
    auto log = xatm::postgresql::internal::PgDecisionLog::open(log_options);
    if (!log.ok()) usage("cannot open the log: " + log.status().to_string());
    Point point = run_appenders(**log, appenders, options.seconds);
    const auto stats = (*log)->stats();
    log->reset();
    raw = (raw + raw_insert_commit_rate(options.conninfo, quarter)) / 2;
    const double per_commit =
        stats.statements == 0 ? 0 : static_cast<double>(stats.commit_records) / static_cast<double>(stats.statements);
    std::printf("appenders %3d: %9.0f records/s  %6.1f records/commit  p50 %7.0f us  p99 %7.0f us | raw "
                "INSERT+COMMIT/s: %6.0f (ratio %.2f)\n",
                appenders, point.records_per_s, per_commit, point.p50_us, point.p99_us, raw,
                point.records_per_s / raw);
    std::fflush(stdout);
    char line[256];
    std::snprintf(line, sizeof line,
                  "log-bench: backend=postgresql appenders=%d records_per_s=%.0f records_per_commit=%.2f "
                  "raw_commits_per_s=%.0f ratio_vs_raw=%.2f",
                  appenders, point.records_per_s, per_commit, raw, point.records_per_s / raw);
    lines.push_back(line);
  }
  std::printf("load at the end: %s\n", load_average().c_str());
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
  return 0;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  if (options.backend == "postgresql") {
#ifdef XATM_BENCH_WITH_POSTGRESQL
    return run_postgresql(options);
#else
    usage("this decision_log_bench was built without the PostgreSQL driver");
#endif
  }
  std::filesystem::create_directories(options.dir);
  std::size_t record_bytes = xatm::testing::framed_size(bench_record(0));
  std::printf(
      "decision_log_bench: dir %s (%s), %.1f s per point, COMMIT record %zu bytes, "
      "%u cpus, load %s\n",
      options.dir.c_str(), filesystem_type(options.dir).c_str(), options.seconds, record_bytes,
      std::thread::hardware_concurrency(), load_average().c_str());
  std::vector<Point> points;
  for (int appenders : options.appenders) {
    // Before and after: this disk's rate drifts with what else runs on the machine.
    const double quarter = options.seconds / 4;
    double preallocated = raw_fdatasync_rate(options.dir, record_bytes, quarter, true);
    double appended = raw_fdatasync_rate(options.dir, record_bytes, quarter, false);
    Point point = run_log(options, appenders);
    preallocated += raw_fdatasync_rate(options.dir, record_bytes, quarter, true);
    appended += raw_fdatasync_rate(options.dir, record_bytes, quarter, false);
    point.fdatasync_per_s = preallocated / 2;
    point.append_fdatasync_per_s = appended / 2;
    std::printf(
        "appenders %3d: %9.0f records/s  %6.1f records/fdatasync  p50 %7.0f us  "
        "p99 %7.0f us | raw write+fdatasync/s: %6.0f preallocated (ratio %.2f), %6.0f "
        "appending | %llu records, %llu syncs, %llu rotations\n",
        appenders, point.records_per_s, point.records_per_sync, point.p50_us, point.p99_us,
        point.fdatasync_per_s, point.records_per_s / point.fdatasync_per_s,
        point.append_fdatasync_per_s, static_cast<unsigned long long>(point.records),
        static_cast<unsigned long long>(point.syncs),
        static_cast<unsigned long long>(point.rotations));
    std::fflush(stdout);
    points.push_back(point);
  }
  std::printf("load at the end: %s\n", load_average().c_str());
  for (const Point& point : points) {
    std::printf(
        "log-bench: appenders=%d records_per_s=%.0f records_per_sync=%.2f "
        "fdatasync_per_s=%.0f\n",
        point.appenders, point.records_per_s, point.records_per_sync, point.fdatasync_per_s);
  }
  return 0;
}
