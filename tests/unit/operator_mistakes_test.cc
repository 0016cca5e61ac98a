// What an operator's mistake must never do: turn committed work into rollbacks. A wrong, empty
// or new log directory, a deleted LOCK file, a negative grace, a clock stepped backwards, an
// XID that does not decode: each ends in a clear refusal or an operator's decision, never in a
// guessed outcome (docs/recovery.md, "Rules that protect against the operator's mistakes").
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "tm/manager.h"
#include "recording_log.h"
#include "tm/transaction_state.h"
#include "xatm/decision_log.h"
#include "xatm/fake/fake_resource.h"
#include "xatm/recovery.h"
#include "xatm/transaction_manager.h"

namespace xatm::testing {
namespace {

using fake::FakeResource;
using fake::Step;
using fake::Verb;
using std::chrono::milliseconds;
using std::chrono::system_clock;

class OperatorMistakesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "xatm-mistakes-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Options options(const std::string& log_dir) const {
    Options options{.node_name = "node-1", .log_dir = log_dir};
    options.recovery_interval = milliseconds::zero();
    return options;
  }

  // An XID of node-1 created `age` ago; its branch `index`.
  static Xid xid_created(milliseconds age, std::uint64_t sequence, std::uint16_t index = 0) {
    auto created = std::chrono::time_point_cast<milliseconds>(system_clock::now()) - age;
    return make_global_xid({"node-1", created, std::chrono::seconds(60), sequence})->branch(index);
  }

  Status start(TransactionManager& tm) {
    EXPECT_TRUE(tm.add(a_->make_handle()).ok());
    EXPECT_TRUE(tm.add(b_->make_handle()).ok());
    return tm.start();
  }

  std::string dir_;
  std::shared_ptr<FakeResource> a_ = std::make_shared<FakeResource>("a");
  std::shared_ptr<FakeResource> b_ = std::make_shared<FakeResource>("b");
};

// --- A missing, wrong or empty log directory ----------------------------------------------

TEST_F(OperatorMistakesTest, StartOnAnEmptyLogDirectoryWithPreparedBranchesIsRefused) {
  const Xid prepared = xid_created(std::chrono::minutes(10), 7);
  a_->prepare_detached(prepared);
  const std::string mistyped = dir_ + "/not-mounted-yet";
  TransactionManager tm(options(mistyped));
  Status started = start(tm);
  EXPECT_EQ(started.code(), StatusCode::kFailedPrecondition) << started.to_string();
  EXPECT_NE(started.message().find(mistyped), std::string::npos) << started.message();
  EXPECT_NE(started.message().find(prepared.to_string()), std::string::npos) << started.message();
  EXPECT_FALSE(std::filesystem::exists(mistyped)) << "nothing is created";
  EXPECT_EQ(a_->prepared().size(), 1u);
  EXPECT_TRUE(a_->rolled_back().empty());
}

TEST_F(OperatorMistakesTest, NewLogCreatedAnywayNeverPresumesAbortForOlderBranches) {
  const Xid prepared = xid_created(std::chrono::minutes(10), 7);
  a_->prepare_detached(prepared);
  Options opts = options(dir_ + "/new");
  opts.create_log_if_missing = true;  // the operator insists: the log is lost
  TransactionManager tm(opts);
  ASSERT_TRUE(start(tm).ok());
  EXPECT_EQ(a_->prepared().size(), 1u) << "the branch was presumed aborted by a log born after it";
  Result<RecoveryReport> report = tm.recover();
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->branches.size(), 1u);
  EXPECT_TRUE(report->branches[0].needs_operator);
  EXPECT_NE(report->branches[0].reason.find("before this decision log was born"), std::string::npos)
      << report->branches[0].reason;
  EXPECT_TRUE(report->needs_attention());
}

