// The recovery engine against fake resource managers and a recording log.
#include "xatm/recovery.h"

#include <gtest/gtest.h>

#include <memory>

#include "recording_log.h"
#include "xatm/fake/fake_resource.h"

namespace xatm::testing {
namespace {

using fake::FakeResource;
using fake::Step;
using fake::Verb;
using std::chrono::milliseconds;
using std::chrono::system_clock;

// Every sequence number the tests' XIDs carry belongs to a dead incarnation.
constexpr std::uint64_t kAllDown = std::uint64_t{1} << 40;

class RecoveryTest : public ::testing::Test {
 protected:
  // An XID of `node` created `age` ago with `timeout`, branch `index`.
  static Xid xid_of(const std::string& node, milliseconds age, milliseconds timeout,
                    std::uint16_t index = 0) {
    static std::uint64_t sequence = 0;
    auto created = std::chrono::time_point_cast<milliseconds>(system_clock::now()) - age;
    return make_global_xid({node, created, timeout, ++sequence})->branch(index);
  }
  // A fresh transaction of this node, well within its deadline.
  static Xid young(std::uint16_t index = 0) {
    return xid_of("node-1", milliseconds(0), std::chrono::minutes(10), index);
  }

  Recoverer recoverer(RecoveryOptions options = {}) {
    if (options.node_name.empty()) options.node_name = "node-1";
    handles_.clear();
    handles_.push_back(a_->make_handle());
    handles_.push_back(b_->make_handle());
    return Recoverer(log_, {handles_[0].get(), handles_[1].get()}, std::move(options));
  }

