// One test per row of docs/protocol.md's return-code table: each asserts the Outcome and the exact
// sequence of XA calls every fake branch received.
#include <gtest/gtest.h>

#include "coordinator_fixture.h"

namespace xatm::testing {
namespace {

// Every test runs twice: with blocking verbs on both fakes, and with "b" splitting prepare and
// commit (XaConnection::splits_verbs), as the PostgreSQL driver does. The answers, the call
// sequences and the outcomes must be the same either way.
class ReturnCodeTest : public CoordinatorTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    b_->split_verbs(GetParam());
    CoordinatorTest::SetUp();
  }
};

INSTANTIATE_TEST_SUITE_P(Verbs, ReturnCodeTest, ::testing::Values(false, true), split_b_name);

// --- prepare ---

TEST_P(ReturnCodeTest, PrepareOkOnEveryBranchCommitsBoth) {
  Transaction tx = begin_on({"a", "b"});
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kCommitted) << outcome.to_string();
  EXPECT_EQ(a_->verbs(), kTwoPhaseCommit);
  EXPECT_EQ(b_->verbs(), kTwoPhaseCommit);
  EXPECT_EQ(log_->types(), (Verbs{"commit", "done"}));
  EXPECT_FALSE(outcome.pending());
}

TEST_P(ReturnCodeTest, PrepareReadOnlyVoteLeavesTheProtocolAtPhaseOne) {
  a_->script(Verb::kPrepare, {.code = XA_RDONLY});
  Transaction tx = begin_on({"a", "b"});
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kCommitted);
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "prepare"}));
  EXPECT_EQ(b_->verbs(), kTwoPhaseCommit);
  EXPECT_TRUE(log_->types().empty()) << "a lone writer needs no decision record";
  EXPECT_EQ(tm_->stats().read_only, 1u);
}

TEST_P(ReturnCodeTest, EveryBranchReadOnlyCommitsWithoutPhaseTwo) {
  a_->script(Verb::kPrepare, {.code = XA_RDONLY});
  b_->script(Verb::kPrepare, {.code = XA_RDONLY});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kCommitted);
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "prepare"}));
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "prepare"}));
  EXPECT_TRUE(log_->types().empty());
}

TEST_P(ReturnCodeTest, PrepareRollbackVoteRollsBackEveryBranch) {
  b_->script(Verb::kPrepare, {.code = XA_RBDEADLOCK});
  Transaction tx = begin_on({"a", "b"});
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kRolledBack);
  EXPECT_NE(outcome.reason.find("'b' voted no (XA_RBDEADLOCK"), std::string::npos) << outcome.reason;
  EXPECT_EQ(a_->verbs(), kPreparedThenRolledBack);
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "prepare"})) << "XA_RB*: the RM rolled it back";
  EXPECT_TRUE(log_->types().empty()) << "presumed abort: a rollback writes nothing";
  EXPECT_TRUE(a_->prepared().empty());
}

TEST_P(ReturnCodeTest, PrepareNotaIsANoVote) {
  b_->script(Verb::kPrepare, {.code = XAER_NOTA});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kRolledBack);
  EXPECT_EQ(a_->verbs(), kPreparedThenRolledBack);
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "prepare"}));
  EXPECT_TRUE(log_->types().empty());
}

TEST_P(ReturnCodeTest, PrepareRmerrIsANoVoteAndTheBranchIsRolledBack) {
  b_->script(Verb::kPrepare, {.code = XAER_RMERR});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kRolledBack);
  EXPECT_EQ(a_->verbs(), kPreparedThenRolledBack);
  EXPECT_EQ(b_->verbs(), kPreparedThenRolledBack);
  EXPECT_TRUE(log_->types().empty());
}

TEST_P(ReturnCodeTest, PrepareRmfailIsANoVoteAndTheMaybePreparedBranchIsRolledBack) {
  // The prepare reached the RM, then the connection died: the branch is prepared out there.
  b_->script(Verb::kPrepare, {.code = XAER_RMFAIL, .applied = true});
  Transaction tx = begin_on({"a", "b"});
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kRolledBack);
  EXPECT_EQ(a_->verbs(), kPreparedThenRolledBack);
  EXPECT_EQ(b_->verbs(), kPreparedThenRolledBack);
  const std::vector<fake::Call> calls = b_->calls();
  EXPECT_NE(calls.back().session, calls.front().session) << "rollback needs a fresh session";
  EXPECT_TRUE(b_->prepared().empty());
  EXPECT_EQ(b_->rolled_back().count(tx.xid().branch(1)), 1u);
  EXPECT_FALSE(outcome.pending());
}

