// xa_recover on PostgreSQL: binary XIDs round-trip through the gid, other applications' gids
// are skipped and reported, and only the branches this role can finish are listed.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <algorithm>

#include "pg_test_util.h"
#include "xatm/xa.h"

namespace xatm::postgresql::testing {
namespace {

using PgRecoverTest = PgTest;

bool contains(const std::vector<Xid>& xids, const Xid& xid) {
  return std::find(xids.begin(), xids.end(), xid) != xids.end();
}

// PREPARE TRANSACTION with any gid, outside the driver.
void prepare_raw(PlainConnection& plain, const std::string& gid) {
  ASSERT_TRUE(plain.exec("BEGIN").ok());
  ASSERT_TRUE(plain.exec("SELECT txid_current()").ok());
  char* literal = PQescapeLiteral(plain.get(), gid.c_str(), gid.size());
  const Status prepared = plain.exec(std::string("PREPARE TRANSACTION ") + literal);
  PQfreemem(literal);
  ASSERT_TRUE(prepared.ok()) << prepared.to_string();
}

TEST_F(PgRecoverTest, BinaryXidsWithEveryByteValueRoundTrip) {
  std::unique_ptr<XaConnection> session = open_session();
  ASSERT_NE(session, nullptr);
  std::vector<Xid> xids;
  for (int first = 0; first < 256; first += 128) {
    std::vector<std::uint8_t> gtrid, bqual;
    for (int i = 0; i < 64; ++i) gtrid.push_back(static_cast<std::uint8_t>(first + i));
    for (int i = 64; i < 128; ++i) bqual.push_back(static_cast<std::uint8_t>(first + i));
    Result<Xid> xid = Xid::make(first == 0 ? 0 : Xid::kMaxFormatId, gtrid, bqual);
    ASSERT_TRUE(xid.ok());
    ASSERT_TRUE(is_xa(session->start(*xid), XA_OK));
    ASSERT_TRUE(run(*session, "SELECT txid_current()").ok());
    ASSERT_TRUE(is_xa(session->end(*xid), XA_OK));
    ASSERT_TRUE(is_xa(session->prepare(*xid), XA_OK));
    xids.push_back(*xid);
  }
  std::unique_ptr<XaConnection> recovery = open_session();
  XaConnection::Recovered recovered = recovery->recover();
  ASSERT_TRUE(is_xa(recovered.reply, XA_OK));
  EXPECT_TRUE(recovered.reply.detail.empty()) << recovered.reply.detail;
  ASSERT_EQ(recovered.xids.size(), 2u);
  for (const Xid& xid : xids) {
    EXPECT_TRUE(contains(recovered.xids, xid)) << xid.to_string();
    EXPECT_TRUE(is_xa(recovery->rollback(xid), XA_OK));  // the decoded XID finds its branch
  }
}

TEST_F(PgRecoverTest, GidsOfOtherFormatsAreSkippedAndReported) {
  PlainConnection plain;
  const std::vector<std::string> foreign = {"foo",
                                            "1_YWJj",
                                            "-5_YWJj_",
                                            "01_YWJj_",
                                            "7_YW!j_",
                                            "2019652717_AAAA_AB==",
                                            std::string("ctl\x01_x_y")};
  for (const std::string& gid : foreign) prepare_raw(plain, gid);
  prepare_raw(plain, "77_YWJj_ZGVm");  // pgjdbc form with another formatID: decoded, listed
  std::unique_ptr<XaConnection> session = open_session();
  ASSERT_NE(session, nullptr);
  const Xid ours = fresh_xid();
  ASSERT_TRUE(is_xa(session->start(ours), XA_OK));
  ASSERT_TRUE(run(*session, "UPDATE t SET balance = 1 WHERE id = 1").ok());
  ASSERT_TRUE(is_xa(session->end(ours), XA_OK));
  ASSERT_TRUE(is_xa(session->prepare(ours), XA_OK));

  XaConnection::Recovered recovered = session->recover();
  ASSERT_TRUE(is_xa(recovered.reply, XA_OK));
  const std::vector<std::uint8_t> abc = {'a', 'b', 'c'}, def = {'d', 'e', 'f'};
  EXPECT_EQ(recovered.xids.size(), 2u);
  EXPECT_TRUE(contains(recovered.xids, ours));
  EXPECT_TRUE(contains(recovered.xids, *Xid::make(77, abc, def)));
  EXPECT_NE(recovered.reply.detail.find("skipped 7"), std::string::npos) << recovered.reply.detail;
  EXPECT_NE(recovered.reply.detail.find("'foo'"), std::string::npos) << recovered.reply.detail;
  EXPECT_NE(recovered.reply.detail.find("ctl\\x01_x_y"), std::string::npos)
      << recovered.reply.detail;
  // The one that names xatm's formatID may be a branch of ours written in another form: a TM
  // must be able to tell.
  int of_our_format = 0;
  for (const XaConnection::Unusable& entry : recovered.unusable) {
    if (entry.format_id != kXatmFormatId) continue;
    ++of_our_format;
    EXPECT_EQ(entry.text, "2019652717_AAAA_AB==");
    EXPECT_FALSE(entry.xid.has_value());
    EXPECT_NE(entry.why.find("does not decode"), std::string::npos) << entry.why;
  }
  EXPECT_EQ(of_our_format, 1);
  EXPECT_TRUE(is_xa(session->rollback(ours), XA_OK));
  roll_back_all_prepared();
}

TEST_F(PgRecoverTest, BranchesOfOtherRolesAreNotListedUnlessSuperuser) {
  PlainConnection admin(superuser_conninfo());
  const Xid theirs = fresh_xid();
  prepare_raw(admin, gid_of(theirs));  // owned by postgres
  XaConnection::Recovered as_owner = open_session()->recover();
  ASSERT_TRUE(is_xa(as_owner.reply, XA_OK));
  EXPECT_FALSE(contains(as_owner.xids, theirs)) << "role xatm could not finish it (42501)";
  const auto unusable = std::find_if(as_owner.unusable.begin(), as_owner.unusable.end(),
                                     [&](const XaConnection::Unusable& entry) { return entry.xid == theirs; });
  ASSERT_NE(unusable, as_owner.unusable.end()) << "listed as a branch this session cannot finish";
  EXPECT_NE(unusable->why.find("owned by role 'postgres'"), std::string::npos) << unusable->why;
  XaConnection::Recovered as_superuser = open_session(superuser_conninfo())->recover();
  ASSERT_TRUE(is_xa(as_superuser.reply, XA_OK));
  EXPECT_TRUE(contains(as_superuser.xids, theirs));
  roll_back_all_prepared();
}

TEST_F(PgRecoverTest, RecoverWithABranchOpenStillWorksButNotInAFailedTransaction) {
  std::unique_ptr<XaConnection> session = open_session();
  ASSERT_NE(session, nullptr);
  const Xid xid = fresh_xid();
  ASSERT_TRUE(is_xa(session->start(xid), XA_OK));
  EXPECT_TRUE(is_xa(session->recover().reply, XA_OK));
  EXPECT_EQ(failing_sqlstate(*session, "SELECT 1/0"), "22012");
  EXPECT_TRUE(is_xa(session->recover().reply, XAER_PROTO));
  EXPECT_TRUE(is_xa(session->end(xid), XA_RBROLLBACK));
}

// PostgreSQL names prepared transactions per cluster and finishes them per database: a branch
// in another database (a data source whose conninfo names the wrong one) is listed as one this
// session cannot finish, so that recovery never reads "no branch left" there.
TEST_F(PgRecoverTest, BranchesInAnotherDatabaseAreListedAsUnusable) {
  PlainConnection admin(superuser_conninfo());
  if (admin.integer("SELECT count(*) FROM pg_database WHERE datname = 'xatm_test_other'") == 0) {
    ASSERT_TRUE(admin.exec("CREATE DATABASE xatm_test_other").ok());
  }
  const Xid elsewhere = fresh_xid();
  {
    PlainConnection other(superuser_conninfo() + " dbname=xatm_test_other");
    prepare_raw(other, gid_of(elsewhere));
  }
  XaConnection::Recovered recovered = open_session(superuser_conninfo())->recover();
  PlainConnection other(superuser_conninfo() + " dbname=xatm_test_other");
  EXPECT_TRUE(other.exec("ROLLBACK PREPARED '" + gid_of(elsewhere) + "'").ok());
  ASSERT_TRUE(is_xa(recovered.reply, XA_OK));
  EXPECT_FALSE(contains(recovered.xids, elsewhere));
  const auto unusable = std::find_if(recovered.unusable.begin(), recovered.unusable.end(),
                                     [&](const XaConnection::Unusable& entry) { return entry.xid == elsewhere; });
  ASSERT_NE(unusable, recovered.unusable.end());
  EXPECT_EQ(unusable->format_id, elsewhere.format_id());
  EXPECT_NE(unusable->why.find("prepared in database 'xatm_test_other'"), std::string::npos) << unusable->why;
}

}  // namespace
}  // namespace xatm::postgresql::testing
