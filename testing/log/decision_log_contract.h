// The decision log's contract (xatm/decision_log.h) as one suite that every backend passes: the
// file log (tests/unit/decision_log_contract_test.cc) and the PostgreSQL log on the test server
// (tests/integration/postgresql/pg_decision_log_test.cc). Each test binary instantiates it with
// its backend:
//
//   INSTANTIATE_TEST_SUITE_P(File, DecisionLogContractTest,
//                            ::testing::Values(LogBackend{"file", [] { return ...; }}),
//                            log_backend_name);
//
// Not part of the library.
#ifndef XATM_TESTING_LOG_DECISION_LOG_CONTRACT_H_
#define XATM_TESTING_LOG_DECISION_LOG_CONTRACT_H_

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "testing/log/log_test_util.h"
#include "xatm/decision_log.h"

namespace xatm::internal::testing {

// One backend's log of one node, opened as a restarted TM would open it.
class LogOpener {
 public:
  virtual ~LogOpener() = default;
  virtual Result<std::unique_ptr<DecisionLog>> open() = 0;
};

struct LogBackend {
  std::string name;
  std::function<std::unique_ptr<LogOpener>()> make;  // a node (and a place) of its own per test
};

inline std::string log_backend_name(const ::testing::TestParamInfo<LogBackend>& info) {
  return info.param.name;
}

class DecisionLogContractTest : public ::testing::TestWithParam<LogBackend> {
 protected:
  void SetUp() override { backend_ = GetParam().make(); }

