// The xa_open info string of xatm_mysql_xa_switch (xatm::mysql::data_source_from_open_info).
// Pure parsing: no server needed.
#include <gtest/gtest.h>

#include "xatm/mysql/mysql.h"

namespace xatm::mysql {
namespace {

TEST(MysqlOpenInfoTest, EveryKeyFillsItsField) {
  Result<DataSource> config = data_source_from_open_info(
      "name=inventory host=db1 port=3307 unix_socket='/run/my sql.sock' user=app "
      "password='s3 \\'cret' database=shop connect_timeout=2 read_timeout=40 write_timeout=50");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->name, "inventory");
  EXPECT_EQ(config->host, "db1");
  EXPECT_EQ(config->port, 3307U);
  EXPECT_EQ(config->unix_socket, "/run/my sql.sock");
  EXPECT_EQ(config->user, "app");
  EXPECT_EQ(config->password, "s3 'cret");
  EXPECT_EQ(config->database, "shop");
  EXPECT_EQ(config->connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(config->read_timeout, std::chrono::seconds(40));
  EXPECT_EQ(config->write_timeout, std::chrono::seconds(50));
}

TEST(MysqlOpenInfoTest, DefaultsAreTheDataSourceDefaults) {
  Result<DataSource> config = data_source_from_open_info("user=app");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->name, "xatm-mysql");
  EXPECT_EQ(config->host, DataSource{}.host);
  EXPECT_EQ(config->port, DataSource{}.port);
  EXPECT_EQ(config->read_timeout, DataSource{}.read_timeout);
}

// The info string is read by data_source_from_settings: the same keys, spellings and checks.
TEST(MysqlOpenInfoTest, KeysAreThoseOfTheSettings) {
  Result<DataSource> config = data_source_from_open_info("user=app write_timeout_s=9");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->write_timeout, std::chrono::seconds(9));
  Result<DataSource> twice = data_source_from_open_info("name=a user=app name=hunter2");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(), "xa_open info string: key 'name' is given twice");
  Result<DataSource> empty = data_source_from_open_info("name='' user=app");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "xa_open info string: key 'name' is missing or empty");
}

TEST(MysqlOpenInfoTest, ErrorsNameTheKeyAndNeverTheValue) {
  Result<DataSource> unknown = data_source_from_open_info("user=app passwd=hunter2");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("unknown key 'passwd'"), std::string::npos);
  EXPECT_EQ(unknown.status().message().find("hunter2"), std::string::npos);

  for (const char* port : {"port=abc", "port=70000", "port=-1", "port=33o6", "port=0"}) {
    Result<DataSource> bad = data_source_from_open_info(port);
    ASSERT_FALSE(bad.ok()) << port;
    EXPECT_EQ(bad.status().message(),
              "xa_open info string: 'port' must be a whole number from 1 to 65535");
  }
  Result<DataSource> unterminated = data_source_from_open_info("password='hunter2");
  ASSERT_FALSE(unterminated.ok());
  EXPECT_EQ(unterminated.status().message().find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace xatm::mysql
