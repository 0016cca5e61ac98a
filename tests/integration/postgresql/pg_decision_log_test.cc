// The PostgreSQL decision log on the test server: the contract suite every backend passes
// (testing/log/decision_log_contract.h, which the file log passes in tests/unit), then what only
// this backend promises (xatm/postgresql/decision_log.h): group commit in one statement,
// ownership by epoch, takeover, the fence on a zombie owner, and coming back after a failure.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pg_decision_log.h"
#include "pg_test_util.h"
#include "testing/log/decision_log_contract.h"
#include "testing/log/log_test_util.h"
#include "xatm/decision_log.h"
#include "xatm/postgresql/decision_log.h"

namespace xatm::postgresql::testing {
namespace {

using xatm::internal::testing::DecisionLogContractTest;
using xatm::internal::testing::LogBackend;
using xatm::internal::testing::test_commit;
using xatm::internal::testing::test_global;
using xatm::internal::testing::test_heuristic;

constexpr const char* kTable = "xatm_log_contract";

// A node name of its own for each test, so that tests never share a log.
std::string fresh_node() {
  static std::atomic<int> counter{0};
  return "contract-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

LogOptions pg_log_options(const std::string& node) {
  LogOptions options;
  options.database.name = "decision-log";
  options.database.conninfo = conninfo();
  options.table = kTable;
  options.node = node;
  return options;
}

class PgLogOpener final : public xatm::internal::testing::LogOpener {
 public:
  Result<std::unique_ptr<DecisionLog>> open() override { return make_decision_log(pg_log_options(node_)); }

 private:
  std::string node_ = fresh_node();
};

INSTANTIATE_TEST_SUITE_P(Postgresql, DecisionLogContractTest,
                         ::testing::Values(LogBackend{"postgresql", [] { return std::make_unique<PgLogOpener>(); }}),
                         xatm::internal::testing::log_backend_name);

// Asks the log's health until it is OK (it heals at most once a second), for up to 30 s.
Status wait_until_healthy(DecisionLog& log) {
  Status health = log.health();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!health.ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    health = log.health();
  }
  return health;
}

// What only the PostgreSQL backend promises.
class PgDecisionLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<DecisionLog> open_ok(const LogOptions& options) {
    Result<std::unique_ptr<DecisionLog>> log = make_decision_log(options);
    EXPECT_TRUE(log.ok()) << log.status().to_string();
    return log.ok() ? std::move(log).value() : nullptr;
  }
  std::int64_t rows_of(const std::string& global_text) {
    return admin_.integer(std::string("SELECT count(*) FROM ") + kTable + " WHERE node = '" + node_ +
                          "' AND global = '" + global_text + "'");
  }

