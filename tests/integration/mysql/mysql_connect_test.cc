// Opening sessions: what a bad configuration answers, and what a good session looks like.
#include <cppconn/connection.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <gtest/gtest.h>

#include "mysql_test_util.h"

namespace xatm::mysql::testing {
namespace {

// Connects with `config` and expects `code`, a message naming the data source and `cause`,
// and no trace of the password.
void expect_refused(const DataSource& config, StatusCode code, const std::string& cause) {
  Result<std::unique_ptr<XaConnection>> session = make_resource(config)->connect();
  ASSERT_FALSE(session.ok());
  const std::string& message = session.status().message();
  EXPECT_EQ(session.status().code(), code) << session.status().to_string();
  EXPECT_NE(message.find("data source '" + config.name + "'"), std::string::npos) << message;
  EXPECT_NE(message.find(cause), std::string::npos) << message;
  EXPECT_EQ(message.find(config.password), std::string::npos) << message;
}

TEST(MysqlConnect, WrongPasswordIsInvalidArgument) {
  DataSource config = test_data_source("wrong-password");
  config.password = "not-the-password-4711";
  expect_refused(config, StatusCode::kInvalidArgument, "wrong user name or password");
}

// As the PostgreSQL driver: an invalid decision table name refuses the data source before the
// server is asked (and so fails start(), naming it).
TEST(MysqlConnect, AnInvalidDecisionTableNameIsInvalidArgument) {
  DataSource config = test_data_source("decisions");
  config.decision_table = "bad-name; DROP TABLE t";
  expect_refused(config, StatusCode::kInvalidArgument, "decision_table 'bad-name; DROP TABLE t' is not a table name");
}

TEST(MysqlConnect, MissingSocketIsUnavailable) {
  DataSource config = test_data_source("no-socket");
  config.unix_socket = "/nonexistent/xatm/mysqld.sock";
  config.password = "pw-that-must-not-leak";
  expect_refused(config, StatusCode::kUnavailable, "cannot reach the server");
  Result<std::unique_ptr<XaConnection>> session = make_resource(config)->connect();
  EXPECT_NE(session.status().message().find("/nonexistent/xatm/mysqld.sock"), std::string::npos);
}

TEST(MysqlConnect, UnreachableTcpPortIsUnavailable) {
  DataSource config = test_data_source("no-tcp");
  config.unix_socket.clear();
  config.host = "127.0.0.1";
  config.port = 1;  // nothing listens there
  config.password = "pw-that-must-not-leak";
  expect_refused(config, StatusCode::kUnavailable, "cannot reach the server");
}

TEST(MysqlConnect, MissingDatabaseIsNamed) {
  DataSource config = test_data_source("no-database");
  config.database = "no_such_database_4711";
  config.password = test_data_source().password;
  expect_refused(config, StatusCode::kInvalidArgument, "database 'no_such_database_4711'");
}

TEST(MysqlConnect, SessionIsUsableWithAutocommitAndNoReconnect) {
  std::unique_ptr<Resource> resource = make_resource(test_data_source());
  std::unique_ptr<internal::MysqlConnection> session = open_session(*resource);
  ASSERT_NE(session, nullptr);
  EXPECT_TRUE(session->usable());
  std::unique_ptr<sql::Statement> handle(session->sql_connection().createStatement());
  std::unique_ptr<sql::ResultSet> row(
      handle->executeQuery("SELECT CONNECTION_ID(), @@autocommit, DATABASE()"));
  ASSERT_TRUE(row->next());
  EXPECT_EQ(row->getUInt64(1), session->connection_id());
  EXPECT_EQ(row->getInt(2), 1);
  EXPECT_EQ(row->getString(3).asStdString(), test_data_source().database);
}

TEST(MysqlConnect, KilledSessionDoesNotReconnect) {
  // With OPT_RECONNECT the connector would silently open a new session and run the next
  // statement outside the branch, in autocommit mode (docs/driver-mysql.md).
  std::unique_ptr<Resource> resource = make_resource(test_data_source());
  std::unique_ptr<internal::MysqlConnection> session = open_session(*resource);
  ASSERT_NE(session, nullptr);
  kill_and_wait(session->connection_id());
  EXPECT_TRUE(run(session->sql_connection(), "SELECT 1").has_value());
  EXPECT_TRUE(run(session->sql_connection(), "SELECT 1").has_value());
  EXPECT_TRUE(run(session->sql_connection(), "SELECT 1").has_value());
}

TEST(MysqlConnect, EndSessionEndsAnotherSessionOfTheDataSource) {
  // The reaper's tool (XaConnection::end_session): another session KILLs it and waits for it.
  std::unique_ptr<Resource> resource = make_resource(test_data_source());
  std::unique_ptr<internal::MysqlConnection> victim = open_session(*resource);
  std::unique_ptr<internal::MysqlConnection> other = open_session(*resource);
  ASSERT_NE(victim, nullptr);
  ASSERT_NE(other, nullptr);
  const std::string key = victim->session_key();
  EXPECT_EQ(key.substr(0, key.find('@')), std::to_string(victim->connection_id()));
  Status ended = other->end_session(key);
  EXPECT_TRUE(ended.ok()) << ended.to_string();
  EXPECT_TRUE(run(victim->sql_connection(), "SELECT 1").has_value()) << "the session is gone";
  EXPECT_TRUE(other->end_session(key).ok()) << "a session that has ended already is ended";
  EXPECT_EQ(other->end_session("not a key").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(other->usable());
}

TEST(MysqlConnect, NameIsRequired) {
  Result<std::unique_ptr<XaConnection>> session = make_resource(DataSource{})->connect();
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace xatm::mysql::testing
