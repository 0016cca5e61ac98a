#include "xatm/xid.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

namespace xatm {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;
using ::testing::HasSubstr;

std::vector<std::uint8_t> bytes(std::string_view text) { return {text.begin(), text.end()}; }

std::vector<std::uint8_t> filled(std::size_t size, std::uint8_t value) {
  return std::vector<std::uint8_t>(size, value);
}

Xid must_make(std::int64_t format_id, std::span<const std::uint8_t> gtrid,
              std::span<const std::uint8_t> bqual) {
  Result<Xid> xid = Xid::make(format_id, gtrid, bqual);
  EXPECT_TRUE(xid.ok()) << xid.status().to_string();
  return *xid;
}

Xid must_parse(std::string_view text) {
  Result<Xid> xid = Xid::parse(text);
  EXPECT_TRUE(xid.ok()) << xid.status().to_string();
  return *xid;
}

// Expects kInvalidArgument with every one of `fragments` in the message.
template <typename T>
void expect_invalid(const Result<T>& result, std::initializer_list<std::string_view> fragments) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  for (const std::string_view fragment : fragments) {
    EXPECT_THAT(result.status().message(), HasSubstr(std::string(fragment)));
  }
}

void expect_parse_rejected(std::string_view text,
                           std::initializer_list<std::string_view> fragments) {
  SCOPED_TRACE(std::string(text));
  expect_invalid(Xid::parse(text), fragments);
}

GtridInfo sample_info() {
  GtridInfo info;
  info.node_name = "orders-1";
  info.created = system_clock::time_point(milliseconds(1700000000123));
  info.timeout = milliseconds(60000);
  info.sequence = 42;
  return info;
}

// --- make and accessors -------------------------------------------------------------------

TEST(XidMakeTest, AccessorsReturnTheParts) {
  const Xid xid = must_make(5, bytes("ab"), bytes("c"));
  EXPECT_EQ(xid.format_id(), 5);
  EXPECT_EQ(std::vector<std::uint8_t>(xid.gtrid().begin(), xid.gtrid().end()), bytes("ab"));
  EXPECT_EQ(std::vector<std::uint8_t>(xid.bqual().begin(), xid.bqual().end()), bytes("c"));
}

TEST(XidMakeTest, AcceptsTheLimits) {
  EXPECT_TRUE(Xid::make(0, bytes("g"), {}).ok());
  EXPECT_TRUE(Xid::make(Xid::kMaxFormatId, filled(64, 1), filled(64, 2)).ok());
}

TEST(XidMakeTest, RejectsFormatIdOutOfRange) {
  expect_invalid(Xid::make(-1, bytes("g"), {}), {"formatID -1", "0..2147483647"});
  expect_invalid(Xid::make(2147483648LL, bytes("g"), {}), {"formatID 2147483648"});
}

TEST(XidMakeTest, RejectsBadLengths) {
  expect_invalid(Xid::make(1, {}, {}), {"gtrid is empty"});
  expect_invalid(Xid::make(1, filled(65, 0), {}), {"gtrid of 65 bytes", "64"});
  expect_invalid(Xid::make(1, bytes("g"), filled(65, 0)), {"bqual of 65 bytes", "64"});
}

// --- text form ----------------------------------------------------------------------------

TEST(XidTextTest, FormatsLowercaseHex) {
  EXPECT_EQ(must_make(5, bytes("ab"), {}).to_string(), "5:6162:");
  EXPECT_EQ(must_make(kXatmFormatId, std::vector<std::uint8_t>{0x00, 0xAB, 0xff},
                      std::vector<std::uint8_t>{0x00, 0x01})
                .to_string(),
            "2019652717:00abff:0001");
}

TEST(XidTextTest, RoundTripsEveryByteValue) {
  std::vector<std::uint8_t> all(256);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>(i);
  for (std::size_t offset = 0; offset < all.size(); offset += 64) {
    const std::span<const std::uint8_t> gtrid(all.data() + offset, 64);
    const std::span<const std::uint8_t> bqual(all.data() + (all.size() - 64 - offset), 64);
    const Xid xid = must_make(123, gtrid, bqual);
    EXPECT_EQ(must_parse(xid.to_string()), xid);
  }
}

TEST(XidTextTest, RoundTripsEmptyBqualAndMaximalParts) {
  for (const Xid& xid : {must_make(0, bytes("g"), {}),
                         must_make(Xid::kMaxFormatId, filled(64, 0xff), filled(64, 0x00)),
                         must_make(7, filled(64, 0x5c), {})}) {
    EXPECT_EQ(must_parse(xid.to_string()), xid) << xid.to_string();
  }
}

