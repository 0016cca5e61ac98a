// XA RECOVER through the driver against the real MariaDB: binary XIDs come back byte for byte,
// and branches of other TMs are listed too (the caller filters by formatID and gtrid).
#include <cppconn/connection.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "mysql_test_util.h"

namespace xatm::mysql::testing {
namespace {

using internal::MysqlConnection;

// Four XIDs whose gtrids hold the byte values 0..255 between them, and whose bquals hold them
// in reverse; plus one with an empty bqual.
std::vector<Xid> binary_xids() {
  std::vector<Xid> xids;
  for (int first = 0; first < 256; first += 64) {
    std::vector<std::uint8_t> gtrid, bqual;
    for (int i = 0; i < 64; ++i) gtrid.push_back(static_cast<std::uint8_t>(first + i));
    for (int i = 63; i >= 0; --i) bqual.push_back(static_cast<std::uint8_t>(first + i));
    xids.push_back(*Xid::make(kTestFormatId, gtrid, bqual));
  }
  const std::vector<std::uint8_t> nul_quote_backslash = {0, '\'', '\\', 0, '"', 0x80, 0xff};
  xids.push_back(*Xid::make(kTestFormatId, nul_quote_backslash, {}));
  return xids;
}

TEST_F(MysqlTest, RecoverReturnsBinaryXidsByteForByte) {
  const std::vector<Xid> xids = binary_xids();
  std::vector<std::unique_ptr<MysqlConnection>> sessions;
  for (const Xid& xid : xids) {
    sessions.push_back(open_session(*resource_));
    ASSERT_NE(sessions.back(), nullptr);
    ASSERT_EQ(sessions.back()->start(xid).code, XA_OK) << xid.to_string();
    ASSERT_EQ(sessions.back()->end(xid).code, XA_OK);
    ASSERT_EQ(sessions.back()->prepare(xid).code, XA_OK);
  }
  const std::vector<Xid> listed = recovered(*resource_);
  for (const Xid& xid : xids) {
    EXPECT_NE(std::find(listed.begin(), listed.end(), xid), listed.end()) << xid.to_string();
  }
  // The recovered values address the branches: the server finds each of them again.
  for (std::size_t i = 0; i < xids.size(); ++i) {
    auto it = std::find(listed.begin(), listed.end(), xids[i]);
    ASSERT_NE(it, listed.end());
    EXPECT_EQ(sessions[i]->rollback(*it).code, XA_OK);
  }
  for (const Xid& xid : xids) EXPECT_FALSE(is_listed(*resource_, xid));
}

TEST_F(MysqlTest, RecoverListsOtherFormatIdsForTheCallerToFilter) {
  // Another TM's branch, made by hand with a quoted (not hex) XID.
  std::unique_ptr<sql::Connection> other_tm = plain_connection();
  ASSERT_FALSE(run(*other_tm, "XA START 'foreign-tm', 'b', " + std::to_string(kForeignFormatId)));
  ASSERT_FALSE(run(*other_tm, "XA END 'foreign-tm', 'b', " + std::to_string(kForeignFormatId)));
  ASSERT_FALSE(run(*other_tm, "XA PREPARE 'foreign-tm', 'b', " + std::to_string(kForeignFormatId)));
  const std::string gtrid = "foreign-tm";
  const std::string bqual = "b";
  const Xid foreign = *Xid::make(
      kForeignFormatId, {reinterpret_cast<const std::uint8_t*>(gtrid.data()), gtrid.size()},
      {reinterpret_cast<const std::uint8_t*>(bqual.data()), bqual.size()});

  std::unique_ptr<MysqlConnection> session = open_session(*resource_);
  ASSERT_NE(session, nullptr);
  XaConnection::Recovered result = session->recover();
  ASSERT_TRUE(result.reply.ok()) << result.reply.detail;
  EXPECT_TRUE(result.reply.detail.empty()) << result.reply.detail;  // nothing skipped
  EXPECT_NE(std::find(result.xids.begin(), result.xids.end(), foreign), result.xids.end());
  EXPECT_FALSE(
      run(*other_tm, "XA ROLLBACK 'foreign-tm', 'b', " + std::to_string(kForeignFormatId)));
}

TEST_F(MysqlTest, RecoverWorksOnASessionThatHoldsABranch) {
  const Xid xid = test_xid();
  std::unique_ptr<MysqlConnection> session = open_session(*resource_);
  ASSERT_NE(session, nullptr);
  ASSERT_EQ(session->start(xid).code, XA_OK);
  ASSERT_EQ(session->end(xid).code, XA_OK);
  ASSERT_EQ(session->prepare(xid).code, XA_OK);
  XaConnection::Recovered result = session->recover();
  ASSERT_TRUE(result.reply.ok()) << result.reply.detail;
  EXPECT_NE(std::find(result.xids.begin(), result.xids.end(), xid), result.xids.end());
  EXPECT_EQ(session->commit(xid, false).code, XA_OK);
}

}  // namespace
}  // namespace xatm::mysql::testing
