// xatm::postgresql::data_source_from_settings: the one mapping from text to a DataSource, for
// xatm-recover's config file and (with `name` and `conninfo` only) the xa_open info string. No
// server needed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "testing/secrets.h"
#include "testing/status_matchers.h"
#include "xatm/postgresql/postgresql.h"

namespace xatm::postgresql {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using xatm::driver::Settings;
using xatm::testing::StatusIs;

TEST(PgSettingsTest, EveryKeyFillsItsField) {
  Result<DataSource> config = data_source_from_settings({{"name", "billing"},
                                                         {"conninfo", "sslmode=disable"},
                                                         {"host", "/run/pg"},
                                                         {"port", "5433"},
                                                         {"user", "app"},
                                                         {"password", "pa'ss word"},
                                                         {"dbname", "billing"},
                                                         {"connect_timeout", "86400"}});
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->name, "billing");
  EXPECT_EQ(config->conninfo, "sslmode=disable");
  EXPECT_EQ(config->host, "/run/pg");
  EXPECT_EQ(config->port, 5433);
  EXPECT_EQ(config->user, "app");
  EXPECT_EQ(config->password, "pa'ss word");
  EXPECT_EQ(config->dbname, "billing");
  EXPECT_EQ(config->connect_timeout, std::chrono::seconds(86400));
}

TEST(PgSettingsTest, KeysNotGivenKeepTheDefaults) {
  Result<DataSource> config =
      data_source_from_settings({{"name", "a"}, {"connect_timeout_s", "1"}});
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->conninfo, "");
  EXPECT_FALSE(config->host.has_value());
  EXPECT_FALSE(config->port.has_value());
  EXPECT_FALSE(config->user.has_value());
  EXPECT_FALSE(config->password.has_value());
  EXPECT_FALSE(config->dbname.has_value());
  EXPECT_EQ(config->connect_timeout, std::chrono::seconds(1));
  EXPECT_EQ(data_source_from_settings({{"name", "a"}})->connect_timeout,
            DataSource{}.connect_timeout);
}

TEST(PgSettingsTest, NameIsRequiredAndKeysAreKnownAndGivenOnce) {
  for (const Settings& nameless : {Settings{{"dbname", "x"}}, Settings{{"name", ""}}}) {
    EXPECT_THAT(data_source_from_settings(nameless),
                StatusIs(StatusCode::kInvalidArgument, "key 'name' is missing or empty"));
  }
  EXPECT_THAT(data_source_from_settings({{"name", "a"}, {"database", "x"}}),
              StatusIs(StatusCode::kInvalidArgument,
                       "unknown key 'database' (known: name, conninfo, host, port, user, password, "
                       "dbname, connect_timeout (or connect_timeout_s), decision_table)"));
  EXPECT_THAT(data_source_from_settings(
                  {{"name", "a"}, {"connect_timeout_s", "1"}, {"connect_timeout", "2"}}),
              StatusIs(StatusCode::kInvalidArgument,
                       "key 'connect_timeout' (or connect_timeout_s) is given twice"));
  EXPECT_THAT(data_source_from_settings({{"name", "a"}, {"host", "/a"}, {"host", "/b"}}),
              StatusIs(StatusCode::kInvalidArgument, "key 'host' is given twice"));
}

TEST(PgSettingsTest, ADecisionTableMustBeATableName) {
  Result<DataSource> plain = data_source_from_settings({{"name", "a"}, {"decision_table", "xatm_decisions"}});
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  EXPECT_EQ(plain->decision_table, "xatm_decisions");
  Result<DataSource> qualified = data_source_from_settings({{"name", "a"}, {"decision_table", "tm._d1"}});
  ASSERT_TRUE(qualified.ok()) << qualified.status().to_string();
  for (const char* bad : {"", "1table", "a b", "x;DROP TABLE y", "a.b.c", "\"quoted\"", "a.",
                          "t-1", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    Result<DataSource> refused = data_source_from_settings({{"name", "a"}, {"decision_table", bad}});
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(PgSettingsTest, BadNumbersAreRefusedByKey) {
  for (const char* port : {"0", "65536", "-1", "5432.0", "x"}) {
    EXPECT_THAT(
        data_source_from_settings({{"name", "a"}, {"port", port}}),
        StatusIs(StatusCode::kInvalidArgument, "'port' must be a whole number from 1 to 65535"))
        << port;
  }
  for (const char* seconds : {"0", "86401", "+5"}) {
    EXPECT_THAT(data_source_from_settings({{"name", "a"}, {"connect_timeout_s", seconds}}),
                StatusIs(StatusCode::kInvalidArgument,
                         "'connect_timeout' must be a whole number from 1 to 86400"))
        << seconds;
  }
}

// The conninfo is checked at once, so a config file or info string libpq cannot read is refused
// before anything connects; the message never shows a password.
TEST(PgSettingsTest, AConninfoLibpqCannotParseIsRefusedWithoutThePassword) {
  for (const std::string& password : xatm::testing::awkward_passwords()) {
    for (const std::string& conninfo :
         {"dbname=x colour=blue password=" + xatm::testing::keyword_quoted(password),
          "password=" + xatm::testing::keyword_quoted(password) + " colour=blue",
          "dbname=x password='" + password}) {
      EXPECT_THAT(data_source_from_settings({{"name", "billing"}, {"conninfo", conninfo}}),
                  StatusIs(StatusCode::kInvalidArgument,
                           AllOf(HasSubstr("data source 'billing': invalid conninfo"),
                                 Not(HasSubstr(xatm::testing::kAwkwardPasswordTail)))))
          << conninfo;
    }
  }
}

}  // namespace
}  // namespace xatm::postgresql
