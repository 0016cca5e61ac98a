// Settings and the xa_open info string syntax of xatm's switches
// (include/xatm/driver/open_info.h).
#include "xatm/driver/open_info.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace xatm::driver {
namespace {

TEST(OpenInfoTest, ParsesPlainAndQuotedValues) {
  Result<Settings> info =
      parse_open_info("  host=db1 port = 3306\tuser=a\\ b password='it\\'s a \\\\secret' db= ");
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(*info, (Settings{{"host", "db1"},
                             {"port", "3306"},
                             {"user", "a b"},
                             {"password", "it's a \\secret"},
                             {"db", ""}}));
  EXPECT_TRUE(parse_open_info("").ok());
  EXPECT_TRUE(parse_open_info("   ")->empty());
}

TEST(OpenInfoTest, QuotingRoundTrips) {
  const std::string value = "a b'c\\d";
  Result<Settings> info = parse_open_info("k=" + quote_open_info_value(value));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->at(0).second, value);
}

TEST(OpenInfoTest, ErrorsNameTheKeyButNeverTheValue) {
  auto message = [](std::string_view text) {
    Result<Settings> info = parse_open_info(text);
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
  Result<Settings> quoted = parse_open_info("password='a=b'");
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ(quoted->at(0).second, "a=b");
  EXPECT_EQ(message("password='hunter2'x"),
            "xa_open info string: white space expected after the quoted value of key "
            "'password'");
}

TEST(SettingNumberTest, TakesDigitsWithinTheBoundsOnly) {
  EXPECT_EQ(*setting_number("port", "1", 1, 65535), 1U);
  EXPECT_EQ(*setting_number("port", "65535", 1, 65535), 65535U);
  EXPECT_EQ(*setting_number("port", "03306", 1, 65535), 3306U);
  EXPECT_EQ(*setting_number("n", "18446744073709551615", 0, UINT64_MAX), UINT64_MAX);
  for (const char* value : {"", "0", "65536", "-1", "+1", " 1", "1 ", "1.5", "1e3", "0x10", "33o6",
                            "18446744073709551616", "99999999999999999999999999", "hunter2"}) {
    Result<std::uint64_t> number = setting_number("port", value, 1, 65535);
    ASSERT_FALSE(number.ok()) << value;
    EXPECT_EQ(number.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(number.status().message(), "'port' must be a whole number from 1 to 65535") << value;
  }
  EXPECT_FALSE(setting_number("n", "18446744073709551616", 0, UINT64_MAX).ok());
}

constexpr std::array<SettingKey, 3> kKeys = {
    {{.name = "name", .required = true}, {"port"}, {"connect_timeout", "connect_timeout_s"}}};

TEST(CanonicalSettingsTest, SpellsEveryKeyByItsNameInTheGivenOrder) {
  Result<Settings> settings =
      canonical_settings({{"connect_timeout_s", "7"}, {"name", "a"}, {"port", ""}}, kKeys);
  ASSERT_TRUE(settings.ok()) << settings.status().to_string();
  EXPECT_EQ(*settings, (Settings{{"connect_timeout", "7"}, {"name", "a"}, {"port", ""}}));
}

TEST(CanonicalSettingsTest, ARequiredKeyMustBeGivenAndNotEmpty) {
  for (const Settings& nameless : {Settings{}, Settings{{"port", "1"}}, Settings{{"name", ""}}}) {
    Result<Settings> settings = canonical_settings(nameless, kKeys);
    ASSERT_FALSE(settings.ok());
    EXPECT_EQ(settings.status().message(), "key 'name' is missing or empty");
  }
}

TEST(CanonicalSettingsTest, UnknownOrRepeatedKeysAreRefusedByNameNeverByValue) {
  Result<Settings> unknown = canonical_settings({{"name", "a"}, {"passwd", "hunter2"}}, kKeys);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(unknown.status().message(),
            "unknown key 'passwd' (known: name, port, connect_timeout (or connect_timeout_s))");
  for (const Settings& twice :
       {Settings{{"name", "a"}, {"connect_timeout", "1"}, {"connect_timeout", "hunter2"}},
        Settings{{"connect_timeout_s", "1"}, {"name", "a"}, {"connect_timeout", "hunter2"}}}) {
    Result<Settings> refused = canonical_settings(twice, kKeys);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().message(),
              "key 'connect_timeout' (or connect_timeout_s) is given twice");
  }
  Result<Settings> name_twice = canonical_settings({{"name", "a"}, {"name", "hunter2"}}, kKeys);
  ASSERT_FALSE(name_twice.ok());
  EXPECT_EQ(name_twice.status().message(), "key 'name' is given twice");
}

TEST(TakeOpenInfoKeyTest, TakesThePairOutAndLeavesEveryOtherByteAsWritten) {
  const std::string info = R"(host=/run/pg  name = 'my \\ \'db\'')"
                           "\t"
                           R"(password='a b\\\'c' x=\\y)";
  Result<TakenKey> taken = take_open_info_key(info, "name");
  ASSERT_TRUE(taken.ok()) << taken.status().to_string();
  EXPECT_EQ(taken->value, R"(my \ 'db')");
  EXPECT_EQ(taken->rest, R"(host=/run/pg  )"
                         "\t"
                         R"(password='a b\\\'c' x=\\y)");
  for (const auto& [text, rest] : std::vector<std::pair<std::string, std::string>>{
           {"name=a", ""},
           {"name=a dbname=b", " dbname=b"},
           {"dbname=b name=a", "dbname=b "},
           {"dbname=b\tname=a\npassword=c", "dbname=b\t\npassword=c"}}) {
    Result<TakenKey> pair = take_open_info_key(text, "name");
    ASSERT_TRUE(pair.ok()) << text;
    EXPECT_EQ(pair->value, "a") << text;
    EXPECT_EQ(pair->rest, rest) << text;
  }
}

TEST(TakeOpenInfoKeyTest, AbsentKeyLeavesTheStringWhole) {
  Result<TakenKey> taken = take_open_info_key(" dbname=b password='x y' ", "name");
  ASSERT_TRUE(taken.ok());
  EXPECT_FALSE(taken->value.has_value());
  EXPECT_EQ(taken->rest, " dbname=b password='x y' ");
  // A key is a whole key: "dbname" is not "name".
  EXPECT_FALSE(take_open_info_key("dbname=b", "name")->value.has_value());
}

TEST(TakeOpenInfoKeyTest, MalformedStringsAndRepeatedKeysAreRefusedWithoutValues) {
  Result<TakenKey> twice = take_open_info_key("name=a dbname=b name=hunter2", "name");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(), "xa_open info string: key 'name' is given twice");
  for (const char* text : {"name=a password='hunter2", "name=a host=x;password=hunter2",
                           "postgresql://app:hunter2@db/x", "name=a password='hunter2'x"}) {
    Result<TakenKey> taken = take_open_info_key(text, "name");
    ASSERT_FALSE(taken.ok()) << text;
    EXPECT_EQ(taken.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(taken.status(), parse_open_info(text).status()) << text;
    EXPECT_EQ(taken.status().message().find("hunter2"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace xatm::driver
