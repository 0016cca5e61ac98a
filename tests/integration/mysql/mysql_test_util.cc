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
#include <thread>

#include "driver_thread.h"
#include "driver_under_test.h"

namespace xatm::mysql::testing {

using xatm::testing::test_setting;

DataSource test_data_source(const std::string& name) {
  return DataSource{.name = name,
                    .unix_socket = test_setting("MYSQL_SOCKET"),
                    .user = test_setting("MYSQL_USER"),
                    .password = test_setting("MYSQL_PASSWORD"),
                    .database = test_setting("MYSQL_DATABASE")};
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

void reset_table(const std::string& name, int rows) {
  std::string insert = "INSERT INTO " + name + " VALUES ";
  for (int id = 1; id <= rows; ++id) {
    insert += (id > 1 ? ",(" : "(") + std::to_string(id) + ",100)";
  }
  run_plain("DROP TABLE IF EXISTS " + name);
  run_plain("CREATE TABLE " + name + " (id INT PRIMARY KEY, balance BIGINT) ENGINE=InnoDB");
  if (rows > 0) run_plain(insert);
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
      if (row.format_id == kTestFormatId || row.format_id == kForeignFormatId)
        leftovers.push_back(row);
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

std::unique_ptr<internal::MysqlXaConnection> open_session(Resource& resource) {
  Result<std::unique_ptr<XaConnection>> session = resource.connect();
  EXPECT_TRUE(session.ok()) << session.status().to_string();
  if (!session.ok()) return nullptr;
  auto* mysql = dynamic_cast<internal::MysqlXaConnection*>(session->get());
  EXPECT_NE(mysql, nullptr);
  if (mysql == nullptr) return nullptr;
  return std::unique_ptr<internal::MysqlXaConnection>(
      static_cast<internal::MysqlXaConnection*>(session->release()));
}

std::vector<Xid> recovered(Resource& resource) {
  std::unique_ptr<internal::MysqlXaConnection> session = open_session(resource);
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

void MysqlTest::SetUp() {
  roll_back_leftovers();
  reset_table("t", 3);
}

}  // namespace xatm::mysql::testing