TEST(XidTextTest, AcceptsUppercaseHex) {
  const Xid xid = must_parse("7:ABcdEF:0A");
  EXPECT_EQ(xid, must_make(7, std::vector<std::uint8_t>{0xab, 0xcd, 0xef},
                           std::vector<std::uint8_t>{0x0a}));
  EXPECT_EQ(xid.to_string(), "7:abcdef:0a");
}

TEST(XidTextTest, RejectsWrongNumberOfParts) {
  expect_parse_rejected("", {"1 ':'-separated parts", "expected 3"});
  expect_parse_rejected("5", {"'5'", "1 ':'-separated parts"});
  expect_parse_rejected("5:6162", {"'5:6162'", "2 ':'-separated parts"});
  expect_parse_rejected("5:61:62:63", {"'5:61:62:63'", "4 ':'-separated parts"});
  expect_parse_rejected("::::", {"5 ':'-separated parts"});
}

TEST(XidTextTest, RejectsBadFormatId) {
  expect_parse_rejected(":61:", {"formatID is empty"});
  expect_parse_rejected("-1:61:", {"formatID '-1'", "not a decimal number"});
  expect_parse_rejected("+5:61:", {"formatID '+5'", "not a decimal number"});
  expect_parse_rejected(" 5:61:", {"formatID ' 5'"});
  expect_parse_rejected("5 :61:", {"formatID '5 '", "not a decimal number"});
  expect_parse_rejected("0x10:61:", {"formatID '0x10'", "not a decimal number"});
  expect_parse_rejected("abc:61:", {"formatID 'abc'"});
  expect_parse_rejected("2147483648:61:", {"formatID '2147483648'", "outside 0..2147483647"});
  expect_parse_rejected("99999999999999999999999:61:",
                        {"formatID '99999999999999999999999'", "outside"});
}

TEST(XidTextTest, AcceptsTheFormatIdLimits) {
  EXPECT_EQ(must_parse("0:61:").format_id(), 0);
  EXPECT_EQ(must_parse("2147483647:61:").format_id(), 2147483647);
}

TEST(XidTextTest, RejectsBadGtrid) {
  expect_parse_rejected("5::", {"gtrid is empty"});
  expect_parse_rejected("5:616:", {"gtrid", "odd number of digits", "'616'"});
  expect_parse_rejected("5:61zz:", {"gtrid", "non-hex character 'z' at offset 2"});
  expect_parse_rejected("5:61 62:", {"gtrid", "non-hex character ' '"});
  expect_parse_rejected("5:" + std::string(130, 'a') + ":", {"gtrid of 130 hex digits", "64"});
}

TEST(XidTextTest, RejectsBadBqual) {
  expect_parse_rejected("5:61:0", {"bqual", "odd number of digits"});
  expect_parse_rejected("5:61:g0", {"bqual", "non-hex character 'g' at offset 0"});
  expect_parse_rejected("5:61:" + std::string(130, 'b'), {"bqual of 130 hex digits", "64"});
}

TEST(XidTextTest, MessageQuotesTheWholeText) {
  expect_parse_rejected("5:61:0", {"XID text '5:61:0'"});
}

