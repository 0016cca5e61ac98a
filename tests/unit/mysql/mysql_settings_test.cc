// xatm::mysql::data_source_from_settings: the one mapping from text to a DataSource, for the
// xa_open info string and xatm-recover's config file. No server needed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "testing/secrets.h"
#include "testing/status_matchers.h"
#include "xatm/mysql/mysql.h"

namespace xatm::mysql {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using xatm::driver::Settings;
using xatm::testing::StatusIs;

TEST(MysqlSettingsTest, EveryKeyFillsItsField) {
  Result<DataSource> config = data_source_from_settings({{"name", "inventory"},
                                                         {"host", "db1"},
                                                         {"port", "3307"},
                                                         {"unix_socket", "/run/my.sock"},
                                                         {"user", "app"},
                                                         {"password", "pa'ss word"},
                                                         {"database", "shop"},
                                                         {"connect_timeout", "2"},
                                                         {"read_timeout", "40"},
                                                         {"write_timeout", "86400"}});
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->name, "inventory");
  EXPECT_EQ(config->host, "db1");
  EXPECT_EQ(config->port, 3307U);
  EXPECT_EQ(config->unix_socket, "/run/my.sock");
  EXPECT_EQ(config->user, "app");
  EXPECT_EQ(config->password, "pa'ss word");
  EXPECT_EQ(config->database, "shop");
  EXPECT_EQ(config->connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(config->read_timeout, std::chrono::seconds(40));
  EXPECT_EQ(config->write_timeout, std::chrono::seconds(86400));
}

// xatm-recover's config file has always spelled the timeouts with "_s".
TEST(MysqlSettingsTest, TimeoutsHaveASecondSpellingOfTheSameKey) {
  Result<DataSource> config = data_source_from_settings({{"name", "a"},
                                                         {"connect_timeout_s", "3"},
                                                         {"read_timeout_s", "4"},
                                                         {"write_timeout_s", "1"}});
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->connect_timeout, std::chrono::seconds(3));
  EXPECT_EQ(config->read_timeout, std::chrono::seconds(4));
  EXPECT_EQ(config->write_timeout, std::chrono::seconds(1));
  EXPECT_THAT(
      data_source_from_settings({{"name", "a"}, {"read_timeout", "4"}, {"read_timeout_s", "5"}}),
      StatusIs(StatusCode::kInvalidArgument,
               "key 'read_timeout' (or read_timeout_s) is given twice"));
}

TEST(MysqlSettingsTest, KeysNotGivenKeepTheDefaults) {
  Result<DataSource> config = data_source_from_settings({{"name", "a"}});
  ASSERT_TRUE(config.ok());
  const DataSource defaults;
  EXPECT_EQ(config->host, defaults.host);
  EXPECT_EQ(config->port, defaults.port);
  EXPECT_EQ(config->user, defaults.user);
  EXPECT_EQ(config->connect_timeout, defaults.connect_timeout);
  EXPECT_EQ(config->read_timeout, defaults.read_timeout);
  EXPECT_EQ(config->write_timeout, defaults.write_timeout);
}

TEST(MysqlSettingsTest, ADecisionTableMustBeATableName) {
  Result<DataSource> plain = data_source_from_settings({{"name", "a"}, {"decision_table", "xatm_decisions"}});
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  EXPECT_EQ(plain->decision_table, "xatm_decisions");
  for (const char* bad : {"", "a b", "x;DROP TABLE y", "`q`", "a.b.c", "t-1"}) {
    EXPECT_EQ(data_source_from_settings({{"name", "a"}, {"decision_table", bad}}).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(MysqlSettingsTest, NameIsRequiredAndKeysAreKnown) {
  for (const Settings& nameless : {Settings{{"user", "app"}}, Settings{{"name", ""}}}) {
    EXPECT_THAT(data_source_from_settings(nameless),
                StatusIs(StatusCode::kInvalidArgument, "key 'name' is missing or empty"));
  }
  EXPECT_THAT(data_source_from_settings({{"name", "a"}, {"name", "b"}}),
              StatusIs(StatusCode::kInvalidArgument, "key 'name' is given twice"));
  EXPECT_THAT(data_source_from_settings({{"name", "a"}, {"passwd", "hunter2"}}),
              StatusIs(StatusCode::kInvalidArgument,
                       "unknown key 'passwd' (known: name, host, port, unix_socket, user, "
                       "password, database, connect_timeout (or connect_timeout_s), read_timeout "
                       "(or read_timeout_s), write_timeout (or write_timeout_s), decision_table)"));
}

TEST(MysqlSettingsTest, BadNumbersAreRefusedByKeyNeverByValue) {
  for (const char* port : {"0", "65536", "-1", "+1", "1.5", "", " 1", "18446744073709551616"}) {
    EXPECT_THAT(
        data_source_from_settings({{"name", "a"}, {"port", port}}),
        StatusIs(StatusCode::kInvalidArgument, "'port' must be a whole number from 1 to 65535"))
        << port;
  }
  for (const char* key : {"connect_timeout", "read_timeout_s", "write_timeout"}) {
    for (const char* seconds : {"0", "86401", "1e3", "-5"}) {
      EXPECT_THAT(data_source_from_settings({{"name", "a"}, {key, seconds}}),
                  StatusIs(StatusCode::kInvalidArgument,
                           HasSubstr("_timeout' must be a whole number from 1 to 86400")))
          << key << seconds;
    }
  }
  // A password pasted into the wrong field stays out of the message.
  for (const std::string& password : xatm::testing::awkward_passwords()) {
    EXPECT_THAT(data_source_from_settings({{"name", "a"}, {"port", password}}),
                StatusIs(StatusCode::kInvalidArgument,
                         Not(HasSubstr(xatm::testing::kAwkwardPasswordTail))));
  }
}

}  // namespace
}  // namespace xatm::mysql