  std::shared_ptr<FakeResource> a_ = std::make_shared<FakeResource>("a");
  std::shared_ptr<FakeResource> b_ = std::make_shared<FakeResource>("b");
  std::vector<std::unique_ptr<Resource>> handles_;
  RecordingLog log_;
};

TEST_F(RecoveryTest, CommitsEveryBranchOfALoggedDecisionAndWritesDone) {
  const Xid x = young();
  a_->prepare_detached(x.branch(0));
  b_->prepare_detached(x.branch(1));
  ASSERT_TRUE(log_.log_commit({x.global(), {{"a", x.branch(0)}, {"b", x.branch(1)}}}).ok());
  RecoveryReport report = recoverer().run();
  EXPECT_EQ(a_->committed().count(x.branch(0)), 1u);
  EXPECT_EQ(b_->committed().count(x.branch(1)), 1u);
  EXPECT_EQ(report.decisions_done, 1u);
  EXPECT_FALSE(report.needs_attention());
  EXPECT_TRUE(log_.open_decisions().empty());
}

TEST_F(RecoveryTest, ClosesADecisionWhoseBranchesAreAllGone) {
  const Xid x = young();
  ASSERT_TRUE(log_.log_commit({x.global(), {{"a", x.branch(0)}, {"b", x.branch(1)}}}).ok());
  RecoveryReport report = recoverer().run();
  EXPECT_EQ(report.decisions_done, 1u);
  EXPECT_EQ(log_.types(), (std::vector<std::string>{"commit", "done"}));
}

TEST_F(RecoveryTest, RollsBackAnUnloggedBranchOfADeadIncarnation) {
  const Xid x = young();
  a_->prepare_detached(x);
  RecoveryReport report = recoverer({.owner_down_below_sequence = kAllDown}).run();
  ASSERT_EQ(report.branches.size(), 1u);
  EXPECT_EQ(report.branches[0].action, InDoubtBranch::Action::kRollback);
  EXPECT_EQ(a_->rolled_back().count(x), 1u);
  EXPECT_TRUE(log_.types().empty()) << "presumed abort writes nothing";
  EXPECT_FALSE(report.needs_attention());
}

TEST_F(RecoveryTest, LeavesAnUnloggedBranchThatMayStillBeInFlight) {
  const Xid x = young();
  a_->prepare_detached(x);
  RecoveryReport report = recoverer().run();
  ASSERT_EQ(report.branches.size(), 1u);
  EXPECT_EQ(report.branches[0].action, InDoubtBranch::Action::kLeave);
  EXPECT_EQ(a_->prepared().size(), 1u);
  EXPECT_TRUE(report.needs_attention());
}

TEST_F(RecoveryTest, RollsBackAnUnloggedBranchPastItsDeadlinePlusGrace) {
  const Xid late = xid_of("node-1", std::chrono::minutes(5), std::chrono::seconds(60));
  const Xid within_grace = xid_of("node-1", std::chrono::seconds(70), std::chrono::seconds(60), 1);
  a_->prepare_detached(late);
  b_->prepare_detached(within_grace);
  recoverer({.grace = std::chrono::seconds(30)}).run();
  EXPECT_EQ(a_->rolled_back().count(late), 1u);
  EXPECT_EQ(b_->prepared().size(), 1u) << "deadline passed 10 s ago, grace is 30 s";
}

TEST_F(RecoveryTest, NeverTouchesOtherNodesOrOtherFormats) {
  const Xid other_node = xid_of("node-2", std::chrono::hours(1), std::chrono::seconds(1));
  const Xid other_format = *Xid::make(1, std::vector<std::uint8_t>{1, 2, 3}, {});
  a_->prepare_detached(other_node);
  a_->prepare_detached(other_format);
  RecoveryReport report =
      recoverer({.owner_down_below_sequence = kAllDown}).run();
  EXPECT_TRUE(report.branches.empty());
  EXPECT_EQ(a_->prepared().size(), 2u);
}

TEST_F(RecoveryTest, LeavesTransactionsThisProcessIsRunning) {
  const Xid x = young();
  a_->prepare_detached(x);
  RecoveryReport report = recoverer({.owner_down_below_sequence = kAllDown,
                                     .in_flight = [&](const Xid& g) { return g == x.global(); }})
                              .run();
  EXPECT_EQ(report.branches[0].action, InDoubtBranch::Action::kLeave);
  EXPECT_EQ(a_->prepared().size(), 1u);
}

TEST_F(RecoveryTest, UnhealthyLogRollsBackNothing) {
  const Xid x = young();
  a_->prepare_detached(x);
  log_.fail_commits(io_error("fdatasync: EIO"));
  ASSERT_FALSE(log_.log_commit({x.global(), {{"a", x}}}).ok());  // may or may not be on disk
  RecoveryReport report = recoverer({.owner_down_below_sequence = kAllDown}).run();
  EXPECT_EQ(report.branches[0].action, InDoubtBranch::Action::kLeave);
  EXPECT_NE(report.branches[0].reason.find("unhealthy"), std::string::npos);
  EXPECT_EQ(a_->prepared().size(), 1u);
}

TEST_F(RecoveryTest, UnreachableDataSourceKeepsTheDecisionOpen) {
  const Xid x = young();
  a_->prepare_detached(x.branch(0));
  b_->prepare_detached(x.branch(1));
  ASSERT_TRUE(log_.log_commit({x.global(), {{"a", x.branch(0)}, {"b", x.branch(1)}}}).ok());
  b_->script(Verb::kConnect, {.code = XAER_RMFAIL});
  RecoveryReport report = recoverer().run();
  EXPECT_EQ(a_->committed().count(x.branch(0)), 1u);
  EXPECT_EQ(b_->prepared().size(), 1u) << "never assume an outcome";
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("'b'"), std::string::npos);
  EXPECT_EQ(report.decisions_open, 1u);
  EXPECT_EQ(log_.open_decisions().size(), 1u);
  // Once b is back, the next pass finishes it.
  RecoveryReport later = recoverer().run();
  EXPECT_EQ(b_->committed().count(x.branch(1)), 1u);
  EXPECT_EQ(later.decisions_done, 1u);
}

TEST_F(RecoveryTest, CommitRetryLeavesTheBranchForTheNextPass) {
  const Xid x = young();
  a_->prepare_detached(x);
  ASSERT_TRUE(log_.log_commit({x.global(), {{"a", x}}}).ok());
  a_->script(Verb::kCommit, {.code = XA_RETRY});
  RecoveryReport report = recoverer().run();
  EXPECT_FALSE(report.branches[0].resolved);
  EXPECT_EQ(report.decisions_open, 1u);
  EXPECT_TRUE(recoverer().run().branches[0].resolved);
  EXPECT_TRUE(log_.open_decisions().empty());
}

TEST_F(RecoveryTest, NotaInRecoveryMeansAlreadyCommitted) {
  const Xid x = young();
  a_->prepare_detached(x);
  ASSERT_TRUE(log_.log_commit({x.global(), {{"a", x}}}).ok());
  a_->script(Verb::kCommit, {.code = XAER_NOTA});
  RecoveryReport report = recoverer().run();
  EXPECT_TRUE(report.branches[0].resolved);
  EXPECT_EQ(report.decisions_done, 1u);
}

TEST_F(RecoveryTest, HeuristicRollbackIsRecordedAndKeepsTheDecisionOpen) {
  const Xid x = young();
  a_->prepare_detached(x);
  ASSERT_TRUE(log_.log_commit({x.global(), {{"a", x}}}).ok());
  a_->script(Verb::kCommit, {.code = XA_HEURRB});
  RecoveryReport report = recoverer().run();
  EXPECT_EQ(log_.types(), (std::vector<std::string>{"commit", "heuristic"}));
  EXPECT_EQ(report.decisions_open, 1u);
  ASSERT_EQ(report.heuristics.size(), 1u);
  EXPECT_EQ(report.heuristics[0].xa_code, XA_HEURRB);
  EXPECT_TRUE(report.needs_attention());
}

TEST_F(RecoveryTest, ScanPlansWithoutTouchingAnything) {
  const Xid x = young();
  a_->prepare_detached(x);
  ASSERT_TRUE(log_.log_commit({x.global(), {{"a", x}}}).ok());
  const std::size_t calls = a_->calls().size();
  RecoveryReport report = recoverer().scan();
  ASSERT_EQ(report.branches.size(), 1u);
  EXPECT_EQ(report.branches[0].action, InDoubtBranch::Action::kCommit);
  EXPECT_FALSE(report.branches[0].resolved);
  EXPECT_EQ(a_->verbs().size(), 3u + 1u) << "start, end, prepare, then only recover";
  EXPECT_EQ(a_->calls().size(), calls + 2) << "connect and recover";
  EXPECT_EQ(log_.types(), (std::vector<std::string>{"commit"}));
}

TEST_F(RecoveryTest, OperatorCommitMakesADecisionDurableFirst) {
  const Xid x = young();
  a_->prepare_detached(x.branch(0));
  b_->prepare_detached(x.branch(1));
  Result<RecoveryReport> report = recoverer().commit(x.global());
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(a_->committed().count(x.branch(0)), 1u);
  EXPECT_EQ(b_->committed().count(x.branch(1)), 1u);
  std::vector<RecordingLog::Event> events = log_.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "commit");
  EXPECT_LT(events[0].sequence, a_->calls().back().sequence);
  EXPECT_EQ(events[1].type, "done");
}