  std::string node_ = fresh_node();
  LogOptions options_ = pg_log_options(node_);
  PlainConnection admin_{superuser_conninfo()};
};

TEST_F(PgDecisionLogTest, ConcurrentCommitsShareStatements) {
  Result<std::unique_ptr<internal::PgDecisionLog>> log = internal::PgDecisionLog::open(options_);
  ASSERT_TRUE(log.ok()) << log.status().to_string();
  constexpr int kThreads = 32;
  constexpr int per_thread = 16;  // not scaled down in sanitizer builds: batching needs overlap
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < per_thread; ++i) {
        EXPECT_TRUE((*log)->log_commit(test_commit(t * 1000 + i)).ok());
        EXPECT_TRUE((*log)->log_done(test_global(t * 1000 + i)).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const internal::PgDecisionLog::Stats stats = (*log)->stats();
  EXPECT_EQ(stats.commit_records, static_cast<std::uint64_t>(kThreads * per_thread));
  // One statement per record would be no group commit at all.
  EXPECT_LT(stats.statements * 2, stats.commit_records)
      << stats.statements << " statements for " << stats.commit_records << " records";
  EXPECT_TRUE((*log)->open_decisions().empty());
}

TEST_F(PgDecisionLogTest, ASecondLiveOwnerIsRefusedNamingTheSession) {
  auto first = open_ok(options_);
  ASSERT_NE(first, nullptr);
  Result<std::unique_ptr<DecisionLog>> second = make_decision_log(options_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("another live TM holds the node (session pid "),
            std::string::npos)
      << second.status().to_string();
  EXPECT_TRUE(first->log_commit(test_commit(1)).ok());
}

TEST_F(PgDecisionLogTest, ATakeOverEndsTheOwnersSessionAndTheOwnerCanWriteNothingMore) {
  auto owner = open_ok(options_);
  ASSERT_NE(owner, nullptr);
  ASSERT_TRUE(owner->log_commit(test_commit(1)).ok());
  LogOptions take_over = options_;
  take_over.take_over = true;
  auto successor = open_ok(take_over);
  ASSERT_NE(successor, nullptr);
  EXPECT_EQ(successor->open_decisions(), std::vector<CommitRecord>{test_commit(1)});
  // The old owner's next decision fails, and stays failed: its session was ended, and when it
  // tries to come back it finds the new epoch.
  EXPECT_FALSE(owner->log_commit(test_commit(2)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const Status health = owner->health();
  EXPECT_EQ(health.code(), StatusCode::kAborted) << health.to_string();
  EXPECT_NE(health.message().find("taken over"), std::string::npos) << health.to_string();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_FALSE(owner->health().ok());
  EXPECT_EQ(owner->log_commit(test_commit(3)).code(), StatusCode::kAborted);
  EXPECT_EQ(rows_of(test_global(2).to_string()), 0);
  EXPECT_EQ(rows_of(test_global(3).to_string()), 0);
  EXPECT_TRUE(successor->log_commit(test_commit(4)).ok());
}

// The fence itself, without the help of the ended session: the node's epoch moves on under a
// live owner (as when a takeover could not end its session, a machine cut off from the
// database's view), and the owner's next decision is refused by the database.
TEST_F(PgDecisionLogTest, AWriteUnderAnOldEpochIsRefused) {
  auto owner = open_ok(options_);
  ASSERT_NE(owner, nullptr);
  ASSERT_TRUE(owner->log_commit(test_commit(1)).ok());
  ASSERT_TRUE(admin_.exec(std::string("UPDATE ") + kTable + "_nodes SET epoch = epoch + 1 WHERE node = '" +
                          node_ + "'").ok());
  // kAborted: certainly not written, so the TM rolls the transaction back (decision_log.h).
  const Status refused = owner->log_commit(test_commit(2));
  EXPECT_EQ(refused.code(), StatusCode::kAborted) << refused.to_string();
  EXPECT_NE(refused.message().find("taken over"), std::string::npos) << refused.to_string();
  EXPECT_EQ(rows_of(test_global(2).to_string()), 0);
  EXPECT_FALSE(owner->log_done(test_global(1)).ok());
  EXPECT_FALSE(owner->reserve_sequences(owner->sequence_limit() + 10).ok());
  EXPECT_EQ(rows_of(test_global(1).to_string()), 1);  // the decision stays for the new owner
}

TEST_F(PgDecisionLogTest, ALogWhoseDatabaseRestartedComesBackWithItsRecords) {
  auto log = open_ok(options_);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
  ASSERT_TRUE(xatm::testing::run_test_servers("restart postgresql").ok());
  const Status failed = log->log_commit(test_commit(2));
  EXPECT_FALSE(failed.ok());  // the session did not survive the restart
  const Status health = wait_until_healthy(*log);
  ASSERT_TRUE(health.ok()) << health.to_string();
  EXPECT_EQ(log->open_decisions(), std::vector<CommitRecord>{test_commit(1)});
  EXPECT_TRUE(log->log_commit(test_commit(3)).ok());
  log.reset();
  EXPECT_EQ(open_ok(options_)->open_decisions(),
            (std::vector<CommitRecord>{test_commit(1), test_commit(3)}));
}

// A statement the database refuses while the session stays open (here a constraint added by an
// administrator) fails the log; once the cause is gone the log heals on a new session (the old
// one held the node's sign of life), and what log_done closed before the failure stays closed.
TEST_F(PgDecisionLogTest, ALogWhoseStatementFailedHealsAndKeepsItsDoneRecordsClosed) {
  auto log = open_ok(options_);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
  ASSERT_TRUE(log->log_commit(test_commit(2)).ok());
  ASSERT_TRUE(log->log_done(test_global(1)).ok());  // deferred: its row is still there
  const std::string constraint = std::string("ALTER TABLE ") + kTable + " ADD CONSTRAINT xatm_test_refuse CHECK (node <> '" +
                                 node_ + "') NOT VALID";
  ASSERT_TRUE(admin_.exec(constraint).ok());
  const Status failed = log->log_commit(test_commit(3));
  ASSERT_TRUE(admin_.exec(std::string("ALTER TABLE ") + kTable + " DROP CONSTRAINT xatm_test_refuse").ok());
  EXPECT_EQ(failed.code(), StatusCode::kIOError) << failed.to_string();
  const Status health = wait_until_healthy(*log);
  ASSERT_TRUE(health.ok()) << health.to_string();
  EXPECT_EQ(log->open_decisions(), std::vector<CommitRecord>{test_commit(2)});
  EXPECT_TRUE(log->log_commit(test_commit(4)).ok());  // carries transaction 1's deletion
  log.reset();
  EXPECT_EQ(open_ok(options_)->open_decisions(), (std::vector<CommitRecord>{test_commit(2), test_commit(4)}));
  EXPECT_EQ(rows_of(test_global(1).to_string()), 0);
}

// Appenders queued behind a batch when the log fails: each gets an answer (none sleeps for
// ever: a batch wakes its own appenders and the next leader only), and what was acknowledged is
// exactly what the log holds.
TEST_F(PgDecisionLogTest, AppendersQueuedWhenTheLogFailsAllGetAnAnswer) {
  auto log = open_ok(options_);
  ASSERT_NE(log, nullptr);
  constexpr int kThreads = 16;
  std::atomic<int> acknowledged_count{0};
  std::atomic<bool> stop{false};  // only if the constraint cannot be added
  std::vector<std::vector<int>> acknowledged(kThreads);
  std::vector<Status> last(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100000 && !stop; ++i) {
        const Status status = log->log_commit(test_commit(t * 100000 + i));
        if (!status.ok()) {
          last[t] = status;
          return;
        }
        acknowledged[t].push_back(t * 100000 + i);
        ++acknowledged_count;
      }
    });
  }
  while (acknowledged_count < 200) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::string constraint = std::string("ALTER TABLE ") + kTable + " ADD CONSTRAINT xatm_test_refuse_load CHECK (node <> '" +
                                 node_ + "') NOT VALID";
  const bool refused = admin_.exec(constraint).ok();
  EXPECT_TRUE(refused);
  stop = !refused;
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(admin_.exec(std::string("ALTER TABLE ") + kTable + " DROP CONSTRAINT IF EXISTS xatm_test_refuse_load").ok());
  ASSERT_TRUE(refused);
  std::set<std::string> expected;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_FALSE(last[t].ok()) << "appender " << t;
    for (int n : acknowledged[t]) expected.insert(test_global(n).to_string());
  }
  log.reset();
  std::set<std::string> held;
  for (const CommitRecord& record : open_ok(options_)->open_decisions()) held.insert(record.global.to_string());
  EXPECT_EQ(held.size(), expected.size());
  EXPECT_TRUE(held == expected);
}

