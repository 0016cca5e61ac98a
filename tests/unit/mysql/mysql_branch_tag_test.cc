// The branch tag that names a branch's preparing session (mysql_branch_tag.h). Needs no server.
#include "mysql_branch_tag.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "mysql_xid_sql.h"

namespace xatm::mysql::internal {
namespace {

std::vector<std::uint8_t> bytes(std::string_view text) { return {text.begin(), text.end()}; }

Xid xatm_global() {
  Result<Xid> xid = Xid::make(kXatmFormatId, bytes("gtrid"), {});
  EXPECT_TRUE(xid.ok());
  return *xid;
}

TEST(MysqlBranchTagTest, TheDocumentedLayoutRoundTripsThroughTheXid) {
  const BranchHolder holder{.server_started = 0x6789abcd, .connection_id = 0x0102030405060708};
  const std::vector<std::uint8_t> tag = encode_branch_tag(holder);
  const Xid xid = xatm_global().branch(7, tag);
  EXPECT_EQ(xid.to_string(), "2019652717:6774726964:0007" "4d" "6789abcd" "0102030405060708");
  EXPECT_EQ(decode_branch_tag(xid), holder);
  EXPECT_EQ(*decode_branch_index(xid), 7);
}

TEST(MysqlBranchTagTest, TheTagSurvivesXaRecover) {
  // What recovery sees is the XID that XA RECOVER returns, decoded from its row.
  const Xid xid = xatm_global().branch(1, encode_branch_tag({.server_started = 1, .connection_id = 99}));
  const std::string data(reinterpret_cast<const char*>(xid.gtrid().data()), xid.gtrid().size());
  const std::string bqual(reinterpret_cast<const char*>(xid.bqual().data()), xid.bqual().size());
  Result<Xid> recovered = decode_recover_row(
      {kXatmFormatId, static_cast<std::int64_t>(data.size()), static_cast<std::int64_t>(bqual.size()),
       data + bqual});
  ASSERT_TRUE(recovered.ok()) << recovered.status().to_string();
  EXPECT_EQ(decode_branch_tag(*recovered), (BranchHolder{1, 99}));
}

TEST(MysqlBranchTagTest, XidsWithoutTheTagNameNoSession) {
  const std::vector<std::uint8_t> tag = encode_branch_tag({.server_started = 5, .connection_id = 6});
  EXPECT_EQ(decode_branch_tag(xatm_global().branch(0)), std::nullopt) << "an older xatm's XID";
  std::vector<std::uint8_t> other_layout = tag;
  other_layout[0] = 'P';
  EXPECT_EQ(decode_branch_tag(xatm_global().branch(0, other_layout)), std::nullopt);
  std::vector<std::uint8_t> short_tag(tag.begin(), tag.end() - 1);
  EXPECT_EQ(decode_branch_tag(xatm_global().branch(0, short_tag)), std::nullopt);
  Result<Xid> foreign = Xid::make(1, bytes("gtrid"), bytes(std::string("\0\0", 2) +
                                                          std::string(tag.begin(), tag.end())));
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(decode_branch_tag(*foreign), std::nullopt) << "another TM's XID is never read";
}

TEST(MysqlBranchTagTest, StartTimesWithinTwoSecondsAreOneRunOfTheServer) {
  EXPECT_TRUE(same_server_run(1000, 1000));
  EXPECT_TRUE(same_server_run(1000, 1002));
  EXPECT_TRUE(same_server_run(1002, 1000));
  EXPECT_FALSE(same_server_run(1000, 1003));
  EXPECT_FALSE(same_server_run(1003, 1000));
  EXPECT_FALSE(same_server_run(0, 0xffffffff));
}

}  // namespace
}  // namespace xatm::mysql::internal
