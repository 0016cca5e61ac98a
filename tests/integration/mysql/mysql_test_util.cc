#include "mysql_test_util.h"

#include <cppconn/connection.h>
#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "mysql_driver_thread.h"
#include "driver_under_test.h"
#include "xatm/driver/open_info.h"
#include "xatm/xa_switch.h"

namespace xatm::mysql::testing {

using xatm::testing::test_setting;

DataSource test_data_source(const std::string& name) {
  return DataSource{.name = name,
                    .unix_socket = test_setting("MYSQL_SOCKET"),
                    .user = test_setting("MYSQL_USER"),
                    .password = test_setting("MYSQL_PASSWORD"),
                    .database = test_setting("MYSQL_DATABASE")};
}

std::string switch_open_info(const DataSource& config) {
  using xatm::driver::quote_open_info_value;
  const std::pair<const char*, std::string> pairs[] = {
      {"name", config.name},
      {"host", config.host},
      {"port", std::to_string(config.port)},
      {"unix_socket", config.unix_socket},
      {"user", config.user},
      {"password", config.password},
      {"database", config.database},
      {"connect_timeout", std::to_string(config.connect_timeout.count())},
      {"read_timeout", std::to_string(config.read_timeout.count())},
      {"write_timeout", std::to_string(config.write_timeout.count())},
  };
  std::string info;
  for (const auto& [key, value] : pairs) {
    info += (info.empty() ? "" : " ") + std::string(key) + "=" + quote_open_info_value(value);
  }
  return info;
}

std::unique_ptr<Resource> adopt_test_switch(const xa_switch_t& xa_switch, const std::string& name) {
  Result<std::unique_ptr<Resource>> resource =
      adopt_xa_switch({.name = name,
                       .xa_switch = &xa_switch,
                       .open_info = switch_open_info(test_data_source(name))});
  if (!resource.ok()) throw std::runtime_error(resource.status().to_string());
  return std::move(*resource);
}

std::unique_ptr<sql::Connection> plain_connection() {
  const DataSource config = test_data_source();
  sql::ConnectOptionsMap options;
  options["hostName"] = sql::SQLString("unix://" + config.unix_socket);
  options["userName"] = sql::SQLString(config.user);
  options["password"] = sql::SQLString(config.password);
  options["schema"] = sql::SQLString(config.database);
  options["OPT_RECONNECT"] = false;
  options["OPT_CONNECT_TIMEOUT"] = 10;
  options["OPT_READ_TIMEOUT"] = 30;
  options["OPT_WRITE_TIMEOUT"] = 30;
  return std::unique_ptr<sql::Connection>(internal::driver_for_this_thread().connect(options));
}

std::optional<internal::SqlError> run(sql::Connection& connection, const std::string& statement) {
  try {
    internal::driver_for_this_thread();
    std::unique_ptr<sql::Statement> handle(connection.createStatement());
    // A result left unread would put the session out of sync (2014) for the next statement.
    if (handle->execute(statement)) std::unique_ptr<sql::ResultSet>(handle->getResultSet());
    return std::nullopt;
  } catch (const sql::SQLException& e) {
    return internal::SqlError{e.getErrorCode(), e.getSQLState(), e.what()};
  }
}

Status sql_status(const internal::SqlError& error) {
  const std::string message = "MariaDB " + internal::describe(error);
  if (internal::is_connection_lost(error)) return unavailable_error(message);
  if (error.code == internal::kErrDeadlock || error.code == internal::kErrLockWaitTimeout) {
    return aborted_error(message);
  }
  return failed_precondition_error(message);
}

Status execute(sql::Connection& connection, const std::string& statement) {
  std::optional<internal::SqlError> error = run(connection, statement);
  return error ? sql_status(*error) : Status();
}

Status execute_on_switch(int rmid, const std::string& statement) {
  sql::Connection* connection = switch_connection(rmid);
  if (connection == nullptr) {
    return failed_precondition_error("xatm_mysql_xa_switch has no session of rmid " +
                                     std::to_string(rmid) + " on this thread");
  }
  return execute(*connection, statement);
}

Result<std::int64_t> query_int(sql::Connection& connection, const std::string& query) {
  try {
    internal::driver_for_this_thread();
    std::unique_ptr<sql::Statement> handle(connection.createStatement());
    std::unique_ptr<sql::ResultSet> rows(handle->executeQuery(query));
    if (!rows->next()) return not_found_error(query + ": no row");
    return static_cast<std::int64_t>(rows->getInt64(1));
  } catch (const sql::SQLException& e) {
    return sql_status({e.getErrorCode(), e.getSQLState(), e.what()});
  }
}

void run_plain(const std::string& statement) {
  try {
    std::unique_ptr<sql::Connection> connection = plain_connection();
    std::optional<internal::SqlError> error = run(*connection, statement);
    EXPECT_FALSE(error.has_value()) << statement << ": " << internal::describe(*error);
  } catch (const sql::SQLException& e) {
    ADD_FAILURE() << "cannot connect to the test server: " << e.what();
  }
}

std::int64_t query_plain(const std::string& query) {
  try {
    std::unique_ptr<sql::Connection> connection = plain_connection();
    std::unique_ptr<sql::Statement> handle(connection->createStatement());
    std::unique_ptr<sql::ResultSet> rows(handle->executeQuery(query));
    if (rows->next()) return rows->getInt64(1);
    ADD_FAILURE() << query << ": no row";
  } catch (const sql::SQLException& e) {
    ADD_FAILURE() << query << ": " << e.what();
  }
  return -1;
}

namespace {

// Runs `statement` on a new plain connection.
Status plain(const std::string& statement) {
  try {
    std::unique_ptr<sql::Connection> connection = plain_connection();
    return execute(*connection, statement);
  } catch (const sql::SQLException& e) {
    return sql_status({e.getErrorCode(), e.getSQLState(), e.what()});
  }
}

Status recreate_table(const std::string& name, int rows) {
  std::string insert = "INSERT INTO " + name + " VALUES ";
  for (int id = 1; id <= rows; ++id) {
    insert += (id > 1 ? ",(" : "(") + std::to_string(id) + ",100)";
  }
  XATM_RETURN_IF_ERROR(plain("DROP TABLE IF EXISTS " + name));
  XATM_RETURN_IF_ERROR(
      plain("CREATE TABLE " + name + " (id INT PRIMARY KEY, balance BIGINT) ENGINE=InnoDB"));
  return rows > 0 ? plain(insert) : Status();
}

}  // namespace

void reset_table(const std::string& name, int rows) {
  const Status reset = recreate_table(name, rows);
  EXPECT_TRUE(reset.ok()) << name << ": " << reset.to_string();
}

void roll_back_leftovers() {
  try {
    std::unique_ptr<sql::Connection> connection = plain_connection();
    std::unique_ptr<sql::Statement> handle(connection->createStatement());
    std::unique_ptr<sql::ResultSet> rows(handle->executeQuery("XA RECOVER"));
    std::vector<internal::RecoverRow> leftovers;
    while (rows->next()) {
      internal::RecoverRow row{rows->getInt64(1), rows->getInt64(2), rows->getInt64(3),
                               rows->getString(4).asStdString()};
      Result<Xid> xid = internal::decode_recover_row(row);
      Result<GtridInfo> tm_xid = xid.ok() ? decode_gtrid(*xid) : Result<GtridInfo>(xid.status());
      if (row.format_id == kTestFormatId || row.format_id == kForeignFormatId ||
          (tm_xid.ok() && tm_xid->node_name == kDriverTestNode)) {
        leftovers.push_back(row);
      }
    }
    for (const internal::RecoverRow& row : leftovers) {
      Result<Xid> xid = internal::decode_recover_row(row);
      if (xid.ok()) run(*connection, "XA ROLLBACK " + *internal::xid_literal(*xid)).reset();
    }
  } catch (const sql::SQLException& e) {
    ADD_FAILURE() << "cannot clean up the test server: " << e.what();
  }
}

Xid test_xid() {
  static std::atomic<std::uint32_t> counter{0};
  const std::string gtrid =
      "xatm-mysql-test-" + std::to_string(getpid()) + "-" + std::to_string(counter.fetch_add(1)) +
      "-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  const std::string bqual = "b1";
  Result<Xid> xid =
      Xid::make(kTestFormatId, {reinterpret_cast<const std::uint8_t*>(gtrid.data()), gtrid.size()},
                {reinterpret_cast<const std::uint8_t*>(bqual.data()), bqual.size()});
  EXPECT_TRUE(xid.ok()) << xid.status().to_string();
  return *xid;
}

Xid tm_branch_xid(const internal::MysqlConnection& session) {
  static std::atomic<std::uint64_t> sequence{1};
  Result<Xid> global = make_global_xid(
      {.node_name = kDriverTestNode,
       .created = std::chrono::system_clock::now(),
       .timeout = std::chrono::milliseconds(60'000),
       .sequence = (static_cast<std::uint64_t>(getpid()) << 32) + sequence.fetch_add(1)});
  EXPECT_TRUE(global.ok()) << global.status().to_string();
  return global->branch(0, session.branch_tag());
}

std::unique_ptr<internal::MysqlConnection> open_session(Resource& resource) {
  Result<std::unique_ptr<XaConnection>> session = resource.connect();
  EXPECT_TRUE(session.ok()) << session.status().to_string();
  if (!session.ok()) return nullptr;
  auto* mysql = dynamic_cast<internal::MysqlConnection*>(session->get());
  EXPECT_NE(mysql, nullptr);
  if (mysql == nullptr) return nullptr;
  return std::unique_ptr<internal::MysqlConnection>(
      static_cast<internal::MysqlConnection*>(session->release()));
}

std::vector<Xid> recovered(Resource& resource) {
  std::unique_ptr<internal::MysqlConnection> session = open_session(resource);
  if (session == nullptr) return {};
  XaConnection::Recovered result = session->recover();
  EXPECT_TRUE(result.reply.ok()) << xa_code_name(result.reply.code) << " " << result.reply.detail;
  return result.xids;
}

bool is_listed(Resource& resource, const Xid& xid) {
  const std::vector<Xid> xids = recovered(resource);
  return std::find(xids.begin(), xids.end(), xid) != xids.end();
}

void wait_for_lock_wait() {
  // INNODB_TRX is a cache that InnoDB refreshes only when nobody read it for 0.1 s: poll slower.
  for (int i = 0; i < 25; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    if (query_plain("SELECT COUNT(*) FROM information_schema.INNODB_TRX "
                    "WHERE trx_state = 'LOCK WAIT'") > 0) {
      return;
    }
  }
  ADD_FAILURE() << "no transaction started to wait for a lock";
}

XaReply retry_while_attached(const std::function<XaReply()>& verb) {
  XaReply reply = verb();
  for (int i = 0; i < 100 && reply.code == XA_RETRY; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    reply = verb();
  }
  return reply;
}

void kill_and_wait(std::uint64_t connection_id) {
  run_plain("KILL CONNECTION " + std::to_string(connection_id));
  const std::string query = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = " +
                            std::to_string(connection_id);
  for (int i = 0; i < 100 && query_plain(query) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(query_plain(query), 0) << "session " << connection_id << " survived KILL";
}

Status MysqlDriverUnderTest::reset_table(const std::string& table, int rows) {
  return recreate_table(table, rows);
}

Result<std::int64_t> MysqlDriverUnderTest::query_int(const std::string& sql) {
  try {
    std::unique_ptr<sql::Connection> connection = plain_connection();
    return mysql::testing::query_int(*connection, sql);
  } catch (const sql::SQLException& e) {
    return sql_status({e.getErrorCode(), e.getSQLState(), e.what()});
  }
}

Result<std::vector<Xid>> MysqlDriverUnderTest::prepared_xids() {
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

void MysqlTest::SetUp() {
  roll_back_leftovers();
  reset_table("t", 3);
}

}  // namespace xatm::mysql::testing