  std::unique_ptr<DecisionLog> open_ok() {
    Result<std::unique_ptr<DecisionLog>> log = backend_->open();
    EXPECT_TRUE(log.ok()) << log.status().to_string();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  std::unique_ptr<LogOpener> backend_;
};

TEST_P(DecisionLogContractTest, ReopeningKeepsOpenDecisionsAndHeuristics) {
  {
    auto log = open_ok();
    ASSERT_NE(log, nullptr);
    EXPECT_TRUE(log->open_decisions().empty());
    ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
    ASSERT_TRUE(log->log_commit(test_commit(2, 3)).ok());
    ASSERT_TRUE(log->log_heuristic(test_heuristic(2, XA_HEURCOM)).ok());
    ASSERT_TRUE(log->log_commit(test_commit(3, 1)).ok());
    ASSERT_TRUE(log->log_heuristic(test_heuristic(3, XA_HEURHAZ)).ok());
    ASSERT_TRUE(log->log_heuristic(test_heuristic(4)).ok());  // no COMMIT: a rolled back one
    ASSERT_TRUE(log->log_done(test_global(1)).ok());
    ASSERT_TRUE(log->log_done(test_global(3)).ok());  // also ends transaction 3's heuristic
    EXPECT_TRUE(log->health().ok());
  }
  auto log = open_ok();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->open_decisions(), std::vector<CommitRecord>{test_commit(2, 3)});
  EXPECT_EQ(log->open_heuristics(),
            (std::vector<HeuristicRecord>{test_heuristic(2, XA_HEURCOM), test_heuristic(4)}));
  ASSERT_TRUE(log->log_done(test_global(2)).ok());
  ASSERT_TRUE(log->log_forget(test_heuristic(4).branch).ok());
  ASSERT_TRUE(log->log_commit(test_commit(5, 0)).ok());  // a decision without branches
  log.reset();
  log = open_ok();
  EXPECT_EQ(log->open_decisions(), std::vector<CommitRecord>{test_commit(5, 0)});
  EXPECT_TRUE(log->open_heuristics().empty());
}

TEST_P(DecisionLogContractTest, OpenDecisionsAreInLogOrder) {
  auto log = open_ok();
  for (int n : {5, 1, 4, 2, 3}) ASSERT_TRUE(log->log_commit(test_commit(n)).ok());
  ASSERT_TRUE(log->log_done(test_global(4)).ok());
  const std::vector<CommitRecord> expected{test_commit(5), test_commit(1), test_commit(2), test_commit(3)};
  EXPECT_EQ(log->open_decisions(), expected);
  log.reset();
  EXPECT_EQ(open_ok()->open_decisions(), expected);
}

TEST_P(DecisionLogContractTest, RepeatedCommitIsIdempotentAndAConflictingOneRefused) {
  auto log = open_ok();
  ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
  EXPECT_TRUE(log->log_commit(test_commit(1)).ok());
  EXPECT_EQ(log->log_commit(test_commit(1, 5)).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(log->open_decisions(), std::vector<CommitRecord>{test_commit(1)});
  EXPECT_TRUE(log->health().ok());  // a refused record does not break the log
  CommitRecord bad = test_commit(2);
  bad.global = bad.global.branch(7);
  EXPECT_EQ(log->log_commit(bad).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(log->health().ok());
}

TEST_P(DecisionLogContractTest, ASecondOpenerIsRefusedWhileTheFirstIsOpen) {
  auto first = open_ok();
  ASSERT_NE(first, nullptr);
  Result<std::unique_ptr<DecisionLog>> second = backend_->open();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition) << second.status().to_string();
  EXPECT_TRUE(first->log_commit(test_commit(1)).ok());  // the refusal changed nothing
  first.reset();
  auto third = open_ok();
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(third->open_decisions(), std::vector<CommitRecord>{test_commit(1)});
}

TEST_P(DecisionLogContractTest, BirthAndSequenceLimitSurviveReopening) {
  auto log = open_ok();
  ASSERT_NE(log, nullptr);
  const auto born = log->birth();
  EXPECT_LE(born, std::chrono::system_clock::now());
  EXPECT_GT(born, std::chrono::system_clock::now() - std::chrono::minutes(5));
  ASSERT_TRUE(log->reserve_sequences(log->sequence_limit() + 1000).ok());
  const std::uint64_t limit = log->sequence_limit();
  EXPECT_TRUE(log->reserve_sequences(limit - 1).ok());  // never lowers it
  EXPECT_EQ(log->sequence_limit(), limit);
  log.reset();
  log = open_ok();
  EXPECT_EQ(log->birth(), born);
  EXPECT_EQ(log->sequence_limit(), limit);
}

TEST_P(DecisionLogContractTest, ConcurrentAppendsFromManyThreadsAllLand) {
  auto log = open_ok();
  ASSERT_NE(log, nullptr);
  constexpr int kThreads = 8;
  const int per_thread = scaled_rounds(40);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t, per_thread] {
      for (int i = 0; i < per_thread; ++i) {
        const int n = t * 1000 + i;
        EXPECT_TRUE(log->log_commit(test_commit(n)).ok());
        if (i % 2 == 0) {
          EXPECT_TRUE(log->log_done(test_global(n)).ok());
        }
        if (i % 5 == 0) {  // after the DONE for even i: such a heuristic stays open
          EXPECT_TRUE(log->log_heuristic(test_heuristic(n)).ok());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::vector<CommitRecord> decisions = log->open_decisions();
  const std::vector<HeuristicRecord> heuristics = log->open_heuristics();
  std::set<Xid> open;
  for (const CommitRecord& record : decisions) open.insert(record.global);
  std::set<Xid> expected;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 1; i < per_thread; i += 2) expected.insert(test_global(t * 1000 + i));
  }
  EXPECT_EQ(open, expected);
  EXPECT_EQ(heuristics.size(), static_cast<std::size_t>(kThreads * ((per_thread + 4) / 5)));
  log.reset();
  log = open_ok();
  EXPECT_EQ(log->open_decisions(), decisions);  // the same, in the same order
  EXPECT_EQ(log->open_heuristics(), heuristics);
}

}  // namespace xatm::internal::testing

#endif  // XATM_TESTING_LOG_DECISION_LOG_CONTRACT_H_
