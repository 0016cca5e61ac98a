// The gid form (pg_gid.h): pgjdbc-compatible encoding and its strict inverse. No server needed.
#include "pg_gid.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace xatm::postgresql::internal {
namespace {

Xid make_xid(std::int64_t format_id, std::vector<std::uint8_t> gtrid,
             std::vector<std::uint8_t> bqual) {
  Result<Xid> xid = Xid::make(format_id, gtrid, bqual);
  EXPECT_TRUE(xid.ok()) << xid.status().to_string();
  return *xid;
}

TEST(PgGidTest, EncodesTheDocumentedExample) {
  // docs/xid.md: node orders-1, created 1700000000123 ms, timeout 60 s, sequence 42, branch 1.
  Result<Xid> xid =
      Xid::parse("2019652717:01086f72646572732d310000018bcfe5687b0000ea60000000000000002a:0001");
  ASSERT_TRUE(xid.ok());
  Result<std::string> gid = encode_gid(*xid);
  ASSERT_TRUE(gid.ok());
  EXPECT_EQ(*gid, "2019652717_AQhvcmRlcnMtMQAAAYvP5Wh7AADqYAAAAAAAAAAq_AAE=");
}

TEST(PgGidTest, EmptyBqualLeavesATrailingUnderscore) {
  const Xid xid = make_xid(0, {'a', 'b', 'c'}, {});
  EXPECT_EQ(*encode_gid(xid), "0_YWJj_");
  Result<Xid> back = decode_gid("0_YWJj_");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, xid);
}

TEST(PgGidTest, EveryByteValueRoundTrips) {
  for (int start = 0; start < 256; start += 64) {
    std::vector<std::uint8_t> gtrid, bqual;
    for (int i = 0; i < 64; ++i) gtrid.push_back(static_cast<std::uint8_t>(start + i));
    for (int i = 63; i >= 0; --i) bqual.push_back(static_cast<std::uint8_t>(start + i));
    const Xid xid = make_xid(Xid::kMaxFormatId, gtrid, bqual);
    Result<std::string> gid = encode_gid(xid);
    ASSERT_TRUE(gid.ok());
    EXPECT_LE(gid->size(), kMaxGidSize);
    EXPECT_TRUE(gid_literal(*gid).ok()) << *gid;
    Result<Xid> back = decode_gid(*gid);
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(*back, xid);
  }
}

TEST(PgGidTest, LongestGidFitsPostgresqlsLimit) {
  const Xid xid = make_xid(Xid::kMaxFormatId, std::vector<std::uint8_t>(64, 0xff),
                           std::vector<std::uint8_t>(64, 0xff));
  EXPECT_EQ(encode_gid(xid)->size(), 10u + 1 + 88 + 1 + 88);
}

TEST(PgGidTest, Base64PaddingForEveryRemainder) {
  const std::vector<std::uint8_t> bytes = {0x00, 0xff, 0x0a, 0x27};
  EXPECT_EQ(base64_encode(std::span(bytes).first(1)), "AA==");
  EXPECT_EQ(base64_encode(std::span(bytes).first(2)), "AP8=");
  EXPECT_EQ(base64_encode(std::span(bytes).first(3)), "AP8K");
  EXPECT_EQ(base64_encode(bytes), "AP8KJw==");
  EXPECT_EQ(*base64_decode("AP8KJw=="), bytes);
  EXPECT_TRUE(base64_decode("")->empty());
}

TEST(PgGidTest, Base64DecodingIsStrict) {
  for (const char* bad :
       {"A", "AA=", "AA=A", "A===", "AP8K=w==", "AB==", "AP9=", "AP8*", "AP8-", "AP8K\n", " AP8"}) {
    EXPECT_FALSE(base64_decode(bad).ok()) << bad;
  }
}

TEST(PgGidTest, MalformedGidsAreRejectedWithTheGidQuoted) {
  const std::vector<std::string> bad = {
      "",                                     // nothing
      "foo",                                  // another application's gid
      "1_YWJj",                               // one '_'
      "1_YW_Jj_",                             // three '_'
      "01_YWJj_",                             // leading zero
      "+1_YWJj_",                             // sign
      "-1_YWJj_",                             // negative formatID (pgjdbc allows it, Xid does not)
      "2147483648_YWJj_",                     // formatID out of range
      "12345678901_YWJj_",                    // too many digits
      "1__",                                  // empty gtrid
      "1_YWJ_",                               // bad base64 length
      "1_YWJk_AB==",                          // non-canonical padding bits
      "1_YW!j_",                              // outside the alphabet
      "x_YWJj_",                              // formatID not decimal
      std::string(200, '1'),                  // too long
      "1_" + std::string(88, 'A') + "AAAA_",  // gtrid of 67 bytes
  };
  for (const std::string& gid : bad) {
    Result<Xid> xid = decode_gid(gid);
    ASSERT_FALSE(xid.ok()) << gid;
    EXPECT_EQ(xid.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(xid.status().message().find("gid '"), std::string::npos) << xid.status().message();
  }
}

TEST(PgGidTest, MessagesEscapeHostileText) {
  Result<Xid> xid = decode_gid(std::string("a'b\\c\x01\n", 7));
  ASSERT_FALSE(xid.ok());
  EXPECT_NE(xid.status().message().find("a\\x27b\\x5cc\\x01\\x0a"), std::string::npos)
      << xid.status().message();
  EXPECT_EQ(escape_for_message(std::string(300, 'x')).size(),
            200u + std::string("...(300 bytes)").size());
}

TEST(PgGidTest, LiteralRefusesCharactersThatWouldNeedEscaping) {
  EXPECT_EQ(*gid_literal("1_YWJj_"), "'1_YWJj_'");
  for (const char* bad : {"1_'; DROP TABLE t; --", "a\\b", "a b", "ä"}) {
    EXPECT_FALSE(gid_literal(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace xatm::postgresql::internal