TEST(XidTextTest, MessageEscapesControlBytesAndTruncatesHugeInput) {
  const std::string huge = "5:" + std::string(100000, '\x01');
  Result<Xid> xid = Xid::parse(huge);
  ASSERT_FALSE(xid.ok());
  EXPECT_EQ(xid.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(xid.status().message(), HasSubstr("\\x01"));
  EXPECT_THAT(xid.status().message(), HasSubstr("(100002 bytes)"));
  EXPECT_LT(xid.status().message().size(), 2000U);
  EXPECT_EQ(xid.status().message().find('\x01'), std::string::npos);
}

// --- hex ----------------------------------------------------------------------------------

TEST(HexTest, RoundTrips) {
  const std::vector<std::uint8_t> data{0x00, 0x7f, 0x80, 0xff};
  EXPECT_EQ(to_hex(data), "007f80ff");
  Result<std::vector<std::uint8_t>> back = from_hex("007F80fF");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
  EXPECT_EQ(to_hex({}), "");
  EXPECT_TRUE(from_hex("").ok());
}

TEST(HexTest, RejectsMalformedHex) {
  expect_invalid(from_hex("abc"), {"'abc'", "odd number of digits (3)"});
  expect_invalid(from_hex("0g"), {"'0g'", "non-hex character 'g' at offset 1"});
  expect_invalid(from_hex("-1"), {"non-hex character '-' at offset 0"});
}

// --- C ABI --------------------------------------------------------------------------------

XID c_xid(long format_id, long gtrid_length, long bqual_length) {
  XID xid{};
  xid.formatID = format_id;
  xid.gtrid_length = gtrid_length;
  xid.bqual_length = bqual_length;
  for (std::size_t i = 0; i < XIDDATASIZE; ++i) xid.data[i] = static_cast<char>(i);
  return xid;
}

TEST(XidCTest, RoundTrips) {
  for (const Xid& xid : {must_make(kXatmFormatId, filled(64, 0xee), filled(64, 0x00)),
                         must_make(0, bytes("g"), {}), must_make(9, bytes("gtrid"), bytes("bq"))}) {
    const XID c = xid.to_c();
    EXPECT_EQ(c.formatID, xid.format_id());
    EXPECT_EQ(static_cast<std::size_t>(c.gtrid_length), xid.gtrid().size());
    EXPECT_EQ(static_cast<std::size_t>(c.bqual_length), xid.bqual().size());
    Result<Xid> back = Xid::from_c(c);
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(*back, xid);
  }
}

TEST(XidCTest, ReadsTheDataSplitByLengths) {
  Result<Xid> xid = Xid::from_c(c_xid(4660, 3, 2));
  ASSERT_TRUE(xid.ok());
  EXPECT_EQ(xid->to_string(), "4660:000102:0304");
}

TEST(XidCTest, RejectsMalformed) {
  expect_invalid(Xid::from_c(c_xid(-1, 1, 0)), {"null XID", "-1"});
  expect_invalid(Xid::from_c(c_xid(-2, 1, 0)), {"formatID -2"});
  expect_invalid(Xid::from_c(c_xid(2147483648L, 1, 0)), {"formatID 2147483648"});
  expect_invalid(Xid::from_c(c_xid(1, -1, 0)), {"negative gtrid_length -1"});
  expect_invalid(Xid::from_c(c_xid(1, 1, -5)), {"negative bqual_length -5"});
  expect_invalid(Xid::from_c(c_xid(1, 0, 0)), {"gtrid is empty"});
  expect_invalid(Xid::from_c(c_xid(1, 65, 0)), {"gtrid of 65 bytes"});
  expect_invalid(Xid::from_c(c_xid(1, 64, 65)), {"bqual of 65 bytes"});
  expect_invalid(Xid::from_c(c_xid(1, 1L << 40, 0)), {"gtrid of"});
}

// --- branches -----------------------------------------------------------------------------

TEST(XidBranchTest, BranchAndGlobal) {
  const Xid global = must_make(kXatmFormatId, bytes("gtrid"), {});
  const Xid b0 = global.branch(0);
  const Xid b258 = global.branch(258);
  EXPECT_EQ(b258.to_string(), "2019652717:6774726964:0102");
  EXPECT_TRUE(b0.same_global(b258));
  EXPECT_TRUE(b0.same_global(global));
  EXPECT_NE(b0, b258);
  EXPECT_EQ(b258.global(), global);
  EXPECT_EQ(global.global(), global);
  EXPECT_EQ(b258.global().branch(7), global.branch(7));
  EXPECT_EQ(b258.branch(3), global.branch(3));  // replaces, does not append to, the bqual

  Result<std::uint16_t> index = decode_branch_index(b258);
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(*index, 258);
  Result<std::uint16_t> last = decode_branch_index(global.branch(65535));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 65535);
}

TEST(XidBranchTest, SameGlobalComparesFormatIdAndGtrid) {
  const Xid a = must_make(1, bytes("g"), bytes("x"));
  EXPECT_FALSE(a.same_global(must_make(2, bytes("g"), bytes("x"))));
  EXPECT_FALSE(a.same_global(must_make(1, bytes("gg"), bytes("x"))));
  EXPECT_FALSE(a.same_global(must_make(1, bytes("h"), bytes("x"))));
  EXPECT_TRUE(a.same_global(must_make(1, bytes("g"), bytes("yy"))));
}

TEST(XidBranchTest, DecodeBranchIndexNeedsTwoBytes) {
  expect_invalid(decode_branch_index(must_make(1, bytes("g"), {})), {"bqual of 0 bytes"});
  expect_invalid(decode_branch_index(must_make(1, bytes("g"), bytes("a"))),
                 {"1:67:61", "bqual of 1 bytes", "at least 2"});
}