// A decision whose transaction's deadline passed while it waited to be sent is not written
// (recovery beside the TM may presume abort from then on) and its appender is told so.
TEST_F(PgDecisionLogTest, ADecisionPastItsDeadlineIsNotWritten) {
  auto log = open_ok(options_);
  ASSERT_NE(log, nullptr);
  const auto created = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()) -
                       std::chrono::seconds(10);
  const Xid late = *make_global_xid({node_, created, std::chrono::seconds(1), 1});
  const Status refused = log->log_commit({late, {{"ds-0", late.branch(0)}, {"ds-1", late.branch(1)}}});
  EXPECT_EQ(refused.code(), StatusCode::kAborted) << refused.to_string();
  EXPECT_NE(refused.message().find("deadline"), std::string::npos) << refused.to_string();
  EXPECT_TRUE(log->health().ok());
  EXPECT_TRUE(log->open_decisions().empty());
  EXPECT_EQ(rows_of(late.to_string()), 0);
  const Xid timely = *make_global_xid({node_, created, std::chrono::minutes(10), 2});
  EXPECT_TRUE(log->log_commit({timely, {{"ds-0", timely.branch(0)}, {"ds-1", timely.branch(1)}}}).ok());
}

// The log database comes back without a decision it had acknowledged (a failover to a replica
// that was behind, simulated by deleting the row): the log does not heal over the loss.
TEST_F(PgDecisionLogTest, ALogWhoseDatabaseLostAnAcknowledgedDecisionStaysFailed) {
  auto log = open_ok(options_);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
  ASSERT_TRUE(admin_.exec(std::string("DELETE FROM ") + kTable + " WHERE node = '" + node_ + "'").ok());
  ASSERT_TRUE(admin_.exec("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND "
                          "objid = hashtext('" + node_ + "')::oid").ok());
  EXPECT_FALSE(log->log_commit(test_commit(2)).ok());  // its session was ended
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const Status health = log->health();
  EXPECT_EQ(health.code(), StatusCode::kDataLoss) << health.to_string();
  EXPECT_NE(health.message().find(test_global(1).to_string()), std::string::npos) << health.to_string();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(log->health().code(), StatusCode::kDataLoss);
  EXPECT_EQ(log->open_decisions(), std::vector<CommitRecord>{test_commit(1)}) << "what it knows is kept";
}

TEST_F(PgDecisionLogTest, BadSettingsAreRefusedNamingWhatIsWrong) {
  LogOptions bad_table = options_;
  bad_table.table = "no-such table";
  Result<std::unique_ptr<DecisionLog>> log = make_decision_log(bad_table);
  EXPECT_EQ(log.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(log.status().message().find("no-such table"), std::string::npos) << log.status().to_string();
  LogOptions bad_node = options_;
  bad_node.node = "";
  EXPECT_EQ(make_decision_log(bad_node).status().code(), StatusCode::kInvalidArgument);
  LogOptions unreachable = options_;
  unreachable.database.conninfo = "host=/nonexistent-xatm-socket-dir connect_timeout=2";
  log = make_decision_log(unreachable);
  EXPECT_EQ(log.status().code(), StatusCode::kUnavailable) << log.status().to_string();
}

}  // namespace
}  // namespace xatm::postgresql::testing
