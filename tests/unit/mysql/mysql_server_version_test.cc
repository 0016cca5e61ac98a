// Server version parsing and the version gate. Needs no server.
#include "mysql_server_version.h"

#include <gtest/gtest.h>

namespace xatm::mysql::internal {
namespace {

ServerVersion parsed(std::string_view text) {
  Result<ServerVersion> version = parse_server_version(text);
  EXPECT_TRUE(version.ok()) << text << ": " << version.status().to_string();
  return version.ok() ? *version : ServerVersion{};
}

TEST(MysqlServerVersion, Parses) {
  ServerVersion maria = parsed("10.11.19-MariaDB-0+deb12u1");
  EXPECT_TRUE(maria.mariadb);
  EXPECT_EQ(maria.major, 10);
  EXPECT_EQ(maria.minor, 11);
  EXPECT_EQ(maria.patch, 19);
  ServerVersion mysql = parsed("8.0.36");
  EXPECT_FALSE(mysql.mariadb);
  EXPECT_EQ(mysql.major, 8);
  EXPECT_EQ(parsed("5.7.44-log").patch, 44);
  EXPECT_EQ(parsed("5.5.5-10.4.1-MariaDB").major, 10);
  EXPECT_FALSE(parse_server_version("").ok());
  EXPECT_FALSE(parse_server_version("MariaDB").ok());
  EXPECT_FALSE(parse_server_version("10.11").ok());
}

TEST(MysqlServerVersion, RefusesServersThatLosePreparedBranches) {
  for (const char* text : {"10.5.1-MariaDB", "10.4.32-MariaDB", "5.7.6", "5.6.51-log"}) {
    Status status = check_xa_support(parsed(text), "inventory");
    EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition) << text;
    EXPECT_NE(status.message().find(text), std::string::npos) << status.message();
    EXPECT_NE(status.message().find("'inventory'"), std::string::npos);
    EXPECT_NE(status.message().find("disconnects"), std::string::npos);
  }
  for (const char* text : {"10.5.2-MariaDB", "10.11.19-MariaDB-0+deb12u1", "11.4.2-MariaDB",
                           "5.7.7", "8.0.36", "8.4.0"}) {
    EXPECT_TRUE(check_xa_support(parsed(text), "inventory").ok()) << text;
  }
}

TEST(MysqlServerVersion, XaRecoverAdminOnlyOnMysql8) {
  EXPECT_TRUE(needs_xa_recover_admin(parsed("8.0.36")));
  EXPECT_TRUE(needs_xa_recover_admin(parsed("9.1.0")));
  EXPECT_FALSE(needs_xa_recover_admin(parsed("5.7.44")));
  EXPECT_FALSE(needs_xa_recover_admin(parsed("10.11.19-MariaDB")));
}

}  // namespace
}  // namespace xatm::mysql::internal