// An operator's commit decides the whole transaction: a data source that could not be asked
// keeps the decision open, and recovery commits its branch once it is back (never presumes abort).
TEST_F(RecoveryTest, OperatorCommitWithADataSourceUnreachableKeepsTheDecisionOpen) {
  const Xid x = young();
  a_->prepare_detached(x.branch(0));
  b_->prepare_detached(x.branch(1));
  b_->script(Verb::kConnect, {.code = XAER_RMFAIL});
  Result<RecoveryReport> report = recoverer({.owner_down_below_sequence = kAllDown}).commit(x.global());
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(a_->committed().count(x.branch(0)), 1u);
  EXPECT_EQ(report->decisions_open, 1u);
  EXPECT_EQ(log_.types(), (std::vector<std::string>{"commit"}));
  RecoveryReport later = recoverer({.owner_down_below_sequence = kAllDown}).run();
  EXPECT_EQ(b_->committed().count(x.branch(1)), 1u);
  EXPECT_TRUE(b_->rolled_back().empty());
  EXPECT_EQ(later.decisions_done, 1u);
  EXPECT_EQ(log_.types(), (std::vector<std::string>{"commit", "done"}));
}

// The operator names one branch: its commit is the transaction's decision, so the other branch
// is committed by recovery and may not be rolled back.
TEST_F(RecoveryTest, OperatorCommitOfOneBranchDecidesTheRestOfItsTransaction) {
  const Xid x = young();
  a_->prepare_detached(x.branch(0));
  b_->prepare_detached(x.branch(1));
  Result<RecoveryReport> report = recoverer({.owner_down_below_sequence = kAllDown}).commit(x.branch(0));
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(a_->committed().count(x.branch(0)), 1u);
  EXPECT_EQ(b_->prepared().size(), 1u);
  EXPECT_EQ(report->decisions_open, 1u);
  EXPECT_EQ(recoverer({.owner_down_below_sequence = kAllDown}).rollback(x.branch(1)).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(recoverer({.owner_down_below_sequence = kAllDown}).rollback(x.global()).status().code(),
            StatusCode::kFailedPrecondition);
  RecoveryReport later = recoverer({.owner_down_below_sequence = kAllDown}).run();
  EXPECT_EQ(b_->committed().count(x.branch(1)), 1u);
  EXPECT_TRUE(b_->rolled_back().empty());
  EXPECT_EQ(later.decisions_done, 1u);
}

// A data source that lists one of this node's branches it cannot finish (its conninfo names
// the wrong database of the server, say) has not shown that the branch is gone: the decision
// naming it stays open, and the problem names the branch and why.
TEST_F(RecoveryTest, ABranchOfOursThatADataSourceCannotFinishKeepsItsDecisionsOpen) {
  const Xid x = young();
  a_->prepare_detached(x.branch(0));
  b_->add_unusable({kXatmFormatId, x.branch(1), "gid-of-b", "prepared in database 'right', not in this session's 'wrong'"});
  ASSERT_TRUE(log_.log_commit({x.global(), {{"a", x.branch(0)}, {"b", x.branch(1)}}}).ok());
  RecoveryReport report = recoverer().run();
  EXPECT_EQ(a_->committed().count(x.branch(0)), 1u);
  EXPECT_EQ(report.decisions_open, 1u);
  EXPECT_EQ(log_.types(), (std::vector<std::string>{"commit"}));
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("'gid-of-b'"), std::string::npos) << report.problems[0];
  EXPECT_NE(report.problems[0].find("database 'right'"), std::string::npos) << report.problems[0];
  EXPECT_TRUE(report.needs_attention());
}

