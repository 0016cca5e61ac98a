// The protocol rules of docs/protocol.md beyond single return codes: the three traps, one-phase commit,
// the decision before phase 2, the deadline, parallel phases, enlistment and thread safety.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "coordinator_fixture.h"
#include "testing/crash_points.h"

namespace xatm::testing {
namespace {

using ProtocolTest = CoordinatorTest;
using std::chrono::milliseconds;

// --- the three traps ---

TEST_F(ProtocolTest, IdempotentCommitReturnsTheFirstOutcomeWithoutNewCalls) {
  Transaction tx = begin_on({"a", "b"});
  Outcome first = tx.commit();
  ASSERT_TRUE(first.committed());
  const std::size_t calls = a_->calls().size() + b_->calls().size();
  EXPECT_EQ(tx.commit().kind, first.kind);
  EXPECT_EQ(tx.rollback().kind, first.kind) << "rollback after commit changes nothing";
  EXPECT_EQ(a_->calls().size() + b_->calls().size(), calls);
  EXPECT_EQ(log_->types(), (Verbs{"commit", "done"}));
}

TEST_F(ProtocolTest, IdempotentRollbackReturnsTheFirstOutcome) {
  Transaction tx = begin_on({"a", "b"});
  ASSERT_TRUE(tx.rollback().rolled_back());
  EXPECT_TRUE(tx.rollback().rolled_back());
  EXPECT_TRUE(tx.commit().rolled_back());
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "rollback"}));
}

TEST_F(ProtocolTest, RepeatedCommitOfTheSameBranchKeepsItCommitted) {
  // A commit retried after its first answer was lost finds the branch gone: same final state.
  a_->script(Verb::kCommit, {.code = XAER_RMFAIL, .applied = true});
  b_->script(Verb::kCommit, {.code = XAER_RMFAIL, .applied = true});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kCommitted);
  EXPECT_EQ(a_->committed().size(), 1u);
  EXPECT_EQ(b_->committed().size(), 1u);
  EXPECT_TRUE(a_->rolled_back().empty());
}

TEST_F(ProtocolTest, HangingNoStartAfterRollback) {
  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(tx->enlist("a").ok());
  ASSERT_TRUE(tx->rollback().rolled_back());
  Result<XaConnection*> late = tx->enlist("b");
  EXPECT_EQ(late.status().code(), StatusCode::kAborted);
  EXPECT_TRUE(b_->verbs().empty()) << "no xa_start for a transaction decided to roll back";
}

TEST_F(ProtocolTest, HangingNoStartAfterTheDeadline) {
  Result<Transaction> tx = tm_->begin(milliseconds(1));
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(tx->enlist("a").ok() || true);  // may already be late on a slow machine
  std::this_thread::sleep_for(milliseconds(5));
  Result<XaConnection*> late = tx->enlist("b");
  EXPECT_EQ(late.status().code(), StatusCode::kAborted);  // whether or not the reaper was by
  EXPECT_NE(late.status().message().find("timed out"), std::string::npos) << late.status().to_string();
  EXPECT_TRUE(b_->verbs().empty());
  Outcome outcome = tx->commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kRolledBack);
  EXPECT_NE(outcome.reason.find("deadline"), std::string::npos) << outcome.reason;
  EXPECT_TRUE(log_->types().empty());
}

TEST_F(ProtocolTest, HangingNoPrepareAfterAnotherBranchVotedNo) {
  a_->script(Verb::kPrepare, {.code = XA_RBINTEGRITY});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kRolledBack);
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "rollback"})) << "b was never prepared";
}

TEST_F(ProtocolTest, RollbackOnlyRefusesEnlistAndRollsBackAtCommit) {
  Transaction tx = begin_on({"a"});
  tx.set_rollback_only("validation failed");
  EXPECT_EQ(tx.enlist("b").status().code(), StatusCode::kAborted);
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kRolledBack);
  EXPECT_NE(outcome.reason.find("validation failed"), std::string::npos);
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "rollback"}));
}

// --- the deadline rule ---

TEST_F(ProtocolTest, NoCommitRecordAfterTheDeadline) {
  b_->script(Verb::kPrepare, {.delay = milliseconds(60)});
  Transaction tx = begin_on({"a", "b"}, milliseconds(40));
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kRolledBack);
  EXPECT_NE(outcome.reason.find("deadline exceeded before the decision"), std::string::npos);
  EXPECT_TRUE(log_->types().empty());
  EXPECT_EQ(a_->verbs(), kPreparedThenRolledBack);
  EXPECT_EQ(b_->verbs(), kPreparedThenRolledBack);
}

// --- one phase, and the log ---

