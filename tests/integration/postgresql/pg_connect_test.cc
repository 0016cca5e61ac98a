// Resource::connect() with bad input: every error names the data source and the cause, has the
// code that says what to do next, and never contains the password.
#include <gtest/gtest.h>

#include <libpq-fe.h>

#include <string>
#include <string_view>

#include "pg_test_util.h"
#include "testing/secrets.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/xa.h"

namespace xatm::postgresql::testing {
namespace {

// The probe role's password is used nowhere else, so it can be searched for in messages.
class PgConnectTest : public ::testing::Test {
 protected:
  static Status connect(DataSource config) {
    Result<std::unique_ptr<XaConnection>> session = make_resource(std::move(config))->connect();
    return session.ok() ? Status() : session.status();
  }

  static void expect_clean_message(const Status& status, std::initializer_list<const char*> parts) {
    EXPECT_NE(status.message().find("data source 'billing'"), std::string::npos)
        << status.message();
    for (const char* part : parts) {
      EXPECT_NE(status.message().find(part), std::string::npos)
          << "'" << part << "' missing from: " << status.message();
    }
    EXPECT_EQ(status.message().find(kProbePassword), std::string::npos) << status.message();
  }
};

TEST_F(PgConnectTest, ValidSettingsConnect) {
  EXPECT_TRUE(connect({.name = "billing", .conninfo = conninfo()}).ok());
}

TEST_F(PgConnectTest, TypedFieldsOverrideTheConninfo) {
  ensure_probe_role(superuser_conninfo());
  // The conninfo names a wrong database and role; the typed fields put them right.
  const Status status = connect({.name = "billing",
                                 .conninfo = conninfo() + " dbname=nowhere user=nobody",
                                 .user = kProbeRole,
                                 .password = kProbePassword,
                                 .dbname = "xatm_test"});
  EXPECT_TRUE(status.ok()) << status.to_string();
}

TEST_F(PgConnectTest, WrongPasswordIsInvalidArgument) {
  const Status status =
      connect({.name = "billing", .conninfo = conninfo(), .password = kProbePassword});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.to_string();
  expect_clean_message(status, {"password authentication failed", "user=xatm"});
}

TEST_F(PgConnectTest, WrongPasswordInTheConninfoIsNeverEchoed) {
  const Status status =
      connect({.name = "billing", .conninfo = conninfo() + " password=" + kProbePassword});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.to_string();
  expect_clean_message(status, {"password authentication failed"});
}

TEST_F(PgConnectTest, UnreachableSocketDirectoryIsUnavailable) {
  const Status status = connect({.name = "billing",
                                 .conninfo = conninfo(),
                                 .host = "/nonexistent/xatm-socket-dir",
                                 .password = kProbePassword});
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.to_string();
  expect_clean_message(status, {"/nonexistent/xatm-socket-dir", "No such file or directory"});
}

TEST_F(PgConnectTest, MissingDatabaseIsNamed) {
  ensure_probe_role(superuser_conninfo());
  const Status status = connect({.name = "billing",
                                 .conninfo = conninfo(),
                                 .user = kProbeRole,
                                 .password = kProbePassword,
                                 .dbname = "xatm_no_such_db"});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.to_string();
  expect_clean_message(status, {"database \"xatm_no_such_db\" does not exist"});
}

TEST_F(PgConnectTest, MaxPreparedTransactionsZeroIsAFailedPreconditionThatSaysWhatToSet) {
  ensure_probe_role(noprepare_conninfo() + " user=postgres");
  const Status status = connect({.name = "billing",
                                 .conninfo = noprepare_conninfo(),
                                 .user = kProbeRole,
                                 .password = kProbePassword});
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition) << status.to_string();
  expect_clean_message(status,
                       {"max_prepared_transactions = 0", "max_prepared_transactions to a value > 0",
                        "postgresql.conf", "restart"});
}

TEST_F(PgConnectTest, MalformedConninfoIsInvalidArgument) {
  Status status = connect({.name = "billing", .conninfo = "host=/tmp nosuchoption=1"});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.to_string();
  expect_clean_message(status, {"nosuchoption"});
  status = connect({.name = "billing",
                    .conninfo = std::string("postgresql://xatm:") + kProbePassword + "%zz@h/db"});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.to_string();
  expect_clean_message(status, {"invalid conninfo"});
}

// The value libpq reads for `keyword` from the test servers' conninfo.
std::string test_conninfo_value(const char* keyword) {
  PQconninfoOption* options = PQconninfoParse(conninfo().c_str(), nullptr);
  std::string value;
  for (PQconninfoOption* option = options; option != nullptr && option->keyword != nullptr; ++option) {
    if (std::string_view(option->keyword) == keyword && option->val != nullptr) value = option->val;
  }
  PQconninfoFree(options);
  return value;
}

// A wrong password holding any character that URIs or the keyword form treat specially, given in
// every form a user might write it, against the real server: no message shows any part of it.
TEST_F(PgConnectTest, NoMessageShowsAnAwkwardPasswordInAnyForm) {
  ensure_probe_role(superuser_conninfo());
  const std::string host = xatm::testing::percent_encoded(test_conninfo_value("host"));
  const std::string port = test_conninfo_value("port");
  for (const std::string& password : xatm::testing::awkward_passwords()) {
    SCOPED_TRACE(password);
    const std::string quoted = xatm::testing::keyword_quoted(password);
    const std::string user = std::string(kProbeRole);
    for (const std::string& text :
         {"postgresql://" + user + ":" + xatm::testing::percent_encoded(password) + "@/xatm_test?host=" + host + "&port=" + port,
          "postgresql://" + user + ":" + password + "@/xatm_test?host=" + host + "&port=" + port,
          "postgresql://" + user + "@/xatm_test?host=" + host + "&port=" + port + "&password=" + password,
          conninfo() + " user=" + user + " password=" + quoted,
          conninfo() + " user=" + user + " password=" + password}) {
      const Status status = connect({.name = "billing", .conninfo = text});
      EXPECT_FALSE(status.ok()) << text;
      EXPECT_NE(status.message().find("data source 'billing'"), std::string::npos) << status.message();
      EXPECT_EQ(status.message().find(password), std::string::npos) << status.message();
      EXPECT_EQ(status.message().find("ss-4711"), std::string::npos) << status.message();
    }
    // Typed, the password is never parsed at all.
    const Status typed = connect({.name = "billing", .conninfo = conninfo(), .user = user, .password = password});
    EXPECT_EQ(typed.code(), StatusCode::kInvalidArgument) << typed.to_string();
    EXPECT_EQ(typed.message().find("ss-4711"), std::string::npos) << typed.message();
  }
}

TEST_F(PgConnectTest, EmptyNameIsInvalidArgument) {
  EXPECT_EQ(connect({.conninfo = conninfo()}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace xatm::postgresql::testing