TEST_P(ReturnCodeTest, PrepareRmfailRollbackIsRetriedOnAFreshSession) {
  b_->script(Verb::kPrepare, {.code = XAER_RMFAIL, .applied = true});
  b_->script(Verb::kConnect, {});  // the session enlist opens
  b_->script(Verb::kConnect, {.code = XAER_RMFAIL});  // the RM is still down
  b_->script(Verb::kRollback, {.code = XAER_RMFAIL});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kRolledBack);
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "prepare", "rollback", "rollback"}));
  EXPECT_TRUE(b_->prepared().empty());
}

// --- commit ---

TEST_P(ReturnCodeTest, CommitHeuristicCommitIsRecordedThenForgotten) {
  b_->script(Verb::kCommit, {.code = XA_HEURCOM});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kCommitted);
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "prepare", "commit", "forget"}));
  EXPECT_EQ(log_->types(), (Verbs{"commit", "heuristic", "done"}));
  EXPECT_EQ(log_->events()[1].code, XA_HEURCOM);
}

TEST_P(ReturnCodeTest, CommitRmfailIsRetriedOnAFreshSession) {
  b_->script(Verb::kCommit, {.code = XAER_RMFAIL});
  Transaction tx = begin_on({"a", "b"});
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kCommitted);
  EXPECT_FALSE(outcome.pending());
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "prepare", "commit", "commit"}));
  EXPECT_EQ(b_->committed().count(tx.xid().branch(1)), 1u);
  EXPECT_EQ(log_->types(), (Verbs{"commit", "done"}));
}

TEST_P(ReturnCodeTest, CommitRetryIsReissued) {
  b_->script(Verb::kCommit, {.code = XA_RETRY});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kCommitted);
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "prepare", "commit", "commit"}));
  EXPECT_EQ(log_->types(), (Verbs{"commit", "done"}));
}

TEST_P(ReturnCodeTest, CommitNeverConfirmedStaysInTheLogForRecovery) {
  b_->script_always(Verb::kCommit, {.code = XAER_RMFAIL});
  Transaction tx = begin_on({"a", "b"});
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kCommitted) << "the decision is final";
  EXPECT_TRUE(outcome.pending());
  EXPECT_TRUE(outcome.branches[1].pending);
  EXPECT_EQ(log_->types(), (Verbs{"commit"})) << "no DONE until every branch confirmed";
  ASSERT_EQ(log_->open_decisions().size(), 1u);
  EXPECT_EQ(b_->prepared().size(), 1u) << "the branch waits, prepared, for recovery";
  EXPECT_EQ(tm_->stats().pending_branches, 1u);
}

TEST_P(ReturnCodeTest, CommitNotaInTheLivePathIsAHeuristicHazard) {
  b_->script(Verb::kCommit, {.code = XAER_NOTA});
  Transaction tx = begin_on({"a", "b"});
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kHeuristicHazard);
  EXPECT_EQ(b_->verbs(), kTwoPhaseCommit);
  EXPECT_EQ(log_->types(), (Verbs{"commit", "heuristic"}));
  EXPECT_EQ(log_->events()[1].code, XA_HEURHAZ);
}

TEST_P(ReturnCodeTest, CommitNotaAfterALostAnswerMeansAlreadyCommitted) {
  b_->script(Verb::kCommit, {.code = XAER_RMFAIL, .applied = true});  // committed, answer lost
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kCommitted);
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "prepare", "commit", "commit"}));
  EXPECT_EQ(b_->calls().back().code, XAER_NOTA);
  EXPECT_EQ(log_->types(), (Verbs{"commit", "done"}));
}

TEST_P(ReturnCodeTest, CommitHeuristicRollbackOfOneBranchIsMixed) {
  b_->script(Verb::kCommit, {.code = XA_HEURRB});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kHeuristicMixed);
  EXPECT_EQ(b_->verbs(), kTwoPhaseCommit) << "no automatic forget: the operator decides";
  EXPECT_EQ(log_->types(), (Verbs{"commit", "heuristic"}));
}

TEST_P(ReturnCodeTest, CommitHeuristicRollbackOfEveryBranchIsHeuristicRollback) {
  a_->script(Verb::kCommit, {.code = XA_HEURRB});
  b_->script(Verb::kCommit, {.code = XA_HEURRB});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kHeuristicRollback);
  EXPECT_EQ(log_->types(), (Verbs{"commit", "heuristic", "heuristic"}));
}

TEST_P(ReturnCodeTest, CommitHeuristicMixedIsSurfaced) {
  b_->script(Verb::kCommit, {.code = XA_HEURMIX});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kHeuristicMixed);
  EXPECT_EQ(b_->verbs(), kTwoPhaseCommit);
  EXPECT_EQ(log_->events()[1].code, XA_HEURMIX);
}

TEST_P(ReturnCodeTest, CommitHeuristicMixedOutranksAHazardOfAnotherBranch) {
  a_->script(Verb::kCommit, {.code = XA_HEURHAZ});
  b_->script(Verb::kCommit, {.code = XA_HEURMIX});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kHeuristicMixed);
  EXPECT_EQ(log_->types(), (Verbs{"commit", "heuristic", "heuristic"}));
}