TEST_F(OperatorMistakesTest, FirstStartCreatesTheLogWhenNoBranchOfTheNodeIsPrepared) {
  a_->prepare_detached(*Xid::make(1, std::vector<std::uint8_t>{1, 2}, {}));  // not xatm's
  TransactionManager tm(options(dir_ + "/log"));
  ASSERT_TRUE(start(tm).ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/log/000000000001.xlog"));
}

TEST_F(OperatorMistakesTest, StartWithoutALogAndAnUnreachableDataSourceIsRefused) {
  b_->script_always(Verb::kConnect, {.code = XAER_RMFAIL});
  TransactionManager tm(options(dir_ + "/log"));
  Status started = start(tm);
  EXPECT_EQ(started.code(), StatusCode::kUnavailable) << started.to_string();
  EXPECT_NE(started.message().find("'b'"), std::string::npos) << started.message();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/log"));
}

TEST_F(OperatorMistakesTest, OpeningAMissingLogCreatesNothing) {
  Result<std::unique_ptr<DecisionLog>> log =
      open_file_log({.dir = dir_ + "/typo", .node_name = "node-1"});
  EXPECT_EQ(log.status().code(), StatusCode::kNotFound) << log.status().to_string();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/typo"));
  std::filesystem::create_directory(dir_ + "/empty");
  log = open_file_log({.dir = dir_ + "/empty", .node_name = "node-1"});
  EXPECT_EQ(log.status().code(), StatusCode::kNotFound) << log.status().to_string();
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/empty"));
}

TEST_F(OperatorMistakesTest, RecoveryNeverPresumesAbortForAnXidOlderThanTheLog) {
  RecordingLog log;
  log.set_birth(system_clock::now() - std::chrono::minutes(1));
  const Xid older = xid_created(std::chrono::minutes(10), 7);
  const Xid newer = xid_created(std::chrono::seconds(10), 8);
  a_->prepare_detached(older);
  a_->prepare_detached(newer);
  auto handle = a_->make_handle();
  Recoverer recoverer(log, {handle.get()},
                      {.node_name = "node-1", .owner_down_below_sequence = UINT64_MAX});
  RecoveryReport report = recoverer.run();
  EXPECT_EQ(a_->prepared(), std::vector<Xid>{older});
  EXPECT_EQ(a_->rolled_back().count(newer), 1u);
  EXPECT_TRUE(report.needs_attention());
}

// --- The log lock -------------------------------------------------------------------------

TEST_F(OperatorMistakesTest, DeletingFilesInTheLogDirectoryDoesNotBreakTheLock) {
  const FileLogOptions opts{.dir = dir_ + "/log", .create_if_missing = true, .node_name = "node-1"};
  Result<std::unique_ptr<DecisionLog>> first = open_file_log(opts);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  // What an operator "cleaning up" would delete: any LOCK file there is.
  std::filesystem::remove(dir_ + "/log/LOCK");
  Result<std::unique_ptr<DecisionLog>> second = open_file_log(opts);
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition) << second.status().to_string();
  TransactionManager tm(options(dir_ + "/log"));
  EXPECT_EQ(start(tm).code(), StatusCode::kFailedPrecondition);
}

// --- Durations ----------------------------------------------------------------------------

