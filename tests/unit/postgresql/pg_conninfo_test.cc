// Connection parameters and messages without secrets (pg_conninfo.h). No server needed.
#include "pg_conninfo.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "testing/secrets.h"

namespace xatm::postgresql::internal {
namespace {

std::string value_of(const ConnectParams& params, const std::string& keyword) {
  std::string last;  // libpq takes the last non-empty value
  for (std::size_t i = 0; i < params.keywords.size(); ++i) {
    if (params.keywords[i] == keyword && !params.values[i].empty()) last = params.values[i];
  }
  return last;
}

TEST(PgConninfoTest, TypedFieldsComeAfterTheConninfoSoTheyOverrideIt) {
  const ConnectParams params = build_params({.name = "billing",
                                             .conninfo = "host=/a port=1 dbname=x",
                                             .host = "/b",
                                             .port = 5433,
                                             .user = "app",
                                             .password = "s3cret",
                                             .dbname = "billing",
                                             .connect_timeout = std::chrono::seconds(7)});
  ASSERT_EQ(params.keywords.front(), "fallback_application_name");
  ASSERT_EQ(params.keywords[1], "dbname");  // the conninfo: the first dbname is expanded
  EXPECT_EQ(params.values[1], "host=/a port=1 dbname=x");
  EXPECT_EQ(value_of(params, "host"), "/b");
  EXPECT_EQ(value_of(params, "port"), "5433");
  EXPECT_EQ(value_of(params, "user"), "app");
  EXPECT_EQ(value_of(params, "password"), "s3cret");
  EXPECT_EQ(value_of(params, "connect_timeout"), "7");
  EXPECT_EQ(params.keyword_pointers().back(), nullptr);
  EXPECT_EQ(params.value_pointers().size(), params.keywords.size() + 1);
}

TEST(PgConninfoTest, UnsetFieldsAreLeftToTheConninfo) {
  const ConnectParams params = build_params({.name = "billing", .conninfo = ""});
  EXPECT_EQ(value_of(params, "host"), "");
  EXPECT_EQ(value_of(params, "password"), "");
  EXPECT_EQ(value_of(params, "connect_timeout"), "5");
  // Even an empty conninfo occupies the first dbname slot, so a typed dbname is never expanded.
  EXPECT_EQ(params.keywords[1], "dbname");
}

TEST(PgConninfoTest, RedactsPasswordsInEveryForm) {
  EXPECT_EQ(redact_conninfo("host=/x password=s3cret user=a"), "host=/x password=******** user=a");
  EXPECT_EQ(redact_conninfo("password = 's3 cr\\'et' user=a"), "password = ******** user=a");
  EXPECT_EQ(redact_conninfo("password"), "password");
  EXPECT_EQ(redact_conninfo("user=a password"), "user=a password");
  EXPECT_EQ(redact_conninfo("password s3cret"), "password ********");
  EXPECT_EQ(redact_conninfo("postgresql://app:s3cret@db.example:5432/billing"),
            "postgresql://app:********@db.example:5432/billing");
  EXPECT_EQ(redact_conninfo("postgres://app@db/billing?password=s3cret&sslmode=require"),
            "postgres://app@db/billing?password=********&sslmode=require");
  EXPECT_EQ(redact_conninfo("postgresql://db/billing"), "postgresql://db/billing");
}

TEST(PgConninfoTest, ScrubsPasswordsQuotedInLibpqMessages) {
  EXPECT_EQ(scrub_message("invalid percent-encoded token: \"sec%zzret\"",
                          "postgresql://u:sec%zzret@h/db"),
            "invalid percent-encoded token: \"********\"");
  EXPECT_EQ(scrub_message("bad 's3 cret'", "password='s3 cret'"), "bad ********");
}

TEST(PgConninfoTest, InvalidConninfoIsInvalidArgumentWithoutThePassword) {
  const Status status = check_conninfo("billing", "postgresql://u:sec%zzret@h/db");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("data source 'billing'"), std::string::npos);
  EXPECT_EQ(status.message().find("sec%zzret"), std::string::npos) << status.message();
  EXPECT_EQ(check_conninfo("billing", "nosuchoption=1 password=s3cret").code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(check_conninfo("billing", "").ok());
  EXPECT_TRUE(check_conninfo("billing", "host=/x dbname=y").ok());
}

TEST(PgConninfoTest, AMisspelledPasswordKeywordHidesItsValueToo) {
  for (const char* conninfo : {"host=/x passwrd=hunter2 dbname=y", "host=/x pass_word = 'hunter2'",
                               "host=/x Password=hunter2"}) {
    const Status status = check_conninfo("billing", conninfo);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << conninfo;
    EXPECT_EQ(status.message().find("hunter2"), std::string::npos) << status.message();
    EXPECT_NE(status.message().find("host=/x"), std::string::npos) << status.message();
  }
}

using xatm::testing::awkward_passwords;
using xatm::testing::keyword_quoted;
using xatm::testing::percent_encoded;

void expect_no_secret(const std::string& text, const std::string& password) {
  EXPECT_EQ(text.find(password), std::string::npos) << text;
  EXPECT_EQ(text.find("ss-4711"), std::string::npos) << text;
}

TEST(PgConninfoTest, NoFormOfAnAwkwardPasswordIsEverShown) {
  for (const std::string& password : awkward_passwords()) {
    SCOPED_TRACE(password);
    const std::vector<std::string> valid = {
        "host=/x password=" + keyword_quoted(password) + " user=a",
        "postgresql://app:" + percent_encoded(password) + "@db.example:5432/billing",
        "postgres://app@db/billing?password=" + percent_encoded(password) + "&sslmode=require",
    };
    for (const std::string& conninfo : valid) {
      EXPECT_TRUE(check_conninfo("billing", conninfo).ok()) << conninfo;
      expect_no_secret(redact_conninfo(conninfo), password);
      expect_no_secret(redact_conninfo(conninfo), percent_encoded(password));
      // A server or library message quoting the password, decoded or as written, is scrubbed.
      expect_no_secret(scrub_message("it was \"" + password + "\"", conninfo), password);
    }
    // Written raw into a URI: libpq would read part of the password as host, port or database,
    // or refuse the text; either way no part of the password may be shown.
    for (const std::string& conninfo :
         {"postgresql://app:" + password + "@db.example:5432/billing",
          "postgresql://app:" + password + "@/billing?host=/run/pg", "password=" + password + " user=a"}) {
      const Status status = check_conninfo("billing", conninfo);
      expect_no_secret(status.message(), password);
      if (status.ok()) expect_no_secret(redact_conninfo(conninfo), password);
    }
  }
}

TEST(PgConninfoTest, UriUserInfoThatLibpqWouldSplitIsRefusedAndNotShown) {
  const Status status = check_conninfo("billing", "postgresql://app:pa/ss-4711@db/billing");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("must be percent-encoded"), std::string::npos) << status.message();
  expect_no_secret(status.message(), "pa/ss-4711");
}

TEST(PgConninfoTest, ConnectFailuresAreClassified) {
  const char* fix[] = {
      "FATAL:  password authentication failed for user \"app\"",
      "fe_sendauth: no password supplied",
      "FATAL:  database \"nodb\" does not exist",
      "FATAL:  role \"nobody\" does not exist",
      "FATAL:  no pg_hba.conf entry for host \"1.2.3.4\", user \"app\", database \"x\"",
  };
  for (const char* message : fix) {
    EXPECT_EQ(connect_failure("billing", "host=/x", message).code(), StatusCode::kInvalidArgument)
        << message;
  }
  const char* retry[] = {
      "connection to server on socket \"/x/.s.PGSQL.5432\" failed: No such file or directory",
      "connection to server at \"db\" (10.0.0.1), port 5432 failed: Connection refused",
      "timeout expired",
      "FATAL:  the database system is starting up",
      "FATAL:  sorry, too many clients already",
  };
  for (const char* message : retry) {
    EXPECT_EQ(connect_failure("billing", "host=/x", message).code(), StatusCode::kUnavailable)
        << message;
  }
  const Status status = connect_failure("billing", "host=/x dbname=y", "boom");
  EXPECT_EQ(status.message(),
            "data source 'billing': cannot connect to PostgreSQL (host=/x dbname=y): boom");
}

}  // namespace
}  // namespace xatm::postgresql::internal
