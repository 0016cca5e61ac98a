// The conformance suite, part 1: each XA verb in each state, on the real server.
#include <gtest/gtest.h>

#include "conformance_fixture.h"

namespace xatm::testing {
namespace {

using VerbConformanceTest = ConformanceTest;

TEST_F(VerbConformanceTest, TwoPhaseCommitMakesTheWorkVisibleOnlyAtCommit) {
  auto session = connect();
  ASSERT_NE(session, nullptr);
  const Xid xid = new_xid();
  prepare_update(*session, xid, 1);
  EXPECT_EQ(balance(1), 100) << "prepared work is not visible";
  EXPECT_TRUE(is_prepared(xid));
  XaReply committed = session->commit(xid, /*one_phase=*/false);
  EXPECT_EQ(committed.code, XA_OK) << committed.detail;
  EXPECT_EQ(balance(1), 101);
  EXPECT_FALSE(is_prepared(xid));
}

TEST_F(VerbConformanceTest, OnePhaseCommitOfAnEndedBranch) {
  auto session = connect();
  const Xid xid = new_xid();
  ASSERT_EQ(session->start(xid).code, XA_OK);
  ASSERT_TRUE(driver().execute(*session, add_one(2)).ok());
  ASSERT_EQ(session->end(xid).code, XA_OK);
  XaReply committed = session->commit(xid, /*one_phase=*/true);
  EXPECT_EQ(committed.code, XA_OK) << committed.detail;
  EXPECT_EQ(balance(2), 101);
}

TEST_F(VerbConformanceTest, RollbackOfAnEndedBranchUndoesTheWork) {
  auto session = connect();
  const Xid xid = new_xid();
  ASSERT_EQ(session->start(xid).code, XA_OK);
  ASSERT_TRUE(driver().execute(*session, add_one(1)).ok());
  ASSERT_EQ(session->end(xid).code, XA_OK);
  EXPECT_EQ(session->rollback(xid).code, XA_OK);
  EXPECT_EQ(balance(1), 100);
  // The session is clean again: a new branch can start on it.
  const Xid next = new_xid();
  EXPECT_EQ(session->start(next).code, XA_OK);
  EXPECT_EQ(session->end(next).code, XA_OK);
  EXPECT_EQ(session->rollback(next).code, XA_OK);
}

TEST_F(VerbConformanceTest, RollbackOfAPreparedBranchUndoesTheWork) {
  auto session = connect();
  const Xid xid = new_xid();
  prepare_update(*session, xid, 3);
  EXPECT_EQ(session->rollback(xid).code, XA_OK);
  EXPECT_EQ(balance(3), 100);
  EXPECT_FALSE(is_prepared(xid));
}

TEST_F(VerbConformanceTest, CommitAndRollbackOfAnUnknownXidAnswerNota) {
  auto session = connect();
  const Xid xid = new_xid();
  EXPECT_EQ(session->commit(xid, false).code, XAER_NOTA);
  EXPECT_EQ(session->rollback(xid).code, XAER_NOTA);
  EXPECT_TRUE(session->usable());
}

TEST_F(VerbConformanceTest, RepeatedCommitIsHarmless) {
  auto session = connect();
  const Xid xid = new_xid();
  prepare_update(*session, xid, 1);
  ASSERT_EQ(session->commit(xid, false).code, XA_OK);
  auto other = connect();
  EXPECT_EQ(other->commit(xid, false).code, XAER_NOTA) << "already committed";
  EXPECT_EQ(balance(1), 101);
}

TEST_F(VerbConformanceTest, PreparedBranchIsFinishedFromAnotherSession) {
  const Xid xid = new_xid();
  {
    auto preparer = connect();
    prepare_update(*preparer, xid, 4);
  }  // the preparing session closes: the branch detaches and stays prepared
  EXPECT_TRUE(is_prepared(xid));
  auto finisher = connect();
  XaReply committed = finisher->commit(xid, false);
  EXPECT_EQ(committed.code, XA_OK) << committed.detail;
  EXPECT_EQ(balance(4), 101);
}

TEST_F(VerbConformanceTest, RecoverRoundTripsBinaryXidsWithEveryByteValue) {
  // Four XIDs whose gtrid and bqual together carry each byte value 0..255.
  std::vector<Xid> xids;
  for (int part = 0; part < 4; ++part) {
    std::vector<std::uint8_t> gtrid, bqual;
    for (int i = 0; i < 48; ++i) gtrid.push_back(static_cast<std::uint8_t>(part * 64 + i));
    for (int i = 48; i < 64; ++i) bqual.push_back(static_cast<std::uint8_t>(part * 64 + i));
    xids.push_back(*Xid::make(kXatmFormatId, gtrid, bqual));
  }
  std::vector<std::unique_ptr<XaConnection>> sessions;
  for (int part = 0; part < 4; ++part) {
    sessions.push_back(connect());
    prepare_update(*sessions.back(), xids[part], part + 1);
  }
  Result<std::vector<Xid>> listed = driver().prepared_xids();
  ASSERT_TRUE(listed.ok()) << listed.status().to_string();
  for (const Xid& xid : xids) {
    EXPECT_NE(std::find(listed->begin(), listed->end(), xid), listed->end()) << xid.to_string();
  }
  for (int part = 0; part < 4; ++part) {
    EXPECT_EQ(sessions[part]->rollback(xids[part]).code, XA_OK);
  }
}

TEST_F(VerbConformanceTest, DuplicateXidNeverDisturbsTheFirstBranch) {
  auto first = connect();
  const Xid xid = new_xid();
  prepare_update(*first, xid, 1);
  auto second = connect();
  XaReply started = second->start(xid);
  if (started.code == XA_OK) {  // PostgreSQL only notices the duplicate at PREPARE
    ASSERT_TRUE(driver().execute(*second, add_one(2)).ok());
    EXPECT_EQ(second->end(xid).code, XA_OK);
    XaReply vote = second->prepare(xid);
    EXPECT_TRUE(vote.is_rollback()) << xa_code_name(vote.code);
    EXPECT_EQ(second->rollback(xid).code, XA_OK) << "must not touch the first branch";
  } else {
    EXPECT_EQ(started.code, XAER_DUPID);
  }
  EXPECT_TRUE(is_prepared(xid));
  EXPECT_EQ(first->commit(xid, false).code, XA_OK);
  EXPECT_EQ(balance(1), 101);
  EXPECT_EQ(balance(2), 100);
}

}  // namespace
}  // namespace xatm::testing