TEST_F(ProtocolTest, OneBranchCommitsInOnePhaseAndLogsNothing) {
  Transaction tx = begin_on({"a"});
  EXPECT_TRUE(tx.commit().committed());
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "commit1pc"}));
  EXPECT_TRUE(log_->types().empty());
  EXPECT_EQ(tm_->stats().one_phase, 1u);
}

TEST_F(ProtocolTest, NoBranchCommitsWithoutAnyCall) {
  Result<Transaction> tx = tm_->begin();
  ASSERT_TRUE(tx.ok());
  EXPECT_TRUE(tx->commit().committed());
  EXPECT_TRUE(a_->calls().empty());
  EXPECT_TRUE(log_->types().empty());
}

// One forced COMMIT record, after every prepare and before any commit reached an RM.
void expect_one_decision_between_the_phases(const RecordingLog& log,
                                            std::initializer_list<const FakeResource*> rms) {
  std::vector<RecordingLog::Event> events = log.events();
  ASSERT_EQ(std::count_if(events.begin(), events.end(),
                          [](const auto& e) { return e.type == "commit"; }),
            1);
  const std::uint64_t decided = events.front().sequence;
  for (const FakeResource* rm : rms) {
    for (const fake::Call& call : rm->calls()) {
      if (call.verb == Verb::kPrepare) {
        EXPECT_LT(call.sequence, decided) << rm->name();
      }
      if (call.verb == Verb::kCommit) {
        EXPECT_GT(call.sequence, decided) << rm->name();
      }
    }
  }
  EXPECT_EQ(log.open_decisions().size(), 0u);
}

TEST_F(ProtocolTest, ExactlyOneForcedCommitRecordPrecedesTheFirstCommit) {
  Transaction tx = begin_on({"a", "b", "c"});
  ASSERT_TRUE(tx.commit().committed());
  expect_one_decision_between_the_phases(*log_, {a_.get(), b_.get(), c_.get()});
}

TEST_F(ProtocolTest, ASplitCommitIsSentOnlyAfterTheDecisionIsDurable) {
  // The fake records a split verb when it is sent, so the order seen here is the send order.
  b_->split_verbs(true);
  Transaction tx = begin_on({"a", "b", "c"});
  ASSERT_TRUE(tx.commit().committed());
  expect_one_decision_between_the_phases(*log_, {a_.get(), b_.get(), c_.get()});
}

TEST_F(ProtocolTest, TheDecisionNamesEveryPreparedBranch) {
  b_->script_always(Verb::kCommit, {.code = XAER_RMFAIL});
  Transaction tx = begin_on({"a", "b", "c"});
  ASSERT_TRUE(tx.commit().committed());
  std::vector<CommitRecord> open = log_->open_decisions();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].global, tx.xid());
  EXPECT_EQ(open[0].branches, (std::vector<DecisionBranch>{{"a", tx.xid().branch(0)},
                                                           {"b", tx.xid().branch(1)},
                                                           {"c", tx.xid().branch(2)}}));
}

TEST_F(ProtocolTest, FailedDecisionLogLeavesBranchesPreparedAndOutcomeUnknown) {
  log_->fail_commits(io_error("fdatasync: EIO"));
  Transaction tx = begin_on({"a", "b"});
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kUnknown);
  EXPECT_NE(outcome.reason.find("EIO"), std::string::npos);
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "prepare"})) << "no rollback: it might contradict";
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "prepare"}));
  EXPECT_EQ(a_->prepared().size(), 1u);
  EXPECT_EQ(b_->prepared().size(), 1u);
  EXPECT_EQ(tm_->begin().status().code(), StatusCode::kFailedPrecondition);
}

// A database log whose node another owner took over knows that the record was not written
// (decision_log.h: kAborted): nobody can commit the transaction, and its locks must not wait
// for the new owner's recovery.
TEST_F(ProtocolTest, ALogThatCertainlyDidNotWriteTheDecisionRollsBack) {
  log_->fail_commits(aborted_error("decision log xatm_log, node 'n': taken over: epoch 3 ..."));
  Transaction tx = begin_on({"a", "b"});
  Outcome outcome = tx.commit();
  EXPECT_EQ(outcome.kind, Outcome::Kind::kRolledBack) << outcome.to_string();
  EXPECT_NE(outcome.reason.find("taken over"), std::string::npos) << outcome.reason;
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "prepare", "rollback"}));
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "prepare", "rollback"}));
  EXPECT_TRUE(a_->prepared().empty());
  EXPECT_TRUE(b_->prepared().empty());
}

// --- parallel phases ---

bool overlap(const fake::Call& x, const fake::Call& y) {
  return x.began < y.ended && y.began < x.ended;
}

const fake::Call& find_call(const std::vector<fake::Call>& calls, Verb verb) {
  return *std::find_if(calls.begin(), calls.end(), [&](const auto& c) { return c.verb == verb; });
}