// The same kind of entry is harmless when another configured data source finishes the branch
// (two databases of one server), when it is another node's, or of another formatID.
TEST_F(RecoveryTest, UnusableEntriesThatAreNotThisDataSourcesDoNotHoldDecisions) {
  const Xid x = young();
  a_->prepare_detached(x.branch(0));
  b_->add_unusable({kXatmFormatId, x.branch(0), "listed-by-a", "prepared in database 'a'"});
  const Xid other = xid_of("node-2", milliseconds(0), std::chrono::minutes(10));
  b_->add_unusable({kXatmFormatId, other, "another-node", "prepared in database 'c'"});
  b_->add_unusable({77, std::nullopt, "77_x", "its gid does not decode"});
  ASSERT_TRUE(log_.log_commit({x.global(), {{"a", x.branch(0)}, {"b", x.branch(1)}}}).ok());
  RecoveryReport report = recoverer().run();
  EXPECT_EQ(a_->committed().count(x.branch(0)), 1u);
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  EXPECT_EQ(report.decisions_done, 1u);
}

// An entry of xatm's formatID that does not decode (hex text, say) may be any of this node's
// branches on that data source.
TEST_F(RecoveryTest, AnUndecodableEntryOfOurFormatKeepsDecisionsNamingItsDataSourceOpen) {
  const Xid x = young();
  b_->add_unusable({kXatmFormatId, std::nullopt, "2019652717_0a0b_0001", "its gid does not decode"});
  ASSERT_TRUE(log_.log_commit({x.global(), {{"a", x.branch(0)}, {"b", x.branch(1)}}}).ok());
  RecoveryReport report = recoverer().run();
  EXPECT_EQ(report.decisions_open, 1u);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("2019652717_0a0b_0001"), std::string::npos) << report.problems[0];
}

