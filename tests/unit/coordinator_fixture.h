// A TransactionManager over fake resource managers "a" and "b" (and "c") and a RecordingLog.
// Phases run sequentially (phase_threads = 0) unless a test asks otherwise, so the XA call
// sequences are deterministic: branch 0 is the first data source enlisted.
#ifndef XATM_TESTS_UNIT_COORDINATOR_FIXTURE_H_
#define XATM_TESTS_UNIT_COORDINATOR_FIXTURE_H_

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "recording_log.h"
#include "xatm/fake/fake_resource.h"
#include "xatm/transaction_manager.h"

namespace xatm::testing {

using fake::FakeResource;
using fake::Step;
using fake::Verb;
using Verbs = std::vector<std::string>;

class CoordinatorTest : public ::testing::Test {
 protected:
  static Options test_options(std::size_t phase_threads = 0) {
    Options options;
    options.node_name = "test-node";
    options.phase_threads = phase_threads;
    options.phase2_retry_window = std::chrono::milliseconds(200);
    options.phase2_retry_backoff = std::chrono::milliseconds(1);
    options.phase2_retry_backoff_max = std::chrono::milliseconds(20);
    options.recovery_interval = std::chrono::milliseconds::zero();  // passes only when asked
    return options;
  }

  void start_tm(Options options = test_options()) {
    auto log = std::make_unique<RecordingLog>();
    log_ = log.get();
    tm_ = std::make_unique<TransactionManager>(std::move(options), std::move(log));
    for (const auto& rm : {a_, b_, c_}) ASSERT_TRUE(tm_->add(rm->make_handle()).ok());
    ASSERT_TRUE(tm_->start().ok());
    for (const auto& rm : {a_, b_, c_}) rm->clear_calls();  // start()'s recovery pass
  }

  void SetUp() override { start_tm(); }

  // Begins a transaction and enlists the named data sources in order.
  Transaction begin_on(std::initializer_list<const char*> sources,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    Result<Transaction> tx = tm_->begin(timeout);
    if (!tx.ok()) throw std::runtime_error("begin() failed: " + tx.status().to_string());
    for (const char* source : sources) {
      Result<XaConnection*> session = tx->enlist(source);
      EXPECT_TRUE(session.ok()) << session.status().to_string();
    }
    return std::move(*tx);
  }

  std::shared_ptr<FakeResource> a_ = std::make_shared<FakeResource>("a");
  std::shared_ptr<FakeResource> b_ = std::make_shared<FakeResource>("b");
  std::shared_ptr<FakeResource> c_ = std::make_shared<FakeResource>("c");
  RecordingLog* log_ = nullptr;  // owned by tm_
  std::unique_ptr<TransactionManager> tm_;
};

// Test names for suites that run with b blocking (false) and with b splitting verbs (true).
inline std::string split_b_name(const ::testing::TestParamInfo<bool>& info) {
  return info.param ? "SplitB" : "Blocking";
}

inline const Verbs kTwoPhaseCommit = {"start", "end", "prepare", "commit"};
inline const Verbs kPreparedThenRolledBack = {"start", "end", "prepare", "rollback"};

}  // namespace xatm::testing

#endif  // XATM_TESTS_UNIT_COORDINATOR_FIXTURE_H_
