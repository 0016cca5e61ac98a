// Crash tests (label `crash`): transfers between MariaDB and PostgreSQL are interrupted by a
// kill -9 at every named crash point and at random times; then, with the application down,
// either a new TransactionManager incarnation recovers (warm, at start()) or `xatm-recover run`
// does, in alternate iterations; in some iterations `xatm-recover run --force` also runs while
// the worker is under load. After each crash the invariants must hold:
//   - the sum of all balances is unchanged, and no branch of the test's node is left prepared;
//   - every transfer across both databases has its ledger row in both or in neither;
//   - every transfer the application was told `committed` has its rows in each database it
//     wrote, and every one it was told `rolled back` has none (the worker reports each answer
//     before it can be killed: crash_worker.cc).
//
// XATM_CRASH_ITERATIONS sets the number of crashes (default 200); XATM_CRASH_SEED the first
// seed (default: from the clock, printed). The last line is always
//   crash-soak: runs=N violations=V leftovers=L decision_table=<data source.table|none>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <libpq-fe.h>

#include "bank_test.h"
#include "xatm/decision_log.h"
#include "xatm/mysql/mysql.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/recovery.h"

extern char** environ;

namespace xatm::crash {
namespace {

using testing::test_setting;

const std::vector<std::string> kCrashPoints = {
    "phase1.before_prepare", "phase1.prepare_sent", "phase1.after_prepare",
    "decision.before_log",   "decision.after_log",  "phase2.commit_sent",
    "phase2.after_commit",   "phase2.before_done",  "log.before_sync"};
// The PostgreSQL decision log has no sync of its own to crash before: a kill at a random time
// falls inside its statements often enough.
const std::vector<std::string> kDatabaseLogCrashPoints = {
    "phase1.before_prepare", "phase1.prepare_sent", "phase1.after_prepare",
    "decision.before_log",   "decision.after_log",  "phase2.commit_sent",
    "phase2.after_commit",   "phase2.before_done"};
constexpr const char* kLogTable = "xatm_crash_log";
// With PostgreSQL's decision table the decision rides in its commit (no log record).
const std::vector<std::string> kDecisionTableCrashPoints = {
    "phase1.before_prepare",        "phase1.prepare_sent",         "phase1.after_prepare",
    "decision.before_table_commit", "decision.after_table_commit", "phase2.commit_sent",
    "phase2.after_commit",          "phase2.before_done"};
constexpr const char* kDecisionTable = "xatm_crash_decisions";

struct WorkerRun {
  int status = 0;  // waitpid status
  int forced_tool_exit = 0;  // of `xatm-recover run --force` beside it, when one ran
  bool crashed() const {
    return (WIFEXITED(status) && WEXITSTATUS(status) == 86) ||
           (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  }
  bool failed() const { return !crashed() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0); }
};

class CrashHarness {
 public:
  // `decision_table`: the decision table of data source `decision_source` ("postgresql" or
  // "mariadb"), empty for none.
  CrashHarness(std::string node, std::string log_dir, std::string decision_table = "",
               std::string decision_source = "postgresql")
      : node_(std::move(node)), log_dir_(std::move(log_dir)),
        decision_table_(std::move(decision_table)), decision_source_(std::move(decision_source)) {}

  // Keeps the decisions in this table of PostgreSQL's database instead of the file log; every
  // worker and every `xatm-recover run` then takes the node over (the harness knows the
  // previous owner is dead or, in the zombie test, paused).
  // Runs the background recovery pass in every worker, every `interval`.
  void use_background_recovery(std::chrono::milliseconds interval) { recovery_interval_ = interval; }

  void use_database_log(std::string table, std::string conninfo = test_setting("PG_CONNINFO")) {
    log_table_ = std::move(table);
    log_conninfo_ = std::move(conninfo);
  }

