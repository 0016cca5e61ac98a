// The xa_open info string syntax of xatm's switches (include/xatm/driver/open_info.h).
#include "xatm/driver/open_info.h"

#include <gtest/gtest.h>

namespace xatm::driver {
namespace {

TEST(OpenInfoTest, ParsesPlainAndQuotedValues) {
  Result<OpenInfo> info =
      parse_open_info("  host=db1 port = 3306\tuser=a\\ b password='it\\'s a \\\\secret' db= ");
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(*info, (OpenInfo{{"host", "db1"},
                             {"port", "3306"},
                             {"user", "a b"},
                             {"password", "it's a \\secret"},
                             {"db", ""}}));
  EXPECT_TRUE(parse_open_info("").ok());
  EXPECT_TRUE(parse_open_info("   ")->empty());
}

TEST(OpenInfoTest, QuotingRoundTrips) {
  const std::string value = "a b'c\\d";
  Result<OpenInfo> info = parse_open_info("k=" + quote_open_info_value(value));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->at(0).second, value);
}

TEST(OpenInfoTest, ErrorsNameTheKeyButNeverTheValue) {
  auto message = [](std::string_view text) {
    Result<OpenInfo> info = parse_open_info(text);
    EXPECT_FALSE(info.ok()) << text;
    EXPECT_EQ(info.status().code(), StatusCode::kInvalidArgument);
    return info.ok() ? std::string() : info.status().message();
  };
  EXPECT_EQ(message("host"), "xa_open info string: '=' expected after key 'host'");
  EXPECT_EQ(message("=x"), "xa_open info string: a key was expected at byte 0");
  const std::string unterminated = message("password='hunter2");
  EXPECT_EQ(unterminated,
            "xa_open info string: the quoted value of key 'password' has no closing quote");
  for (const char* text : {"host=db1;port=3306;password=hunter2", "unix_socket=/s,password=hunter2",
                           "user=app&password=hunter2"}) {
    const std::string wrong_separator = message(text);
    EXPECT_NE(wrong_separator.find("holds '='"), std::string::npos) << wrong_separator;
    EXPECT_EQ(wrong_separator.find("hunter2"), std::string::npos) << wrong_separator;
  }
  Result<OpenInfo> quoted = parse_open_info("password='a=b'");
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ(quoted->at(0).second, "a=b");
  EXPECT_EQ(message("password='hunter2'x"),
            "xa_open info string: white space expected after the quoted value of key "
            "'password'");
}

}  // namespace
}  // namespace xatm::driver