TEST(XidBranchTest, ADriversTagFollowsTheBranchIndex) {
  const Xid global = must_make(kXatmFormatId, bytes("gtrid"), {});
  const std::vector<std::uint8_t> tag = bytes("tag");
  const Xid tagged = global.branch(258, tag);
  EXPECT_EQ(tagged.to_string(), "2019652717:6774726964:0102746167");
  EXPECT_EQ(*decode_branch_index(tagged), 258);
  EXPECT_TRUE(tagged.same_global(global));
  EXPECT_NE(tagged, global.branch(258));
  EXPECT_EQ(tagged.branch(3), global.branch(3)) << "replaces the tag too";

  const std::vector<std::uint8_t> long_tag(kMaxBranchTagBytes + 10, 0xab);
  EXPECT_EQ(global.branch(1, long_tag).bqual().size(), 2 + kMaxBranchTagBytes);
}

// --- xatm's gtrid layout ------------------------------------------------------------------

TEST(GtridTest, EncodesTheDocumentedLayout) {
  Result<Xid> xid = make_global_xid(sample_info());
  ASSERT_TRUE(xid.ok()) << xid.status().to_string();
  EXPECT_EQ(xid->format_id(), kXatmFormatId);
  EXPECT_TRUE(xid->bqual().empty());
  EXPECT_EQ(to_hex(xid->gtrid()),
            "01"                  // layout version
            "08"                  // node name length
            "6f72646572732d31"    // "orders-1"
            "0000018bcfe5687b"    // 1700000000123 ms
            "0000ea60"            // 60000 ms
            "000000000000002a");  // sequence 42
}

TEST(GtridTest, RoundTrips) {
  for (GtridInfo info : {sample_info(), GtridInfo{}}) {
    if (info.node_name.empty()) {
      info.node_name = std::string(kMaxNodeNameSize, 'n');
      info.created = system_clock::time_point(milliseconds(0));
      info.timeout = milliseconds(0xffffffffLL);
      info.sequence = UINT64_MAX;
    }
    Result<Xid> xid = make_global_xid(info);
    ASSERT_TRUE(xid.ok()) << xid.status().to_string();
    EXPECT_LE(xid->gtrid().size(), Xid::kMaxGtridSize);
    // Decoding works on any branch of the transaction, and after a trip through the text form.
    Result<GtridInfo> back = decode_gtrid(must_parse(xid->branch(3).to_string()));
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(back->node_name, info.node_name);
    EXPECT_EQ(back->created, info.created);
    EXPECT_EQ(back->timeout, info.timeout);
    EXPECT_EQ(back->sequence, info.sequence);
    EXPECT_EQ(back->deadline(), info.created + info.timeout);
  }
}

TEST(GtridTest, CreationTimeIsTruncatedToMilliseconds) {
  GtridInfo info = sample_info();
  info.created += std::chrono::microseconds(999);
  Result<Xid> xid = make_global_xid(info);
  ASSERT_TRUE(xid.ok());
  Result<GtridInfo> back = decode_gtrid(*xid);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->created, sample_info().created);
}

TEST(GtridTest, HexSortsByCreationTime) {
  GtridInfo early = sample_info();
  GtridInfo late = sample_info();
  late.created += milliseconds(1);
  late.sequence = 0;
  Result<Xid> a = make_global_xid(early);
  Result<Xid> b = make_global_xid(late);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LT(a->to_string(), b->to_string());
  EXPECT_LT(*a, *b);
}

TEST(GtridTest, MakeRejectsBadInfo) {
  GtridInfo info = sample_info();
  info.node_name = "bad name";
  expect_invalid(make_global_xid(info), {"node name 'bad name'", "' '", "offset 3"});
  info = sample_info();
  info.timeout = milliseconds(-1);
  expect_invalid(make_global_xid(info), {"timeout -1 ms"});
  info.timeout = milliseconds(0x100000000LL);
  expect_invalid(make_global_xid(info), {"timeout 4294967296 ms"});
  info = sample_info();
  info.created = system_clock::time_point(milliseconds(-1));
  expect_invalid(make_global_xid(info), {"creation time -1 ms"});
}

TEST(GtridTest, ValidatesNodeNames) {
  EXPECT_TRUE(validate_node_name("orders-1").ok());
  EXPECT_TRUE(validate_node_name("A.z_0-9").ok());
  EXPECT_TRUE(validate_node_name(std::string(32, 'x')).ok());
  expect_invalid(Result<int>(validate_node_name("")), {"node name is empty"});
  expect_invalid(Result<int>(validate_node_name(std::string(33, 'x'))), {"33 bytes", "32"});
  expect_invalid(Result<int>(validate_node_name("a/b")), {"'a/b'", "'/'", "offset 1"});
  expect_invalid(Result<int>(validate_node_name("a:b")), {"':'"});
  expect_invalid(Result<int>(validate_node_name(std::string("a\0b", 3))), {"'\\x00'"});
  expect_invalid(Result<int>(validate_node_name("caf\xc3\xa9")), {"'\\xc3'"});
}

