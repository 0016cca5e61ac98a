// The xa_switch_t a driver exports (src/switch_export.h), over a FakeResource: what each verb
// and flag does, the rmid and thread-of-control rules, and the recovery scan protocol.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "fake_switch.h"

namespace xatm::testing {
namespace {

using fake::FakeResource;
using fake::Step;
using fake::Verb;
using Verbs = std::vector<std::string>;

Xid test_xid(std::uint8_t n) {
  const std::uint8_t gtrid[] = {'g', n};
  const std::uint8_t bqual[] = {0, 1};
  return *Xid::make(kXatmFormatId, gtrid, bqual);
}

class SwitchExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    register_fake_rm(rm_);
    ASSERT_EQ(sw_.xa_open_entry(info_.data(), kRmid, TMNOFLAGS), XA_OK);
  }
  void TearDown() override { EXPECT_EQ(sw_.xa_close_entry(info_.data(), kRmid, TMNOFLAGS), XA_OK); }

  int start(const Xid& xid, long flags = TMNOFLAGS) {
    XID c = xid.to_c();
    return sw_.xa_start_entry(&c, kRmid, flags);
  }
  int end(const Xid& xid, long flags = TMSUCCESS) {
    XID c = xid.to_c();
    return sw_.xa_end_entry(&c, kRmid, flags);
  }
  int prepare(const Xid& xid) {
    XID c = xid.to_c();
    return sw_.xa_prepare_entry(&c, kRmid, TMNOFLAGS);
  }
  int commit(const Xid& xid, long flags = TMNOFLAGS) {
    XID c = xid.to_c();
    return sw_.xa_commit_entry(&c, kRmid, flags);
  }
  int rollback(const Xid& xid) {
    XID c = xid.to_c();
    return sw_.xa_rollback_entry(&c, kRmid, TMNOFLAGS);
  }
  int connects() const {
    const std::vector<fake::Call> calls = rm_->calls();
    return static_cast<int>(std::count_if(calls.begin(), calls.end(), [](const fake::Call& c) {
      return c.verb == Verb::kConnect;
    }));
  }

  static constexpr int kRmid = 7;
  std::shared_ptr<FakeResource> rm_ = std::make_shared<FakeResource>("export");
  const xa_switch_t& sw_ = fake_xa_switch();
  std::string info_ = "rm=export";
};

TEST_F(SwitchExportTest, DescribesItselfAsAStandardSwitch) {
  EXPECT_STREQ(sw_.name, "xatm-fake");
  EXPECT_EQ(sw_.version, 0);
  EXPECT_EQ(sw_.flags, TMNOMIGRATE);  // no TMREGISTER, no TMUSEASYNC
}

TEST_F(SwitchExportTest, TwoPhaseCommitMapsEachEntryToItsVerb) {
  const Xid xid = test_xid(1);
  EXPECT_EQ(start(xid), XA_OK);
  EXPECT_EQ(end(xid), XA_OK);
  EXPECT_EQ(prepare(xid), XA_OK);
  EXPECT_EQ(commit(xid), XA_OK);
  EXPECT_EQ(rm_->verbs(), (Verbs{"start", "end", "prepare", "commit"}));
  EXPECT_TRUE(rm_->committed().contains(xid));
}

TEST_F(SwitchExportTest, OnePhaseCommitAndRollbackReachTheRm) {
  const Xid one = test_xid(2);
  const Xid two = test_xid(3);
  EXPECT_EQ(start(one), XA_OK);
  EXPECT_EQ(end(one), XA_OK);
  EXPECT_EQ(commit(one, TMONEPHASE | TMNOWAIT), XA_OK);
  EXPECT_EQ(start(two), XA_OK);
  EXPECT_EQ(end(two), XA_OK);
  EXPECT_EQ(rollback(two), XA_OK);
  EXPECT_EQ(rm_->verbs(), (Verbs{"start", "end", "commit1pc", "start", "end", "rollback"}));
}

TEST_F(SwitchExportTest, EndWithTmfailRollsBackAndSaysSo) {
  const Xid xid = test_xid(4);
  ASSERT_EQ(start(xid), XA_OK);
  EXPECT_EQ(end(xid, TMFAIL), XA_RBROLLBACK);
  EXPECT_TRUE(rm_->rolled_back().contains(xid));
  EXPECT_EQ(rm_->verbs(), (Verbs{"start", "end", "rollback"}));
  EXPECT_EQ(start(test_xid(5)), XA_OK) << "the session is free again";
  EXPECT_EQ(end(test_xid(5)), XA_OK);
  EXPECT_EQ(rollback(test_xid(5)), XA_OK);
}

