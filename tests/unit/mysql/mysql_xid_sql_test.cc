// XID literals and XA RECOVER row decoding. Needs no server.
#include "mysql_xid_sql.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace xatm::mysql::internal {
namespace {

std::vector<std::uint8_t> bytes(std::string_view text) { return {text.begin(), text.end()}; }

Xid make(std::int64_t format_id, std::string_view gtrid, std::string_view bqual) {
  Result<Xid> xid = Xid::make(format_id, bytes(gtrid), bytes(bqual));
  EXPECT_TRUE(xid.ok()) << xid.status().to_string();
  return *xid;
}

TEST(MysqlXidSql, LiteralIsHexAndUnsignedDecimal) {
  using namespace std::string_literals;
  EXPECT_EQ(*xid_literal(make(4660, "\x00\xff\x0a'"s, "\\\x00"s)), "X'00ff0a27',X'5c00',4660");
  EXPECT_EQ(*xid_literal(make(0, "g", "")), "X'67',X'',0");
  EXPECT_EQ(*xid_literal(make(kMaxSqlFormatId, "g", "b")), "X'67',X'62',2147483647");
}

TEST(MysqlXidSql, LiteralOfTheLongestParts) {
  const Xid xid = make(1, std::string(64, 'a'), std::string(64, 'b'));
  Result<std::string> literal = xid_literal(xid);
  ASSERT_TRUE(literal.ok());
  EXPECT_EQ(literal->size(), 2 + 128 + 4 + 128 + 2 + 1);
}

TEST(MysqlXidSql, DecodeSplitsByLengthsKeepingNuls) {
  using namespace std::string_literals;
  const RecoverRow row{4660, 4, 2, "\x00\xff\x0a'\\\x00"s};
  Result<Xid> xid = decode_recover_row(row);
  ASSERT_TRUE(xid.ok()) << xid.status().to_string();
  EXPECT_EQ(*xid, make(4660, "\x00\xff\x0a'"s, "\\\x00"s));
}

TEST(MysqlXidSql, DecodeEmptyBqual) {
  Result<Xid> xid = decode_recover_row(RecoverRow{1, 3, 0, "abc"});
  ASSERT_TRUE(xid.ok());
  EXPECT_TRUE(xid->bqual().empty());
}

TEST(MysqlXidSql, UndecodableRowsAreErrorsNamingTheRow) {
  const std::vector<RecoverRow> bad = {
      {1, 0, 0, ""},                     // empty gtrid
      {1, 65, 0, std::string(65, 'g')},  // gtrid too long
      {1, 1, 65, std::string(66, 'g')},  // bqual too long
      {1, -1, 2, "a"},                   // negative length
      {1, 2, 2, "abc"},                  // data shorter than the lengths
      {1, 1, 1, "abc"},                  // data longer than the lengths
      {-1, 1, 0, "a"},                   // the null XID's formatID
      {2147483648LL, 1, 0, "a"},         // formatID outside 32 bits signed
  };
  for (const RecoverRow& row : bad) {
    Result<Xid> xid = decode_recover_row(row);
    ASSERT_FALSE(xid.ok()) << row.format_id << " " << row.gtrid_length << " " << row.bqual_length;
    EXPECT_EQ(xid.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(xid.status().message().find("XA RECOVER row"), std::string::npos);
  }
}

TEST(MysqlXidSql, RoundTripOfEveryByteValue) {
  for (int first = 0; first < 256; first += 64) {
    std::string gtrid, bqual;
    for (int i = 0; i < 64; ++i) gtrid += static_cast<char>(first + i);
    for (int i = 63; i >= 0; --i) bqual += static_cast<char>(first + i);
    const Xid xid = make(first, gtrid, bqual);
    Result<Xid> back = decode_recover_row(RecoverRow{first, 64, 64, gtrid + bqual});
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, xid);
  }
}

}  // namespace
}  // namespace xatm::mysql::internal