TEST_F(ProtocolTest, PhasesRunInParallelAcrossBranches) {
  // The committing thread takes one branch and a pool thread the other. The delay only has to
  // outlast the pool thread's wake-up (even under sanitizers), so that it cannot happen that the
  // committing thread finishes its branch and claims the second one too.
  start_tm(test_options(/*phase_threads=*/4));
  for (const auto& rm : {a_, b_}) {
    rm->script(Verb::kPrepare, {.delay = milliseconds(300)});
    rm->script(Verb::kCommit, {.delay = milliseconds(300)});
  }
  Transaction tx = begin_on({"a", "b"});
  ASSERT_TRUE(tx.commit().committed());
  const std::vector<fake::Call> a_calls = a_->calls(), b_calls = b_->calls();
  EXPECT_TRUE(overlap(find_call(a_calls, Verb::kPrepare), find_call(b_calls, Verb::kPrepare)));
  EXPECT_TRUE(overlap(find_call(a_calls, Verb::kCommit), find_call(b_calls, Verb::kCommit)));
}

TEST_F(ProtocolTest, ASplitBranchOverlapsTheOtherOnTheCommittingThreadAlone) {
  // No pool threads: only splitting b's verbs can make the phases overlap. b is sent first,
  // a runs on the committing thread meanwhile, and b's answer is read last.
  b_->split_verbs(true);
  for (const auto& rm : {a_, b_}) {
    rm->script(Verb::kPrepare, {.delay = milliseconds(100)});
    rm->script(Verb::kCommit, {.delay = milliseconds(100)});
  }
  Transaction tx = begin_on({"a", "b"});
  ASSERT_TRUE(tx.commit().committed());
  const std::vector<fake::Call> a_calls = a_->calls(), b_calls = b_->calls();
  EXPECT_TRUE(overlap(find_call(a_calls, Verb::kPrepare), find_call(b_calls, Verb::kPrepare)));
  EXPECT_TRUE(overlap(find_call(a_calls, Verb::kCommit), find_call(b_calls, Verb::kCommit)));
  EXPECT_LT(find_call(b_calls, Verb::kPrepare).began, find_call(a_calls, Verb::kEnd).began);
  EXPECT_EQ(a_->verbs(), kTwoPhaseCommit);
  EXPECT_EQ(b_->verbs(), kTwoPhaseCommit);
  EXPECT_EQ(log_->types(), (Verbs{"commit", "done"}));
}

TEST_F(ProtocolTest, ASplitPrepareAlreadySentWhenAnotherBranchVotesNoIsRolledBack) {
  // Blocking, b would never be prepared (HangingNoPrepareAfterAnotherBranchVotedNo). Split, its
  // PREPARE goes out before a is even ended: b is prepared, then rolled back.
  b_->split_verbs(true);
  a_->script(Verb::kPrepare, {.code = XA_RBINTEGRITY});
  Transaction tx = begin_on({"a", "b"});
  EXPECT_EQ(tx.commit().kind, Outcome::Kind::kRolledBack);
  EXPECT_EQ(b_->verbs(), kPreparedThenRolledBack);
  EXPECT_TRUE(b_->prepared().empty());
  EXPECT_EQ(b_->rolled_back().size(), 1u);
  EXPECT_TRUE(log_->types().empty());
}

TEST_F(ProtocolTest, ASplitBranchWhoseSessionDiedBeforePhaseTwoIsCommittedOnAFreshSession) {
  b_->split_verbs(true);
  Transaction tx = begin_on({"a", "b"});
  internal::set_crash_hook([&](std::string_view point) {
    if (point != internal::kCrashAfterDecision) return;
    b_->close_session(b_->calls().back().session);  // the session that prepared b's branch
  });
  Outcome outcome = tx.commit();
  internal::set_crash_hook({});
  EXPECT_TRUE(outcome.committed()) << outcome.to_string();
  EXPECT_FALSE(outcome.pending());
  EXPECT_EQ(b_->verbs(), kTwoPhaseCommit);
  const std::vector<fake::Call> b_calls = b_->calls();
  EXPECT_NE(find_call(b_calls, Verb::kCommit).session, find_call(b_calls, Verb::kPrepare).session);
  EXPECT_EQ(b_->committed().size(), 1u);
}

class ConcurrencyTest : public CoordinatorTest, public ::testing::WithParamInterface<bool> {};

INSTANTIATE_TEST_SUITE_P(Verbs, ConcurrencyTest, ::testing::Values(false, true), split_b_name);