  // Runs `xatm-recover run` over the same node, log and data sources; returns its exit status
  // (0 all resolved, 1 something left for a later run).
  int recover_tool(bool force = false) {
    const std::string config = log_dir_ + ".json";
    {
      std::ofstream out(config);
      out << R"({"node_name": ")" << node_ << R"(", )" << log_key() << R"(, "data_sources": [)"
          << R"({"name": "mariadb", "driver": "mysql", "unix_socket": ")" << test_setting("MYSQL_SOCKET")
          << R"(", "user": ")" << test_setting("MYSQL_USER") << R"(", "password_env": "XATM_TEST_MYSQL_PASSWORD",)"
          << R"( "database": ")" << test_setting("MYSQL_DATABASE") << table_key("mariadb") << R"("},)"
          << R"({"name": "postgresql", "driver": "postgresql", "conninfo": ")" << test_setting("PG_CONNINFO")
          << table_key("postgresql") << R"("}]})";
    }
    std::vector<std::string> args = {XATM_RECOVER_TOOL, "run", "--config", config};
    if (force) args.insert(args.end(), {"--force", "--grace-seconds", "1"});
    if (!force && !log_table_.empty()) args.push_back("--take-over");
    pid_t pid = 0;
    // Its report goes to /dev/null; the oracle checks the data.
    const int spawned = spawn(args, environment(""), /*quiet=*/true, pid);
    if (spawned != 0) return -1000 - spawned;  // could not start it (errno)
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);  // killed by a signal
  }

  // Runs the worker (4 threads); `crash_at` names a crash point ("" for none); `kill_after` > 0
  // SIGKILLs it after that long; `force_tool_after` > 0 runs `xatm-recover run --force` beside
  // it after that long, while it is under load.
  WorkerRun worker(int transfers, unsigned seed, const std::string& crash_at,
                   std::chrono::milliseconds kill_after = std::chrono::milliseconds::zero(),
                   int phase_threads = 2,
                   std::chrono::milliseconds force_tool_after = std::chrono::milliseconds::zero()) {
    WorkerRun run;
    const pid_t pid = start_worker(transfers, seed, crash_at, phase_threads);
    if (pid < 0) {
      run.status = -1;
      return run;
    }
    if (force_tool_after > std::chrono::milliseconds::zero()) {
      std::this_thread::sleep_for(force_tool_after);
      run.forced_tool_exit = recover_tool(/*force=*/true);
    }
    if (kill_after > std::chrono::milliseconds::zero()) {
      std::this_thread::sleep_for(kill_after);
      kill(pid, SIGKILL);
    }
    waitpid(pid, &run.status, 0);
    return run;
  }

  // Starts the worker (4 threads) without waiting for it; -1 when it could not be started.
  pid_t start_worker(int transfers, unsigned seed, const std::string& crash_at, int phase_threads) {
    std::vector<std::string> args = {XATM_CRASH_WORKER, node_, log_dir_, std::to_string(transfers),
                                     "4", std::to_string(seed), std::to_string(phase_threads),
                                     outcomes_path()};
    pid_t pid = 0;
    return spawn(args, environment(crash_at), /*quiet=*/false, pid) == 0 ? pid : -1;
  }

  // Where every worker appends what each commit() answered.
  std::string outcomes_path() const { return log_dir_ + ".outcomes"; }

 private:
  // posix_spawn of args[0] with `args` and `env`; `quiet` sends its stdout and stderr to
  // /dev/null. 0 or posix_spawn's errno.
  static int spawn(std::vector<std::string> args, std::vector<std::string> env, bool quiet, pid_t& pid) {
    std::vector<char*> argv, envp;
    for (std::string& a : args) argv.push_back(a.data());
    for (std::string& e : env) envp.push_back(e.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (quiet) {
      posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
      posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    }
    const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    return spawned;
  }

  std::vector<std::string> environment(const std::string& crash_at) const {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string entry(*e);
      if (entry.rfind("XATM_CRASH_AT=", 0) != 0 && entry.rfind("XATM_TEST_", 0) != 0 &&
          entry.rfind("XATM_CRASH_DECISION_", 0) != 0 && entry.rfind("XATM_CRASH_LOG_", 0) != 0 &&
          entry.rfind("XATM_CRASH_RECOVERY_", 0) != 0) {
        env.push_back(entry);
      }
    }
    for (const char* name : {"MYSQL_SOCKET", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_DATABASE", "PG_CONNINFO"}) {
      env.push_back(std::string("XATM_TEST_") + name + "=" + test_setting(name));
    }
    if (!crash_at.empty()) env.push_back("XATM_CRASH_AT=" + crash_at);
    if (recovery_interval_.count() > 0) {
      env.push_back("XATM_CRASH_RECOVERY_MS=" + std::to_string(recovery_interval_.count()));
    }
    if (!log_table_.empty()) {
      env.push_back("XATM_CRASH_LOG_TABLE=" + log_table_);
      env.push_back("XATM_CRASH_LOG_CONNINFO=" + log_conninfo_);
    }
    if (!decision_table_.empty()) {
      env.push_back("XATM_CRASH_DECISION_TABLE=" + decision_table_);
      env.push_back("XATM_CRASH_DECISION_SOURCE=" + decision_source_);
    }
    return env;
  }

  // The config file's decision log: the file log's directory or the database log.
  std::string log_key() const {
    if (log_table_.empty()) return R"("log_dir": ")" + log_dir_ + R"(")";
    return R"("log": {"backend": "postgresql", "table": ")" + log_table_ + R"(", "conninfo": ")" +
           log_conninfo_ + R"("})";
  }

  // The config file's decision_table key for `data_source` (ends the previous value's quote).
  std::string table_key(const std::string& data_source) const {
    if (decision_table_.empty() || data_source != decision_source_) return "";
    return R"(", "decision_table": ")" + decision_table_;
  }

  std::string node_, log_dir_, decision_table_, decision_source_;
  std::string log_table_;  // empty: the file log in log_dir_
  std::string log_conninfo_;
  std::chrono::milliseconds recovery_interval_{0};
};

