// The xa_open info string of xatm_postgresql_xa_switch
// (xatm::postgresql::data_source_from_open_info). Pure parsing: no server needed.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <map>
#include <string>

#include "xatm/postgresql/postgresql.h"

namespace xatm::postgresql {
namespace {

// The keywords libpq reads from `conninfo`, with their values.
std::map<std::string, std::string> libpq_reading(const std::string& conninfo) {
  std::map<std::string, std::string> values;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  EXPECT_NE(options, nullptr) << (error != nullptr ? error : "");
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return values;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val != nullptr) values[option->keyword] = option->val;
  }
  PQconninfoFree(options);
  return values;
}

TEST(PgOpenInfoTest, NameIsOursAndTheRestGoesToLibpqIntact) {
  Result<DataSource> config = data_source_from_open_info(
      "name=billing host=/run/postgresql dbname=billing user=app password='a b\\'c\\\\d'");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->name, "billing");
  const std::map<std::string, std::string> libpq = libpq_reading(config->conninfo);
  EXPECT_EQ(libpq.at("host"), "/run/postgresql");
  EXPECT_EQ(libpq.at("dbname"), "billing");
  EXPECT_EQ(libpq.at("user"), "app");
  EXPECT_EQ(libpq.at("password"), "a b'c\\d");
  EXPECT_FALSE(libpq.contains("name"));
}

TEST(PgOpenInfoTest, DefaultNameAndMalformedStrings) {
  Result<DataSource> config = data_source_from_open_info("dbname=x");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->name, "xatm-postgresql");

  Result<DataSource> bad = data_source_from_open_info("dbname=x password='hunter2");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'password'"), std::string::npos);
  EXPECT_EQ(bad.status().message().find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace xatm::postgresql