TEST_P(ConcurrencyTest, ManyThreadsCommitConcurrently) {
  b_->split_verbs(GetParam());
  start_tm(test_options(/*phase_threads=*/2));
  constexpr int kThreads = 8, kPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        Result<Transaction> tx = tm_->begin();
        ASSERT_TRUE(tx.ok());
        ASSERT_TRUE(tx->enlist("a").ok());
        ASSERT_TRUE(tx->enlist("b").ok());
        EXPECT_TRUE(tx->commit().committed());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  Stats stats = tm_->stats();
  EXPECT_EQ(stats.begun, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(stats.committed, stats.begun);
  EXPECT_EQ(a_->committed().size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(b_->committed().size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(stats.in_flight, 0u);
}

// --- enlistment and lifetime ---

TEST_F(ProtocolTest, EnlistReturnsTheSameSessionForTheSameDataSource) {
  Result<Transaction> tx = tm_->begin();
  Result<XaConnection*> first = tx->enlist("a");
  Result<XaConnection*> again = tx->enlist("a");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(*first, *again);
  EXPECT_EQ(a_->verbs(), (Verbs{"start"}));
}

TEST_F(ProtocolTest, EnlistErrorsNameTheDataSource) {
  Result<Transaction> tx = tm_->begin();
  Result<XaConnection*> missing = tx->enlist("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
  a_->script(Verb::kConnect, {.code = XAER_RMFAIL});
  Result<XaConnection*> down = tx->enlist("a");
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(down.status().message().find("'a'"), std::string::npos);
  b_->script(Verb::kStart, {.code = XAER_DUPID});
  EXPECT_EQ(tx->enlist("b").status().code(), StatusCode::kAlreadyExists);
}

TEST_F(ProtocolTest, APooledSessionThatDiedIsReplacedAtEnlist) {
  ASSERT_TRUE(begin_on({"a"}).commit().committed());  // leaves an idle session in the pool
  a_->clear_calls();
  a_->script(Verb::kStart, {.code = XAER_RMFAIL});     // it died with its server meanwhile
  Transaction tx = begin_on({"a"});
  EXPECT_TRUE(tx.commit().committed());
  const std::vector<fake::Call> calls = a_->calls();
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(calls[0].verb, Verb::kStart);
  EXPECT_EQ(calls[0].code, XAER_RMFAIL);
  EXPECT_EQ(calls[1].verb, Verb::kConnect) << "a fresh session";
  EXPECT_EQ(calls[2].verb, Verb::kStart);
  EXPECT_NE(calls[0].xid, calls[2].xid) << "a new bqual, in case the first start got through";
}

TEST_F(ProtocolTest, DestroyingAnUnfinishedTransactionRollsItBack) {
  {
    Transaction tx = begin_on({"a", "b"});
  }
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "rollback"}));
  EXPECT_EQ(tm_->stats().rolled_back, 1u);
}

TEST_F(ProtocolTest, SessionsAreReusedAcrossTransactions) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(begin_on({"a", "b"}).commit().committed());
  const std::vector<fake::Call> calls = a_->calls();
  EXPECT_EQ(std::count_if(calls.begin(), calls.end(),
                          [](const auto& c) { return c.verb == Verb::kConnect; }),
            1);
}

TEST_F(ProtocolTest, BranchesHaveDistinctXidsOfOneGlobalTransaction) {
  Transaction tx = begin_on({"a", "b"});
  ASSERT_TRUE(tx.commit().committed());
  const Xid a_xid = *Xid::parse(a_->calls()[1].xid);
  const Xid b_xid = *Xid::parse(b_->calls()[1].xid);
  EXPECT_NE(a_xid, b_xid);
  EXPECT_TRUE(a_xid.same_global(b_xid));
  Result<GtridInfo> info = decode_gtrid(tx.xid());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->node_name, "test-node");
}

TEST(TransactionManagerSetupTest, BadOptionsAreRefusedWithTheFieldName) {
  TransactionManager no_name(Options{.log_dir = "/tmp/unused"});
  Status status = no_name.start();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("node_name"), std::string::npos) << status.message();

  TransactionManager no_dir(Options{.node_name = "n1"});
  EXPECT_NE(no_dir.start().message().find("log_dir"), std::string::npos);

  TransactionManager not_started(Options{.node_name = "n1", .log_dir = "/tmp/unused"});
  EXPECT_EQ(not_started.begin().status().code(), StatusCode::kFailedPrecondition);
}

TEST(TransactionManagerSetupTest, DuplicateDataSourceIsRefused) {
  TransactionManager tm(Options{.node_name = "n1", .log_dir = "/tmp/unused"});
  auto rm = std::make_shared<FakeResource>("a");
  ASSERT_TRUE(tm.add(rm->make_handle()).ok());
  EXPECT_EQ(tm.add(rm->make_handle()).code(), StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace xatm::testing