TEST_F(SwitchExportTest, RmAnswersPassThrough) {
  rm_->script(Verb::kPrepare, {.code = XA_RBDEADLOCK});
  const Xid xid = test_xid(6);
  ASSERT_EQ(start(xid), XA_OK);
  ASSERT_EQ(end(xid), XA_OK);
  EXPECT_EQ(prepare(xid), XA_RBDEADLOCK);
  EXPECT_EQ(commit(test_xid(99)), XAER_NOTA);
  rm_->script(Verb::kRollback, {.code = XA_RETRY});
  EXPECT_EQ(rollback(xid), XAER_RMFAIL) << "XA_RETRY is not a standard xa_rollback answer";
  EXPECT_EQ(rollback(xid), XAER_NOTA) << "the RM rolled it back when it voted XA_RBDEADLOCK";
  const Xid next = test_xid(16);
  ASSERT_EQ(start(next), XA_OK);
  ASSERT_EQ(end(next), XA_OK);
  ASSERT_EQ(prepare(next), XA_OK);
  rm_->script(Verb::kCommit, {.code = XA_RETRY});
  EXPECT_EQ(commit(next), XA_RETRY) << "from xa_commit it is standard";
  EXPECT_EQ(commit(next), XA_OK);
}

TEST_F(SwitchExportTest, UnsupportedFlagsAreInvalid) {
  const Xid xid = test_xid(7);
  EXPECT_EQ(start(xid, TMJOIN), XAER_INVAL);
  EXPECT_EQ(start(xid, TMRESUME), XAER_INVAL);
  EXPECT_EQ(start(xid, TMASYNC), XAER_INVAL);
  ASSERT_EQ(start(xid), XA_OK);
  EXPECT_EQ(end(xid, TMSUSPEND), XAER_INVAL);
  EXPECT_EQ(end(xid, TMSUCCESS | TMMIGRATE), XAER_INVAL);
  EXPECT_EQ(end(xid), XA_OK);
  EXPECT_EQ(commit(xid, TMONEPHASE | TMASYNC), XAER_INVAL);
  EXPECT_EQ(commit(xid, TMONEPHASE), XA_OK);
  int handle = 0;
  int retval = 0;
  EXPECT_EQ(sw_.xa_complete_entry(&handle, &retval, kRmid, TMNOFLAGS), XAER_PROTO);
}

TEST_F(SwitchExportTest, NullAndMalformedXidsAreInvalid) {
  EXPECT_EQ(sw_.xa_start_entry(nullptr, kRmid, TMNOFLAGS), XAER_INVAL);
  XID malformed = test_xid(8).to_c();
  malformed.gtrid_length = 65;
  EXPECT_EQ(sw_.xa_start_entry(&malformed, kRmid, TMNOFLAGS), XAER_INVAL);
  XID null_xid = test_xid(8).to_c();
  null_xid.formatID = -1;
  EXPECT_EQ(sw_.xa_prepare_entry(&null_xid, kRmid, TMNOFLAGS), XAER_INVAL);
  EXPECT_TRUE(rm_->verbs().empty()) << "nothing reached the RM";
}

TEST_F(SwitchExportTest, OneBranchAtATimePerSessionAndNoCloseWhileAssociated) {
  const Xid xid = test_xid(9);
  ASSERT_EQ(start(xid), XA_OK);
  EXPECT_EQ(start(test_xid(10)), XAER_PROTO);
  EXPECT_EQ(sw_.xa_close_entry(info_.data(), kRmid, TMNOFLAGS), XAER_PROTO);
  EXPECT_EQ(end(xid), XA_OK);
  EXPECT_EQ(rollback(xid), XA_OK);
}

TEST_F(SwitchExportTest, OpenIsIdempotentAndVerbsNeedAnOpenRmid) {
  EXPECT_EQ(sw_.xa_open_entry(info_.data(), kRmid, TMNOFLAGS), XA_OK);
  EXPECT_EQ(connects(), 1) << "a second xa_open of an open rmid opens nothing";
  EXPECT_EQ(start(test_xid(11)), XA_OK);
  XID c = test_xid(12).to_c();
  EXPECT_EQ(sw_.xa_start_entry(&c, kRmid + 1, TMNOFLAGS), XAER_PROTO);
  EXPECT_EQ(sw_.xa_close_entry(info_.data(), kRmid + 1, TMNOFLAGS), XA_OK) << "not open: no-op";
  EXPECT_EQ(end(test_xid(11)), XA_OK);
  EXPECT_EQ(rollback(test_xid(11)), XA_OK);
}