TEST_F(OperatorMistakesTest, NegativeOrAbsurdDurationsAreRefusedByName) {
  struct Case {
    const char* field;
    void (*set)(Options&);
  };
  const Case cases[] = {
      {"recovery_grace", [](Options& o) { o.recovery_grace = milliseconds(-1000); }},
      {"recovery_grace", [](Options& o) { o.recovery_grace = milliseconds::max(); }},
      {"recovery_interval", [](Options& o) { o.recovery_interval = milliseconds(-1); }},
      {"phase2_retry_window", [](Options& o) { o.phase2_retry_window = milliseconds(-5); }},
      {"phase2_retry_backoff", [](Options& o) { o.phase2_retry_backoff = milliseconds(0); }},
      {"log_segment_bytes", [](Options& o) { o.log_segment_bytes = 100; }},
  };
  for (const Case& c : cases) {
    Options opts = options(dir_ + "/log");
    c.set(opts);
    TransactionManager tm(opts, std::make_unique<RecordingLog>());
    Status started = tm.start();
    EXPECT_EQ(started.code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(started.message().find(c.field), std::string::npos) << started.message();
  }
}

// A negative grace once let recovery roll back a transaction still in flight.
TEST_F(OperatorMistakesTest, NegativeGraceRollsNothingBack) {
  RecordingLog log;
  const Xid in_flight = xid_created(milliseconds(0), 7);
  a_->prepare_detached(in_flight);
  auto handle = a_->make_handle();
  Recoverer recoverer(log, {handle.get()}, {.node_name = "node-1", .grace = -std::chrono::hours(1)});
  RecoveryReport report = recoverer.run();
  EXPECT_EQ(a_->prepared().size(), 1u);
  EXPECT_TRUE(a_->rolled_back().empty());
  ASSERT_FALSE(report.problems.empty());
  EXPECT_NE(report.problems[0].find("grace"), std::string::npos) << report.problems[0];
}

// --- XIDs and the wall clock --------------------------------------------------------------

// Two incarnations of one node, the second with its clock an hour behind the first's: the
// XIDs stay unique, and the second still knows the first is down (by sequence, not by time).
TEST_F(OperatorMistakesTest, XidsStayUniqueAndOldOnesDeadWhenTheClockStepsBack) {
  const auto real_now = system_clock::now();
  std::set<Xid> seen;
  std::uint64_t first_max = 0;
  Xid left_prepared = xid_created(milliseconds(0), 1);
  {
    internal::Manager first(options(dir_ + "/log"), nullptr,
                                [real_now] { return real_now + std::chrono::hours(1); });
    ASSERT_TRUE(first.add(a_->make_handle()).ok());
    ASSERT_TRUE(first.start().ok());
    for (int i = 0; i < 100; ++i) {
      Result<std::shared_ptr<internal::TransactionState>> tx = first.begin(std::nullopt);
      ASSERT_TRUE(tx.ok()) << tx.status().to_string();
      EXPECT_TRUE(seen.insert((*tx)->global).second);
      first_max = std::max(first_max, decode_gtrid((*tx)->global)->sequence);
      left_prepared = (*tx)->global.branch(0);
    }
  }
  a_->prepare_detached(left_prepared);  // what a crash of the first incarnation left
  internal::Manager second(options(dir_ + "/log"), nullptr, [real_now] { return real_now; });
  ASSERT_TRUE(second.add(a_->make_handle()).ok());
  ASSERT_TRUE(second.start().ok());
  EXPECT_EQ(a_->rolled_back().count(left_prepared), 1u)
      << "an XID of a dead incarnation created 'in the future' was left in doubt";
  for (int i = 0; i < 100; ++i) {
    Result<std::shared_ptr<internal::TransactionState>> tx = second.begin(std::nullopt);
    ASSERT_TRUE(tx.ok()) << tx.status().to_string();
    EXPECT_TRUE(seen.insert((*tx)->global).second) << "XID reused: " << (*tx)->global.to_string();
    EXPECT_GT(decode_gtrid((*tx)->global)->sequence, first_max);
  }
}

// --- An XID of xatm's formatID that does not decode ---------------------------------------

TEST_F(OperatorMistakesTest, UndecodableXidOfOurFormatNeedsAnOperatorAndKeepsDecisionsOpen) {
  RecordingLog log;
  // A decision whose branch on `a` is gone, and on `a` an XID of xatm's formatID in a form this
  // version cannot read (e.g. the hex text an adopted switch wrote): it may be that branch.
  const Xid decided = xid_created(std::chrono::seconds(10), 7);
  ASSERT_TRUE(log.log_commit({decided.global(), {{"a", decided}}}).ok());
  const std::string hex_text = to_hex(decided.gtrid()).substr(0, Xid::kMaxGtridSize);
  const Xid unreadable = *Xid::make(
      kXatmFormatId, std::span(reinterpret_cast<const std::uint8_t*>(hex_text.data()), hex_text.size()),
      std::vector<std::uint8_t>{0, 0});
  a_->prepare_detached(unreadable);
  auto handle = a_->make_handle();
  Recoverer recoverer(log, {handle.get()}, {.node_name = "node-1"});
  RecoveryReport report = recoverer.run();
  ASSERT_EQ(report.branches.size(), 1u);
  EXPECT_TRUE(report.branches[0].needs_operator);
  EXPECT_EQ(report.branches[0].action, InDoubtBranch::Action::kLeave);
  EXPECT_EQ(report.decisions_done, 0u);
  EXPECT_EQ(log.open_decisions().size(), 1u) << "the decision was closed while its branch may be prepared";
  EXPECT_EQ(a_->prepared().size(), 1u);
  EXPECT_TRUE(report.needs_attention());
}

// --- Names and sizes ----------------------------------------------------------------------

TEST_F(OperatorMistakesTest, DataSourceNamesAreValidatedAtAdd) {
  TransactionManager tm(options(dir_ + "/log"), std::make_unique<RecordingLog>());
  auto huge = std::make_shared<FakeResource>(std::string(70'000, 'x'));
  Status added = tm.add(huge->make_handle());
  EXPECT_EQ(added.code(), StatusCode::kInvalidArgument);
  EXPECT_LT(added.message().size(), 1000u) << "the message must not carry the whole name";
  auto spaced = std::make_shared<FakeResource>("billing db");
  EXPECT_EQ(tm.add(spaced->make_handle()).code(), StatusCode::kInvalidArgument);
  auto ok = std::make_shared<FakeResource>("billing_db-2.eu");
  EXPECT_TRUE(tm.add(ok->make_handle()).ok());
}

TEST_F(OperatorMistakesTest, LogSegmentSizeIsConfigurable) {
  Options opts = options(dir_ + "/log");
  opts.log_segment_bytes = 64 << 10;
  TransactionManager tm(opts);
  ASSERT_TRUE(start(tm).ok());
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/log/000000000001.xlog"), 64u << 10);
}

}  // namespace
}  // namespace xatm::testing