std::vector<std::uint8_t> valid_gtrid() {
  Result<Xid> xid = make_global_xid(sample_info());
  EXPECT_TRUE(xid.ok());
  return {xid->gtrid().begin(), xid->gtrid().end()};
}

TEST(GtridTest, DecodeRejectsOtherFormats) {
  expect_invalid(decode_gtrid(must_make(1, valid_gtrid(), {})),
                 {"formatID 1", "not xatm's", "2019652717"});
}

TEST(GtridTest, DecodeRejectsUnknownVersion) {
  std::vector<std::uint8_t> gtrid = valid_gtrid();
  gtrid[0] = 2;
  expect_invalid(decode_gtrid(must_make(kXatmFormatId, gtrid, {})), {"layout version 2"});
}

TEST(GtridTest, DecodeRejectsLengthMismatch) {
  std::vector<std::uint8_t> gtrid = valid_gtrid();
  gtrid.push_back(0);
  expect_invalid(decode_gtrid(must_make(kXatmFormatId, gtrid, {})),
                 {"gtrid of 31 bytes", "expected 30"});
  gtrid = valid_gtrid();
  gtrid[1] = 9;
  expect_invalid(decode_gtrid(must_make(kXatmFormatId, gtrid, {})), {"does not match"});
  expect_invalid(decode_gtrid(must_make(kXatmFormatId, std::vector<std::uint8_t>{1}, {})),
                 {"gtrid of 1 bytes"});
}

TEST(GtridTest, DecodeRejectsInvalidNodeName) {
  std::vector<std::uint8_t> gtrid = valid_gtrid();
  gtrid[2] = '/';
  expect_invalid(decode_gtrid(must_make(kXatmFormatId, gtrid, {})), {"node name", "'/'"});
  // A name length of 0 or above 32 can still match the total length.
  std::vector<std::uint8_t> no_name{1, 0};
  no_name.resize(22, 0);
  expect_invalid(decode_gtrid(must_make(kXatmFormatId, no_name, {})), {"node name is empty"});
  std::vector<std::uint8_t> long_name{1, 40};
  long_name.resize(62, 'n');
  expect_invalid(decode_gtrid(must_make(kXatmFormatId, long_name, {})), {"40 bytes"});
}

TEST(GtridTest, DecodeRejectsUnrepresentableCreationTime) {
  std::vector<std::uint8_t> gtrid = valid_gtrid();
  for (std::size_t i = 10; i < 18; ++i) gtrid[i] = 0xff;  // created = 2^64-1 ms
  expect_invalid(decode_gtrid(must_make(kXatmFormatId, gtrid, {})), {"creation time"});
}

// --- ordering and hashing -----------------------------------------------------------------

TEST(XidContainerTest, UsableAsMapAndSetKey) {
  const Xid a = must_make(1, bytes("a"), {});
  const Xid a0 = a.branch(0);
  const Xid a1 = a.branch(1);
  const Xid b = must_make(1, bytes("b"), {});
  const Xid other_format = must_make(2, bytes("a"), {});

  std::map<Xid, int> ordered{{b, 4}, {a1, 3}, {a0, 2}, {a, 1}, {other_format, 5}};
  std::vector<int> order;
  for (const auto& [xid, value] : ordered) order.push_back(value);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));

  std::unordered_set<Xid> set{a, a0, a1, b, other_format, must_parse("1:61:0000")};
  EXPECT_EQ(set.size(), 5U);
  EXPECT_TRUE(set.contains(must_parse("1:61:0001")));
  EXPECT_FALSE(set.contains(must_parse("1:61:0002")));
}

TEST(XidContainerTest, HashSeparatesGtridFromBqual) {
  // Same bytes "ab", split differently: different XIDs, and (with this hash) different hashes.
  const Xid split1 = must_make(1, bytes("a"), bytes("b"));
  const Xid split2 = must_make(1, bytes("ab"), {});
  EXPECT_NE(split1, split2);
  EXPECT_NE(std::hash<Xid>{}(split1), std::hash<Xid>{}(split2));
  EXPECT_EQ(std::hash<Xid>{}(split1), std::hash<Xid>{}(must_parse("1:61:62")));
}

}  // namespace
}  // namespace xatm
