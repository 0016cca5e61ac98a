// Helpers of the MySQL driver's own integration tests: the test server's data source, plain
// (non-XA) connections for setup and checks, sessions of the driver, test XIDs, and what the
// conformance suite's two MySQL bindings (the driver directly, and through its xa_switch_t)
// share.
#ifndef XATM_TESTS_INTEGRATION_MYSQL_MYSQL_TEST_UTIL_H_
#define XATM_TESTS_INTEGRATION_MYSQL_MYSQL_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "driver_under_test.h"
#include "mysql_connection.h"
#include "xatm/mysql/mysql.h"
#include "xatm/driver/resource.h"
#include "xatm/status.h"
#include "xatm/xa.h"
#include "xatm/xid.h"

namespace sql {
class Connection;
}  // namespace sql

namespace xatm::mysql::testing {

// The formatID of every XID these tests create ("test"), so that leftovers can be found.
inline constexpr std::int64_t kTestFormatId = 0x74657374;
// The formatID of branches "another TM" creates in these tests.
inline constexpr std::int64_t kForeignFormatId = 7;

// The test server's data source (XATM_TEST_MYSQL_*), named `name`.
DataSource test_data_source(const std::string& name = "maria");

// The xa_open info string of xatm_mysql_xa_switch that describes `config`: every field of it,
// each value single-quoted, so that passwords or paths with spaces and quotes survive.
std::string switch_open_info(const DataSource& config);
// A Resource adopted from `xa_switch` (xatm_mysql_xa_switch, linked or loaded) for the test
// server, named `name`. Throws std::runtime_error when adoption fails (gtest reports it).
std::unique_ptr<Resource> adopt_test_switch(const xa_switch_t& xa_switch, const std::string& name);

// A plain session of the test server, outside any XA branch; throws sql::SQLException.
std::unique_ptr<sql::Connection> plain_connection();

// Runs `statement`; the vendor error, if any ("1213 (40001): Deadlock found...").
std::optional<internal::SqlError> run(sql::Connection& connection, const std::string& statement);

// A vendor error of application SQL as the conformance suite's DriverUnderTest::execute()
// reports it: kUnavailable for a lost session, kAborted for a deadlock or lock wait timeout,
// kFailedPrecondition otherwise; the message carries the code and SQLSTATE.
Status sql_status(const internal::SqlError& error);
// run() as such a Status.
Status execute(sql::Connection& connection, const std::string& statement);
// Runs application SQL on the session xatm_mysql_xa_switch (the linked one) opened for `rmid`.
// Call it on the rmid's thread of control (run_in_thread_of_control, SwitchConnection::
// run_in_thread); kFailedPrecondition when this thread has not opened `rmid`.
Status execute_on_switch(int rmid, const std::string& statement);
// The first column of the first row of `query` on `connection`, as an integer.
Result<std::int64_t> query_int(sql::Connection& connection, const std::string& query);

// Runs `statement` on a plain connection, failing the test on an error.
void run_plain(const std::string& statement);
// The first column of the first row of `query`, read on a plain connection (-1 on failure).
std::int64_t query_plain(const std::string& query);

// (Re)creates table `name` (id INT PRIMARY KEY, balance BIGINT), rows (1,100)..(rows,100).
void reset_table(const std::string& name, int rows);

// Rolls back every prepared branch with kTestFormatId or of node kDriverTestNode (leftovers of
// an earlier failed test).
void roll_back_leftovers();

// A new XID of kTestFormatId, unique within this process run.
Xid test_xid();

// The node name of tm_branch_xid()'s XIDs (roll_back_leftovers() rolls them back too).
inline constexpr const char* kDriverTestNode = "mysql-driver-test";

// A branch XID as the transaction manager makes one for `session`: xatm's formatID and gtrid
// layout (node kDriverTestNode), and the session's branch tag (mysql_branch_tag.h).
Xid tm_branch_xid(const internal::MysqlConnection& session);

// A session of `resource` as the driver's own type (fails the test when connect() fails).
std::unique_ptr<internal::MysqlConnection> open_session(Resource& resource);

// The XIDs a fresh session of `resource` recovers.
std::vector<Xid> recovered(Resource& resource);
bool is_listed(Resource& resource, const Xid& xid);

// Waits (at most about four seconds) until some transaction waits for a row lock.
void wait_for_lock_wait();

// Calls `verb` until it answers something else than XA_RETRY (a branch still attached to a
// session that is going away), for at most five seconds.
XaReply retry_while_attached(const std::function<XaReply()>& verb);

// KILLs the server session `connection_id` and waits until it is gone.
void kill_and_wait(std::uint64_t connection_id);

// The parts of the conformance suite's DriverUnderTest that do not depend on how the driver's
// sessions are made; a binding adds make_resource(), execute() and kill_session(). name() and
// server_name() are final: the suite may branch on them, so every MySQL binding answers alike.
class MysqlDriverUnderTest : public xatm::testing::DriverUnderTest {
 public:
  [[nodiscard]] std::string name() const final { return "mysql"; }
  [[nodiscard]] std::string server_name() const final { return "mariadb"; }
  Status reset_table(const std::string& table, int rows) override;
  Result<std::int64_t> query_int(const std::string& sql) override;
  // Through a fresh session of make_resource(): the binding under test lists them.
  Result<std::vector<Xid>> prepared_xids() override;
};

// Fixture: clean test XIDs before each test, and table `t` with rows 1..3.
class MysqlTest : public ::testing::Test {
 protected:
  void SetUp() override;

  std::unique_ptr<Resource> resource_ = make_resource(test_data_source());
};

}  // namespace xatm::mysql::testing

#endif  // XATM_TESTS_INTEGRATION_MYSQL_MYSQL_TEST_UTIL_H_