// The ledger invariants over every transfer so far; one line per violation (empty: none).
std::vector<std::string> ledger_violations(Bank& bank, const std::string& outcomes_path) {
  std::vector<std::string> problems;
  Result<Bank::Ledgers> ledgers = bank.ledgers();
  if (!ledgers.ok()) return {"cannot read the ledgers: " + ledgers.status().to_string()};
  const auto in = [](const std::map<std::int64_t, int>& ledger, std::int64_t id) { return ledger.count(id) != 0; };
  // (i) a transfer across both databases is in both ledgers or in neither.
  for (const auto* ledger : {&ledgers->mariadb, &ledgers->postgresql}) {
    for (const auto& [id, parts] : *ledger) {
      if (parts == 2 && in(ledgers->mariadb, id) != in(ledgers->postgresql, id)) {
        problems.push_back("transfer " + std::to_string(id) + " is in one database only");
      }
    }
  }
  // (ii) and (iii): what the application was told.
  std::ifstream outcomes(outcomes_path);
  std::string line;
  while (std::getline(outcomes, line)) {
    std::istringstream fields(line);
    std::int64_t id = 0;
    char where = 0, told = 0;
    if (!(fields >> id >> where >> told)) {
      problems.push_back("unreadable outcome line '" + line + "'");
      continue;
    }
    const bool mariadb = in(ledgers->mariadb, id), postgresql = in(ledgers->postgresql, id);
    const bool all = where == 'B' ? mariadb && postgresql : where == 'M' ? mariadb : postgresql;
    if (told == 'C' && !all) {
      problems.push_back("transfer " + std::to_string(id) + " was answered committed but is missing");
    }
    if (told == 'R' && (mariadb || postgresql)) {
      problems.push_back("transfer " + std::to_string(id) + " was answered rolled back but is there");
    }
  }
  return problems;
}

// How many answers of each kind ('C', 'R', 'U') the outcomes file holds.
std::map<char, int> count_outcomes(const std::string& outcomes_path) {
  std::map<char, int> counts;
  std::ifstream outcomes(outcomes_path);
  std::string id, where, told;
  while (outcomes >> id >> where >> told) ++counts[told.front()];
  return counts;
}

int env_int(const char* name, int fallback) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): test set-up
  return value != nullptr ? std::atoi(value) : fallback;
}