// An XID the operator names that nothing reachable holds: another node's is a usage mistake
// (named as such); with a data source down it may be there, so it is not "nothing to do".
TEST_F(RecoveryTest, OperatorDecisionOnNothingFoundSaysWhy) {
  const Xid theirs = xid_of("node-2", milliseconds(0), std::chrono::minutes(10));
  a_->prepare_detached(theirs);
  Result<RecoveryReport> other_node = recoverer().commit(theirs.global());
  EXPECT_EQ(other_node.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(other_node.status().message().find("node 'node-2', not of this node 'node-1'"), std::string::npos)
      << other_node.status().message();
  EXPECT_TRUE(a_->committed().empty());
  const Xid x = young();
  b_->script(Verb::kConnect, {.code = XAER_RMFAIL});
  Result<RecoveryReport> down = recoverer().rollback(x.global());
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable) << down.status().to_string();
  EXPECT_NE(down.status().message().find("unreachable: 'b'"), std::string::npos) << down.status().message();
  EXPECT_EQ(recoverer().rollback(x.global()).status().code(), StatusCode::kNotFound);
}

TEST_F(RecoveryTest, OperatorRollbackRefusesToContradictADecision) {
  const Xid x = young();
  a_->prepare_detached(x);
  ASSERT_TRUE(log_.log_commit({x.global(), {{"a", x}}}).ok());
  Result<RecoveryReport> report = recoverer().rollback(x);
  EXPECT_EQ(report.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(a_->prepared().size(), 1u);
}

TEST_F(RecoveryTest, OperatorRollbackOfOneBranch) {
  const Xid x = young();
  a_->prepare_detached(x);
  Result<RecoveryReport> report = recoverer({.owner_down_below_sequence = kAllDown}).rollback(x);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(a_->rolled_back().count(x), 1u);
  EXPECT_EQ(recoverer().rollback(x).status().code(), StatusCode::kNotFound);
}

// Beside a live TM (its owner not provably down) and before its deadline plus the grace, the
// transaction may still log its COMMIT: an operator rollback then would split it.
TEST_F(RecoveryTest, OperatorRollbackOfATransactionThatMayBeInFlightIsRefused) {
  const Xid x = young();
  a_->prepare_detached(x);
  Result<RecoveryReport> refused = recoverer().rollback(x);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("may still be in flight"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(a_->prepared().size(), 1u);
  const Xid late = xid_of("node-1", std::chrono::minutes(5), std::chrono::seconds(60));
  a_->prepare_detached(late);
  EXPECT_TRUE(recoverer().rollback(late).ok()) << "deadline and grace passed";
  EXPECT_EQ(a_->rolled_back().count(late), 1u);
}

TEST_F(RecoveryTest, ForgetClearsOnlyTheHeuristicBranchItNames) {
  const Xid x = young();
  a_->prepare_detached(x);
  ASSERT_TRUE(log_.log_commit({x.global(), {{"a", x}}}).ok());
  a_->complete_heuristically(x, XA_HEURRB);
  ASSERT_TRUE(log_.log_heuristic({{"a", x}, XA_HEURRB}).ok());
  Result<RecoveryReport> report = recoverer().forget(x.global());
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_TRUE(a_->heuristic().empty());
  EXPECT_TRUE(log_.open_heuristics().empty());
  EXPECT_EQ(log_.open_decisions().size(), 1u) << "forget closes the heuristic, not the decision";
  recoverer().run();  // a later pass finds nothing left of it and closes the decision
  EXPECT_TRUE(log_.open_decisions().empty());
}

// `forget` of an XID that is not heuristic must not touch anything: it once wrote DONE for it
// and ran a whole recovery pass, which rolled back an unrelated in-doubt transaction.
TEST_F(RecoveryTest, ForgetOfAnXidWithoutAHeuristicOutcomeIsNotFoundAndTouchesNothing) {
  const Xid in_doubt = young();
  const Xid unrelated = xid_of("node-1", std::chrono::minutes(5), std::chrono::seconds(60));
  a_->prepare_detached(in_doubt);
  b_->prepare_detached(unrelated);
  ASSERT_TRUE(log_.log_commit({in_doubt.global(), {{"a", in_doubt}}}).ok());
  Result<RecoveryReport> report = recoverer().forget(in_doubt.global());
  EXPECT_EQ(report.status().code(), StatusCode::kNotFound) << report.status().to_string();
  EXPECT_EQ(a_->prepared().size(), 1u);
  EXPECT_EQ(b_->prepared().size(), 1u) << "an unrelated transaction was resolved";
  EXPECT_EQ(log_.types(), (std::vector<std::string>{"commit"})) << "nothing was written";
}

}  // namespace
}  // namespace xatm::testing
