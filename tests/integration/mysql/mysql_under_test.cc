// The MySQL driver as the conformance suite (tests/integration/common) sees it.
#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include "driver_thread.h"
#include "driver_under_test.h"
#include "mysql_test_util.h"

namespace xatm::testing {
namespace {

using mysql::internal::MysqlXaConnection;
using mysql::internal::SqlError;

Status sql_status(const SqlError& error) {
  const std::string message = "MariaDB " + mysql::internal::describe(error);
  if (mysql::internal::is_connection_lost(error)) return unavailable_error(message);
  if (error.code == mysql::internal::kErrDeadlock ||
      error.code == mysql::internal::kErrLockWaitTimeout) {
    return aborted_error(message);
  }
  return failed_precondition_error(message);
}

SqlError from_exception(const sql::SQLException& e) {
  return SqlError{e.getErrorCode(), e.getSQLState(), e.what()};
}

class MysqlUnderTest : public DriverUnderTest {
 public:
  [[nodiscard]] std::string name() const override { return "mysql"; }
  [[nodiscard]] std::string server_name() const override { return "mariadb"; }

  std::unique_ptr<Resource> make_resource(const std::string& data_source) override {
    return mysql::make_resource(mysql::testing::test_data_source(data_source));
  }

  Status reset_table(const std::string& table, int rows) override {
    std::string insert = "INSERT INTO " + table + " VALUES ";
    for (int id = 1; id <= rows; ++id) {
      insert += (id > 1 ? ",(" : "(") + std::to_string(id) + ",100)";
    }
    XATM_RETURN_IF_ERROR(plain("DROP TABLE IF EXISTS " + table));
    XATM_RETURN_IF_ERROR(
        plain("CREATE TABLE " + table + " (id INT PRIMARY KEY, balance BIGINT) ENGINE=InnoDB"));
    return rows > 0 ? plain(insert) : Status();
  }

  Status execute(XaConnection& session, const std::string& sql) override {
    auto* mysql_session = dynamic_cast<MysqlXaConnection*>(&session);
    if (mysql_session == nullptr) return invalid_argument_error("not a MySQL session");
    std::optional<SqlError> error = mysql::testing::run(mysql_session->sql_connection(), sql);
    return error ? sql_status(*error) : Status();
  }

  Result<std::int64_t> query_int(const std::string& sql) override {
    try {
      std::unique_ptr<sql::Connection> connection = mysql::testing::plain_connection();
      std::unique_ptr<sql::Statement> handle(connection->createStatement());
      std::unique_ptr<sql::ResultSet> rows(handle->executeQuery(sql));
      if (!rows->next()) return not_found_error(sql + ": no row");
      return static_cast<std::int64_t>(rows->getInt64(1));
    } catch (const sql::SQLException& e) {
      return sql_status(from_exception(e));
    }
  }

  Status kill_session(XaConnection& session) override {
    auto* mysql_session = dynamic_cast<MysqlXaConnection*>(&session);
    if (mysql_session == nullptr) return invalid_argument_error("not a MySQL session");
    mysql::testing::kill_and_wait(mysql_session->connection_id());
    return Status();
  }

  Result<std::vector<Xid>> prepared_xids() override {
    std::unique_ptr<Resource> resource = make_resource("prepared-xids");
    Result<std::unique_ptr<XaConnection>> session = resource->connect();
    if (!session.ok()) return session.status();
    XaConnection::Recovered recovered = (*session)->recover();
    if (!recovered.reply.ok()) {
      return unavailable_error("recover: " + xa_code_name(recovered.reply.code) + " " +
                               recovered.reply.detail);
    }
    return recovered.xids;
  }

 private:
  static Status plain(const std::string& statement) {
    try {
      std::unique_ptr<sql::Connection> connection = mysql::testing::plain_connection();
      std::optional<SqlError> error = mysql::testing::run(*connection, statement);
      return error ? sql_status(*error) : Status();
    } catch (const sql::SQLException& e) {
      return sql_status(from_exception(e));
    }
  }
};

}  // namespace

DriverUnderTest& driver_under_test() {
  static MysqlUnderTest driver;
  return driver;
}

}  // namespace xatm::testing
