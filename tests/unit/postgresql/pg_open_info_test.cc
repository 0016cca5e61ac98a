// The xa_open info string of xatm_postgresql_xa_switch
// (xatm::postgresql::data_source_from_open_info). Pure parsing: no server needed.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <map>
#include <string>

#include "testing/secrets.h"
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

// The info string is libpq's: only the pair of `name` is taken out, and the rest reaches
// DataSource::conninfo byte for byte, never re-quoted.
TEST(PgOpenInfoTest, AwkwardPasswordsReachLibpqByteForByte) {
  for (const std::string& password : xatm::testing::awkward_passwords()) {
    const std::string rest =
        "host=/run/postgresql password = " + xatm::testing::keyword_quoted(password) +
        "\tdbname=billing";
    for (const std::string& info : {"name='bill ing' " + rest, rest + " name=billing"}) {
      Result<DataSource> config = data_source_from_open_info(info);
      ASSERT_TRUE(config.ok()) << config.status().to_string();
      EXPECT_EQ(config->name, info.starts_with("name") ? "bill ing" : "billing");
      EXPECT_EQ(config->conninfo, info.starts_with("name") ? " " + rest : rest + " ");
      EXPECT_FALSE(config->password.has_value());
      const std::map<std::string, std::string> libpq = libpq_reading(config->conninfo);
      EXPECT_EQ(libpq.at("password"), password);
      EXPECT_EQ(libpq.at("dbname"), "billing");
    }
  }
}

TEST(PgOpenInfoTest, MalformedStringsNeverShowThePassword) {
  for (const std::string& password : xatm::testing::awkward_passwords()) {
    const std::string quoted = xatm::testing::keyword_quoted(password);
    for (const std::string& info :
         {"name=billing dbname=x password=" + quoted + " colour=blue",  // libpq refuses the key
          "name=billing password=" + quoted + " nosuchoption=1",
          "name=billing password='" + password,  // no closing quote
          "name=billing password=" + quoted + "x",
          "postgresql://app:" + xatm::testing::percent_encoded(password) + "@db/billing",
          "name=billing name=" + quoted}) {
      Result<DataSource> config = data_source_from_open_info(info);
      ASSERT_FALSE(config.ok()) << info;
      EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
      EXPECT_TRUE(config.status().message().starts_with("xa_open info string: "))
          << config.status().message();
      EXPECT_EQ(config.status().message().find(xatm::testing::kAwkwardPasswordTail),
                std::string::npos)
          << config.status().message();
    }
  }
  Result<DataSource> unknown = data_source_from_open_info("name=billing colour=blue");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("data source 'billing'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("colour"), std::string::npos)
      << unknown.status().message();
}

}  // namespace
}  // namespace xatm::postgresql