TEST_F(SwitchExportTest, AnRmidBelongsToTheThreadThatOpenedIt) {
  int answer = 0;
  std::thread other([&] {
    XID c = test_xid(13).to_c();
    answer = sw_.xa_start_entry(&c, kRmid, TMNOFLAGS);
  });
  other.join();
  EXPECT_EQ(answer, XAER_PROTO);
  EXPECT_NE(fake_switch_state().session(kRmid), nullptr);
}

TEST_F(SwitchExportTest, BadOpenCallsAreRefused) {
  std::string unknown = "rm=nobody";
  std::string malformed = "rm";
  EXPECT_EQ(sw_.xa_open_entry(unknown.data(), 21, TMNOFLAGS), XAER_INVAL);
  EXPECT_EQ(sw_.xa_open_entry(malformed.data(), 21, TMNOFLAGS), XAER_INVAL);
  EXPECT_EQ(sw_.xa_open_entry(nullptr, 21, TMNOFLAGS), XAER_INVAL);
  EXPECT_EQ(sw_.xa_open_entry(info_.data(), 21, TMASYNC), XAER_INVAL);
  rm_->script(Verb::kConnect, {.code = XAER_RMFAIL});
  EXPECT_EQ(sw_.xa_open_entry(info_.data(), 21, TMNOFLAGS), XAER_RMFAIL);
  EXPECT_EQ(fake_switch_state().session(21), nullptr);
}

TEST_F(SwitchExportTest, ALostSessionIsReplacedAtTheNextVerb) {
  rm_->script(Verb::kStart, {.code = XAER_RMFAIL});
  EXPECT_EQ(start(test_xid(14)), XAER_RMFAIL);
  EXPECT_EQ(start(test_xid(15)), XA_OK);
  EXPECT_EQ(connects(), 2);
  EXPECT_EQ(end(test_xid(15)), XA_OK);
  EXPECT_EQ(rollback(test_xid(15)), XA_OK);
}

TEST_F(SwitchExportTest, RecoveryScanFollowsTheCursor) {
  std::vector<Xid> prepared;
  for (std::uint8_t n = 30; n < 35; ++n) {
    prepared.push_back(test_xid(n));
    rm_->prepare_detached(prepared.back());
  }
  XID batch[2];
  EXPECT_EQ(sw_.xa_recover_entry(batch, 2, kRmid, TMNOFLAGS), XAER_INVAL) << "no scan open";
  EXPECT_EQ(sw_.xa_recover_entry(batch, -1, kRmid, TMSTARTRSCAN), XAER_INVAL);
  EXPECT_EQ(sw_.xa_recover_entry(nullptr, 2, kRmid, TMSTARTRSCAN), XAER_INVAL);

  std::vector<Xid> listed;
  auto collect = [&](int count) {
    for (int i = 0; i < count; ++i) listed.push_back(*Xid::from_c(batch[i]));
  };
  int count = sw_.xa_recover_entry(batch, 2, kRmid, TMSTARTRSCAN);
  ASSERT_EQ(count, 2);
  collect(count);
  count = sw_.xa_recover_entry(batch, 2, kRmid, TMNOFLAGS);
  ASSERT_EQ(count, 2);
  collect(count);
  count = sw_.xa_recover_entry(batch, 2, kRmid, TMNOFLAGS);
  ASSERT_EQ(count, 1) << "a short batch ends the scan";
  collect(count);
  EXPECT_EQ(sw_.xa_recover_entry(batch, 2, kRmid, TMNOFLAGS), XAER_INVAL);
  EXPECT_EQ(sw_.xa_recover_entry(batch, 2, kRmid, TMENDRSCAN), 0)
      << "ending a scan that a short batch ended is not an error (LIXA does it)";
  std::sort(listed.begin(), listed.end());
  std::sort(prepared.begin(), prepared.end());
  EXPECT_EQ(listed, prepared);

  // TMENDRSCAN ends a scan early; a new TMSTARTRSCAN starts over from the first XID.
  ASSERT_EQ(sw_.xa_recover_entry(batch, 2, kRmid, TMSTARTRSCAN | TMENDRSCAN), 2);
  EXPECT_EQ(sw_.xa_recover_entry(batch, 2, kRmid, TMNOFLAGS), XAER_INVAL);
  XID all[8];
  EXPECT_EQ(sw_.xa_recover_entry(all, 8, kRmid, TMSTARTRSCAN), 5);
  for (const Xid& xid : prepared) EXPECT_EQ(rollback(xid), XA_OK);
}

}  // namespace
}  // namespace xatm::testing