// Recovers `node` as a new incarnation would (a worker without transfers), until nothing of it
// is prepared or 30 passes went by; how many branches are left (-1 when a pass failed).
int recover_until_clean(CrashHarness& harness, Bank& bank, const std::string& node, unsigned seed) {
  for (int pass = 0; pass < 30; ++pass) {
    if (harness.worker(0, seed, "").failed()) return -1;
    Result<int> prepared = bank.prepared_of_node(node);
    if (!prepared.ok()) return -1;
    if (*prepared == 0) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Result<int> prepared = bank.prepared_of_node(node);
  return prepared.ok() ? *prepared : -1;
}

// The crash loop: `iterations` workers crashed at `points` (each in turn, then SIGKILL at a
// random time, then a random point with a crash in the first recovery too), each followed by
// recovery and the invariants. `decision_table`: PostgreSQL's, empty for none.
void run_crash_loop(const std::vector<std::string>& kCrashPoints, const std::string& decision_table,
                    const std::string& decision_source = "postgresql",
                    const std::string& log_table = "") {
  const int iterations = env_int("XATM_CRASH_ITERATIONS", 200);
  const auto first_seed = static_cast<unsigned>(env_int(
      "XATM_CRASH_SEED", static_cast<int>(std::chrono::system_clock::now().time_since_epoch().count() % 100000)));
  std::cout << "crash test: " << iterations << " iterations from seed " << first_seed << std::endl;
  const ServerSettings servers = test_servers();
  Result<std::unique_ptr<Bank>> bank = Bank::open(servers);
  ASSERT_TRUE(bank.ok()) << bank.status().to_string();
  ASSERT_TRUE((*bank)->reset().ok());
  const std::string node = "crash-" + std::to_string(getpid());
  const std::string log_dir = (std::filesystem::temp_directory_path() / (node + "-log")).string();
  std::filesystem::remove_all(log_dir);
  CrashHarness harness(node, log_dir, decision_table, decision_source);
  if (!log_table.empty()) harness.use_database_log(log_table);
  std::filesystem::remove(harness.outcomes_path());

  int violations = 0, leftovers = 0, crashed = 0;
  for (int i = 0; i < iterations; ++i) {
    const unsigned seed = first_seed + static_cast<unsigned>(i);
    std::mt19937 random(seed);
    const std::size_t kind = static_cast<std::size_t>(i) % (kCrashPoints.size() + 2);
    std::string crash_at;
    std::chrono::milliseconds kill_after{0};
    if (kind < kCrashPoints.size()) {
      crash_at = kCrashPoints[kind] + ":" + std::to_string(1 + random() % 6);
    } else if (kind == kCrashPoints.size()) {
      kill_after = std::chrono::milliseconds(20 + random() % 200);
    } else {
      crash_at = kCrashPoints[random() % kCrashPoints.size()] + ":" + std::to_string(1 + random() % 6);
    }
    // Every other iteration runs each phase's branches one after the other, so that a crash
    // can fall between the two prepares or between the two commits.
    const int phase_threads = (i / static_cast<int>(kCrashPoints.size() + 2)) % 2 == 0 ? 0 : 2;
    // Every third iteration of the kinds that crash at a point, an operator also runs
    // `xatm-recover run --force` while the worker is under load. Not in the first: the worker
    // may not have created the log yet, and the tool never creates one (it exits 3).
    const auto force_tool_after =
        kind < kCrashPoints.size() && i > 0 && i % 3 == 0 ? std::chrono::milliseconds(10 + random() % 60)
                                                 : std::chrono::milliseconds::zero();
    WorkerRun run = harness.worker(10, seed, crash_at, kill_after, phase_threads, force_tool_after);
    ASSERT_FALSE(run.failed()) << "worker failed, seed " << seed << " wait status " << run.status;
    ASSERT_TRUE(run.forced_tool_exit == 0 || run.forced_tool_exit == 1)
        << "xatm-recover run --force beside the worker: exit " << run.forced_tool_exit << ", seed " << seed;
    crashed += run.crashed() ? 1 : 0;
    if (kind == kCrashPoints.size() + 1) {  // the first recovery crashes too
      harness.worker(0, seed, "recovery.after_resolve:1");
    }
    // Recover (a new incarnation's start()) until nothing of ours is prepared; a branch whose
    // session the server has not yet seen die can need a second pass.
    int left = -1;
    const bool by_tool = i % 2 == 1;
    for (int pass = 0; pass < 30 && left != 0; ++pass) {
      if (by_tool) {
        const int exit_code = harness.recover_tool();
        ASSERT_TRUE(exit_code == 0 || exit_code == 1)
            << "xatm-recover run: " << (exit_code <= -1000 ? "spawn failed, errno " : "exit/-signal ")
            << (exit_code <= -1000 ? -1000 - exit_code : exit_code) << ", seed " << seed;
      } else {
        WorkerRun recovery = harness.worker(0, seed, "");
        ASSERT_FALSE(recovery.failed()) << "recovery failed, seed " << seed;
      }
      Result<int> prepared = (*bank)->prepared_of_node(node);
      ASSERT_TRUE(prepared.ok()) << prepared.status().to_string();
      left = *prepared;
      if (left != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    Result<std::int64_t> total = (*bank)->total();
    ASSERT_TRUE(total.ok()) << total.status().to_string();
    if (left != 0) {
      ++leftovers;
      ADD_FAILURE() << "seed " << seed << " (" << crash_at << "): " << left << " branch(es) left prepared";
    }
    const std::vector<std::string> ledger_problems = ledger_violations(**bank, harness.outcomes_path());
    if (*total != kExpectedTotal || !ledger_problems.empty()) {
      ++violations;
      ADD_FAILURE() << "seed " << seed << " (" << crash_at << " kill " << kill_after.count()
                    << " ms): total " << *total << " (expected " << kExpectedTotal << "); "
                    << ledger_problems.size() << " ledger violation(s)"
                    << (ledger_problems.empty() ? "" : ", the first: " + ledger_problems.front());
      ASSERT_TRUE((*bank)->reset().ok());
      std::filesystem::remove(harness.outcomes_path());
    }
  }
  std::map<char, int> told = count_outcomes(harness.outcomes_path());
  std::cout << "crash test: commit() answered committed " << told['C'] << ", rolled back " << told['R']
            << ", otherwise " << told['U'] << " times (since the last reset)\n";
  // The ledger oracle saw both kinds of answer, so it checked something.
  EXPECT_GT(told['C'], 0);
  EXPECT_GT(told['R'], 0);
  std::filesystem::remove_all(log_dir);
  std::filesystem::remove(harness.outcomes_path());
  std::cout << "crash test: " << crashed << " of " << iterations << " workers crashed mid-run\n";
  std::cout << "crash-soak: runs=" << iterations << " violations=" << violations
            << " leftovers=" << leftovers
            << " decision_table=" << (decision_table.empty() ? "none" : decision_source + "." + decision_table)
            << " log=" << (log_table.empty() ? "file" : "postgresql." + log_table) << std::endl;
  EXPECT_GT(crashed, iterations / 2) << "the crash points were not reached";
}

TEST(CrashTest, TransfersSurviveCrashesAtEveryPointAndAtRandomTimes) { run_crash_loop(kCrashPoints, ""); }

// A worker of node `node` that decides in PostgreSQL's decision table, crashed at `point`, with
// everything recovery needs to look at what it left.
class DecisionTableCrash {
 public:
  DecisionTableCrash(const std::string& point, const std::string& node)
      : node_(node),
        log_dir_((std::filesystem::temp_directory_path() / (node + "-log")).string()),
        harness_(node, log_dir_, kDecisionTable) {
    servers_ = test_servers();
    Result<std::unique_ptr<Bank>> bank = Bank::open(servers_);
    EXPECT_TRUE(bank.ok()) << bank.status().to_string();
    bank_ = std::move(*bank);
    EXPECT_TRUE(bank_->reset().ok());
    std::filesystem::remove_all(log_dir_);
    std::filesystem::remove(harness_.outcomes_path());
    crashed_ = harness_.worker(10, 7, point + ":1", std::chrono::milliseconds::zero(), 2).crashed();
  }
  ~DecisionTableCrash() {
    std::filesystem::remove_all(log_dir_);
    std::filesystem::remove(harness_.outcomes_path());
  }

  bool crashed() const { return crashed_; }
  Bank& bank() { return *bank_; }
  CrashHarness& harness() { return harness_; }

  // Rows of the node with `outcome` in PostgreSQL's decision table.
  int rows_with(char outcome) const {
    PGconn* pg = PQconnectdb(servers_.pg_conninfo.c_str());
    PGresult* result = PQexec(pg, (std::string("SELECT count(*) FROM ") + kDecisionTable + " WHERE node = '" +
                                   node_ + "' AND outcome = '" + outcome + "'").c_str());
    const int count = PQresultStatus(result) == PGRES_TUPLES_OK ? std::atoi(PQgetvalue(result, 0, 0)) : -1;
    PQclear(result);
    PQfinish(pg);
    return count;
  }

  // Runs `check` with a Recoverer over the crashed node's log and data sources (the worker is
  // down, so the log's lock is free).
  void with_recoverer(const std::function<void(Recoverer&, Resource& postgres)>& check) {
    Result<std::unique_ptr<DecisionLog>> log = open_file_log({.dir = log_dir_, .node_name = node_});
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    std::unique_ptr<Resource> mariadb = mysql::make_resource({.name = "mariadb",
                                                              .unix_socket = servers_.mysql_socket,
                                                              .user = servers_.mysql_user,
                                                              .password = servers_.mysql_password,
                                                              .database = servers_.mysql_database});
    std::unique_ptr<Resource> postgres = postgresql::make_resource(
        {.name = "postgresql", .conninfo = servers_.pg_conninfo, .decision_table = kDecisionTable});
    Recoverer recoverer(**log, {mariadb.get(), postgres.get()},
                        {.node_name = node_, .owner_down_below_sequence = (*log)->sequence_limit()});
    check(recoverer, *postgres);
  }

  // Recovers as the next incarnation would, then checks every invariant.
  void recover_and_check() {
    ASSERT_FALSE(harness_.worker(0, 7, "").failed());
    EXPECT_EQ(bank_->prepared_of_node(node_).value(), 0);
    EXPECT_EQ(bank_->total().value(), kExpectedTotal);
    EXPECT_EQ(ledger_violations(*bank_, harness_.outcomes_path()), std::vector<std::string>{});
  }

 private:
  ServerSettings servers_;
  std::unique_ptr<Bank> bank_;
  std::string node_, log_dir_;
  CrashHarness harness_;
  bool crashed_ = false;
};

TEST(CrashTest, ACommitDecidedInTheTableIsFinishedByRecoveryAndCannotBeRolledBack) {
  DecisionTableCrash crash("decision.after_table_commit", "llr-after-" + std::to_string(getpid()));
  ASSERT_TRUE(crash.crashed());
  EXPECT_GE(crash.rows_with('C'), 1) << "PostgreSQL committed the decision";
  crash.with_recoverer([](Recoverer& recoverer, Resource&) {
    const RecoveryReport report = recoverer.scan();
    const InDoubtBranch* decided = nullptr;
    for (const InDoubtBranch& branch : report.branches) {
      if (branch.reason.find("decision table xatm_crash_decisions") != std::string::npos) decided = &branch;
    }
    ASSERT_NE(decided, nullptr) << "list shows where the decision lives";
    EXPECT_EQ(decided->action, InDoubtBranch::Action::kCommit);
    Result<RecoveryReport> rolled_back = recoverer.rollback(decided->xid.global());
    EXPECT_EQ(rolled_back.status().code(), StatusCode::kFailedPrecondition) << rolled_back.status().to_string();
    EXPECT_NE(rolled_back.status().message().find("in decision table"), std::string::npos)
        << rolled_back.status().to_string();
  });
  crash.recover_and_check();
  EXPECT_EQ(crash.rows_with('C'), 0) << "recovery deletes the rows of finished transactions";
}

TEST(CrashTest, APresumedAbortFencesTheDecisionTableFirst) {
  DecisionTableCrash crash("decision.before_table_commit", "llr-before-" + std::to_string(getpid()));
  ASSERT_TRUE(crash.crashed());
  EXPECT_GE(crash.bank().prepared_of_node("llr-before-" + std::to_string(getpid())).value(), 1);
  crash.with_recoverer([](Recoverer& recoverer, Resource& postgres) {
    const RecoveryReport report = recoverer.scan();
    ASSERT_FALSE(report.branches.empty());
    const Xid global = report.branches.front().xid.global();
    // A fence written by hand: the transaction can no longer commit in the table, so an
    // operator's commit of its other branches is refused.
    ASSERT_EQ(postgres.decision_table()->fence(global, "llr-before-" + std::to_string(getpid())).value(), 'A');
    Result<RecoveryReport> committed = recoverer.commit(global);
    EXPECT_EQ(committed.status().code(), StatusCode::kFailedPrecondition) << committed.status().to_string();
    EXPECT_NE(committed.status().message().find("holds a fence"), std::string::npos);
  });
  crash.recover_and_check();
  EXPECT_GE(crash.rows_with('A'), 1) << "every presumed abort left its fence";
}

TEST(CrashTest, TransfersDecidedInADecisionTableSurviveCrashes) {
  run_crash_loop(kDecisionTableCrashPoints, kDecisionTable);
}

TEST(CrashTest, TransfersDecidedInMariadbsDecisionTableSurviveCrashes) {
  run_crash_loop(kDecisionTableCrashPoints, kDecisionTable, "mariadb");
}

TEST(CrashTest, TransfersSurviveCrashesAndTakeoversWithThePostgresqlLog) {
  run_crash_loop(kDatabaseLogCrashPoints, "", "postgresql", kLogTable);
}

// The takeover tests: each starts from a fresh bank (balances, ledgers) in both databases.
class TakeoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Bank>> bank = Bank::open(test_servers());
    ASSERT_TRUE(bank.ok()) << bank.status().to_string();
    bank_ = std::move(*bank);
    ASSERT_TRUE(bank_->reset().ok());
  }
  static std::string log_dir_of(const std::string& node) {
    return (std::filesystem::temp_directory_path() / (node + "-log")).string();
  }

  std::unique_ptr<Bank> bank_;
};

// A zombie owner: the worker is paused (SIGSTOP) under load, another process takes the node
// over and resolves what it left, then the worker goes on (SIGCONT). It must decide nothing
// more: its transactions end rolled back or unknown, never committed without a durable
// decision, and the invariants hold once everything is recovered.
TEST_F(TakeoverTest, AZombieOwnerDecidesNothingAfterATakeover) {
  const std::string node = "zombie-" + std::to_string(getpid());
  const std::string log_dir = log_dir_of(node);
  CrashHarness harness(node, log_dir);
  harness.use_database_log(kLogTable);
  std::filesystem::remove(harness.outcomes_path());
  const int rounds = env_int("XATM_ZOMBIE_ROUNDS", 4);
  int paused_with_work = 0;
  std::chrono::milliseconds longest_takeover{0};  // a TM's start() to all resolved (target 10 s)
  for (int round = 0; round < rounds; ++round) {
    const unsigned seed = 900 + static_cast<unsigned>(round);
    const pid_t zombie = harness.start_worker(200, seed, "", 2);
    ASSERT_GT(zombie, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(400 + 150 * round));
    ASSERT_EQ(kill(zombie, SIGSTOP), 0);
    Result<int> prepared_at_pause = bank_->prepared_of_node(node);
    ASSERT_TRUE(prepared_at_pause.ok()) << prepared_at_pause.status().to_string();
    paused_with_work += *prepared_at_pause > 0 ? 1 : 0;
    // The takeover: a TM of the node started elsewhere (ends the zombie's log session, bumps
    // the epoch, resolves everything of the node that is prepared).
    const auto takeover_began = std::chrono::steady_clock::now();
    WorkerRun takeover = harness.worker(0, seed, "");
    const auto takeover_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - takeover_began);
    longest_takeover = std::max(longest_takeover, takeover_ms);
    ASSERT_FALSE(takeover.failed()) << "takeover failed, round " << round;
    // Before the zombie resumes, the takeover alone has resolved everything in doubt.
    Result<int> after_takeover = bank_->prepared_of_node(node);
    ASSERT_TRUE(after_takeover.ok()) << after_takeover.status().to_string();
    EXPECT_EQ(*after_takeover, 0) << "round " << round << ": the takeover left branches prepared";
    ASSERT_EQ(kill(zombie, SIGCONT), 0);
    // The zombie's transactions in flight may still prepare branches and then fail to decide
    // (their answer lost with the ended session: unknown); the new owner's recovery finishes
    // them, as its background pass would, so that the zombie's threads waiting for their rows
    // go on and it ends.
    int status = 0;
    for (int pass = 0; pass < 100 && waitpid(zombie, &status, WNOHANG) == 0; ++pass) {
      ASSERT_FALSE(harness.worker(0, seed, "").failed());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (waitpid(zombie, &status, WNOHANG) == 0) {
      kill(zombie, SIGKILL);
      waitpid(zombie, &status, 0);
      FAIL() << "round " << round << ": the zombie did not end within 100 recovery passes";
    }
    EXPECT_TRUE(WIFEXITED(status)) << "the zombie ended by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    EXPECT_EQ(recover_until_clean(harness, *bank_, node, seed), 0) << "round " << round;
    Result<std::int64_t> total = bank_->total();
    ASSERT_TRUE(total.ok()) << total.status().to_string();
    EXPECT_EQ(*total, kExpectedTotal) << "round " << round;
    EXPECT_EQ(ledger_violations(*bank_, harness.outcomes_path()), std::vector<std::string>{}) << "round " << round;
  }
  std::map<char, int> told = count_outcomes(harness.outcomes_path());
  std::cout << "takeover test: " << rounds << " rounds, " << paused_with_work
            << " paused with branches prepared; commit() answered committed " << told['C']
            << ", rolled back " << told['R'] << ", otherwise " << told['U']
            << " times; longest takeover (process start to all resolved) " << longest_takeover.count()
            << " ms" << std::endl;
  EXPECT_GT(told['C'], 0);
  std::filesystem::remove(harness.outcomes_path());
}

// The log database killed (SIGKILL) under load, here a server of its own (the
// max_prepared_transactions = 0 one: the log needs no prepared transaction), the data sources
// up: no acknowledged decision is lost, the TM refuses new transactions while the log is down
// and takes them again once it is back, and recovery finishes what was in doubt.
TEST_F(TakeoverTest, TheLogDatabaseKilledUnderLoadLosesNoAcknowledgedDecision) {
  const std::string node = "logdb-" + std::to_string(getpid());
  const std::string log_dir = log_dir_of(node);
  CrashHarness harness(node, log_dir);
  harness.use_database_log(kLogTable, test_setting("PG_NOPREPARE_CONNINFO"));
  // The transactions whose decision was in flight when the log database died end unknown and
  // keep their branches prepared, holding their rows: the TM's own background pass finishes them
  // once the log is back (here after one second past their deadline), as in production.
  harness.use_background_recovery(std::chrono::milliseconds(200));
  std::filesystem::remove(harness.outcomes_path());
  const pid_t worker = harness.start_worker(300, 4242, "", 2);
  ASSERT_GT(worker, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  ASSERT_TRUE(testing::run_test_servers("kill postgresql-noprep").ok());
  const std::uintmax_t answered_before_restart = std::filesystem::file_size(harness.outcomes_path());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_TRUE(testing::run_test_servers("start").ok());
  int status = 0;
  waitpid(worker, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
  // Commits answered after the restart: the log came back by itself.
  std::ifstream outcomes(harness.outcomes_path());
  outcomes.seekg(static_cast<std::streamoff>(answered_before_restart));
  int committed_after = 0;
  for (std::string id, where, told; outcomes >> id >> where >> told;) committed_after += told == "C" ? 1 : 0;
  EXPECT_GT(committed_after, 0) << "no transaction committed once the log database was back";
  EXPECT_EQ(recover_until_clean(harness, *bank_, node, 4242), 0);
  Result<std::int64_t> total = bank_->total();
  ASSERT_TRUE(total.ok()) << total.status().to_string();
  EXPECT_EQ(*total, kExpectedTotal);
  EXPECT_EQ(ledger_violations(*bank_, harness.outcomes_path()), std::vector<std::string>{});
  std::map<char, int> told = count_outcomes(harness.outcomes_path());
  std::cout << "log database killed: commit() answered committed " << told['C'] << " (" << committed_after
            << " after the restart), rolled back " << told['R'] << ", otherwise " << told['U'] << std::endl;
  std::filesystem::remove(harness.outcomes_path());
}

// DESIGN §7's birth rule with the database log: a TM of a node pointed at a log that knows
// nothing of the node's past (a new table: another database by mistake, a lost one) must never
// presume abort for branches prepared before that log was born; the log that holds their
// decisions finishes them.
TEST_F(TakeoverTest, AFreshDatabaseLogNeverPresumesAbortForOlderBranches) {
  const std::string node = "birth-" + std::to_string(getpid());
  const std::string log_dir = log_dir_of(node);
  std::filesystem::remove_all(log_dir);
  CrashHarness file_log(node, log_dir);
  std::filesystem::remove(file_log.outcomes_path());
  // Branches prepared, their decision not yet written: only the file log can tell their fate.
  ASSERT_TRUE(file_log.worker(10, 77, "decision.before_log:1", std::chrono::milliseconds::zero(), 0).crashed());
  Result<int> prepared = bank_->prepared_of_node(node);
  ASSERT_TRUE(prepared.ok()) << prepared.status().to_string();
  ASSERT_GT(*prepared, 0);
  const std::string fresh_table = "xatm_birth_log_" + std::to_string(getpid());
  CrashHarness fresh(node, log_dir);
  fresh.use_database_log(fresh_table);
  ASSERT_FALSE(fresh.worker(0, 77, "").failed());
  Result<int> still = bank_->prepared_of_node(node);
  ASSERT_TRUE(still.ok()) << still.status().to_string();
  EXPECT_EQ(*still, *prepared) << "a log born after them presumed abort for older branches";
  ASSERT_FALSE(file_log.worker(0, 77, "").failed());  // the node's own log finishes them
  EXPECT_EQ(bank_->prepared_of_node(node).value(), 0);
  EXPECT_EQ(bank_->total().value(), kExpectedTotal);
  EXPECT_EQ(ledger_violations(*bank_, file_log.outcomes_path()), std::vector<std::string>{});
  PGconn* pg = PQconnectdb(test_servers().pg_conninfo.c_str());
  PQclear(PQexec(pg, ("DROP TABLE IF EXISTS " + fresh_table + ", " + fresh_table + "_nodes").c_str()));
  PQfinish(pg);
  std::filesystem::remove_all(log_dir);
  std::filesystem::remove(file_log.outcomes_path());
}

}  // namespace
}  // namespace xatm::crash