TEST_P(ReturnCodeTest, CommitHeuristicHazardIsSurfaced) {
  b_->script(Verb::kCommit, {.code = XA_HEURHAZ});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kHeuristicHazard);
  EXPECT_EQ(log_->types(), (Verbs{"commit", "heuristic"}));
  EXPECT_EQ(b_->heuristic().size(), 1u);
}

// --- rollback ---

TEST_P(ReturnCodeTest, RollbackOkOfActiveBranchesEndsThemFirst) {
  Transaction tx = begin_on({"a", "b"});
  Outcome outcome = tx.rollback();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kRolledBack);
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "rollback"}));
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "rollback"}));
  EXPECT_TRUE(log_->types().empty());
}

TEST_P(ReturnCodeTest, RollbackAnsweringRollbackCodeIsDone) {
  b_->script(Verb::kPrepare, {.code = XAER_RMERR});
  a_->script(Verb::kRollback, {.code = XA_RBROLLBACK});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kRolledBack);
  EXPECT_EQ(a_->verbs(), kPreparedThenRolledBack);
  EXPECT_FALSE(tx.commit().pending());
}

TEST_P(ReturnCodeTest, RollbackNotaIsSuccess) {
  // The empty-rollback trap: a rollback for a branch the RM never prepared answers NOTA.
  b_->script(Verb::kPrepare, {.code = XAER_RMFAIL, .applied = false});
  Transaction tx = begin_on({"a", "b"});
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kRolledBack);
  EXPECT_FALSE(outcome.pending());
  EXPECT_EQ(b_->verbs(), kPreparedThenRolledBack);
  EXPECT_EQ(b_->calls().back().code, XAER_NOTA);
}

TEST_P(ReturnCodeTest, RollbackRmfailIsRetriedOnAFreshSession) {
  b_->script(Verb::kPrepare, {.code = XA_RBROLLBACK});
  a_->script(Verb::kRollback, {.code = XAER_RMFAIL});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kRolledBack);
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "prepare", "rollback", "rollback"}));
  EXPECT_TRUE(a_->prepared().empty());
  EXPECT_EQ(a_->rolled_back().count(tx.xid().branch(0)), 1u);
}

TEST_P(ReturnCodeTest, RollbackHeuristicCommitBesideARolledBackBranchIsMixed) {
  b_->script(Verb::kPrepare, {.code = XA_RBROLLBACK});
  a_->script(Verb::kRollback, {.code = XA_HEURCOM});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kHeuristicMixed);
  EXPECT_EQ(a_->verbs(), kPreparedThenRolledBack) << "no automatic forget against the decision";
  EXPECT_EQ(log_->types(), (Verbs{"heuristic"}));
  EXPECT_EQ(log_->events()[0].code, XA_HEURCOM);
}

TEST_P(ReturnCodeTest, RollbackHeuristicCommitOfEveryBranchIsHeuristicCommit) {
  // Both prepared, then the deadline passed before the decision: rollback meets HEURCOM twice.
  b_->script(Verb::kPrepare, {.delay = std::chrono::milliseconds(60)});
  a_->script(Verb::kRollback, {.code = XA_HEURCOM});
  b_->script(Verb::kRollback, {.code = XA_HEURCOM});
  Transaction tx = begin_on({"a", "b"}, std::chrono::milliseconds(40));
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kHeuristicCommit);
  EXPECT_EQ(log_->types(), (Verbs{"heuristic", "heuristic"}));
}

// --- one phase ---

TEST_P(ReturnCodeTest, OnePhaseCommitRollbackCodeIsRolledBack) {
  a_->script(Verb::kCommitOnePhase, {.code = XA_RBDEADLOCK});
  Transaction tx = begin_on({"a"});
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kRolledBack);
  EXPECT_NE(outcome.reason.find("XA_RBDEADLOCK"), std::string::npos);
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "commit1pc"}));
}

TEST_P(ReturnCodeTest, OnePhaseCommitLostAnswerIsUnknown) {
  a_->script(Verb::kCommitOnePhase, {.code = XAER_RMFAIL, .applied = true});
  Transaction tx = begin_on({"a"});
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kUnknown) << "never guess committed or rolled back";
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "commit1pc"}));
  EXPECT_TRUE(log_->types().empty());
}

TEST_P(ReturnCodeTest, EndRollbackCodeIsANoVote) {
  b_->script(Verb::kEnd, {.code = XA_RBDEADLOCK});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kRolledBack);
  // A branch that splits verbs is ended first, so its no vote comes before a is prepared.
  const Verbs never_prepared = {"start", "end", "rollback"};
  EXPECT_EQ(a_->verbs(), GetParam() ? never_prepared : kPreparedThenRolledBack);
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "rollback"})) << "MariaDB wants XA ROLLBACK";
}

}  // namespace
}  // namespace xatm::testing
