// Helpers for the PostgreSQL driver's own tests: plain (non-XA) connections for setup and
// checks, fresh XIDs, a fixture that starts every test from a clean table and no prepared
// transactions, and what the conformance suite's two PostgreSQL bindings (the driver directly,
// and through its xa_switch_t) share.
//
// Settings come from test_setting() (XATM_TEST_PG_CONNINFO, XATM_TEST_PG_NOPREPARE_CONNINFO):
// a missing server fails the test, it never skips. A few tests need a superuser session (to
// create a second role, to prepare a transaction owned by another role); they connect as
// `postgres` with the test conninfo's password, which scripts/test-servers.sh gives both roles.
#ifndef XATM_TESTS_INTEGRATION_POSTGRESQL_PG_TEST_UTIL_H_
#define XATM_TESTS_INTEGRATION_POSTGRESQL_PG_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "driver_under_test.h"
#include "xatm/driver/resource.h"
#include "xatm/status.h"
#include "xatm/xa.h"
#include "xatm/xid.h"

namespace xatm::postgresql::testing {

// The test server's conninfo (role xatm, database xatm_test), the max_prepared_transactions=0
// server's, and a superuser conninfo for the first.
std::string conninfo();
std::string noprepare_conninfo();
std::string superuser_conninfo();

// The xa_open info string of xatm_postgresql_xa_switch for `conninfo`, named `name`: each of
// the conninfo's keywords (as libpq parses it) and `name`, every value single-quoted.
std::string switch_open_info(const std::string& name,
                             const std::string& conninfo = testing::conninfo());
// A Resource adopted from `xa_switch` (xatm_postgresql_xa_switch, linked or loaded) for the test
// server, named `name`. Throws std::runtime_error when adoption fails (gtest reports it).
std::unique_ptr<Resource> adopt_test_switch(const xa_switch_t& xa_switch, const std::string& name);

// A second login role, made on demand on both servers, whose password appears nowhere else:
// tests assert that it never shows up in a message.
inline constexpr const char* kProbeRole = "xatm_probe";
inline constexpr const char* kProbePassword = "Probe-Pw-51f2c9";
// Creates the role (idempotent) on the server of `superuser`.
void ensure_probe_role(const std::string& superuser);

// A plain autocommit libpq connection. Fails the test when it cannot connect.
class PlainConnection {
 public:
  explicit PlainConnection(const std::string& conninfo = testing::conninfo());
  PlainConnection(const PlainConnection&) = delete;
  PlainConnection& operator=(const PlainConnection&) = delete;
  ~PlainConnection();

  PGconn* get() const { return conn_; }
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  // Runs `sql`; the error names its SQLSTATE.
  Status exec(const std::string& sql);
  // The first column of the first row (nullopt for NULL or no row); the error names its SQLSTATE.
  Result<std::optional<std::string>> value(const std::string& sql);
  // value() as an integer; fails the test (and answers -1) on an error or a NULL.
  std::int64_t integer(const std::string& sql);

 private:
  PGconn* conn_;
};

// Passes when `reply` has `code`; the failure message shows both names and the reply's detail.
::testing::AssertionResult is_xa(const XaReply& reply, int code);

// The SQLSTATE and message of a failed result, "" and "" when it succeeded.
std::string sqlstate_of(const PGresult* result);

// Runs application SQL on an enlisted session; the error names the SQLSTATE.
Status run(XaConnection& session, const std::string& sql);
Status run(PGconn* conn, const std::string& sql);
// Runs application SQL on the session xatm_postgresql_xa_switch (the linked one) opened for
// `rmid`. Call it on the rmid's thread of control (run_in_thread_of_control, SwitchConnection::
// run_in_thread); kFailedPrecondition when this thread has not opened `rmid`.
Status run_on_switch(int rmid, const std::string& sql);
// The SQLSTATE `sql` failed with on the session ("" if it succeeded).
std::string failing_sqlstate(XaConnection& session, const std::string& sql);
// The libpq handle behind a PostgreSQL XaConnection (null for another driver's).
PGconn* native(XaConnection& session);

// A new XID of xatm's format, unique across test processes; `bqual` is its branch index.
Xid fresh_xid(std::uint16_t branch = 0);

// The gid the driver uses for `xid`.
std::string gid_of(const Xid& xid);
// Whether pg_prepared_xacts (any database) lists `xid`'s gid.
bool is_prepared(const Xid& xid);
// Rolls back every prepared transaction of the test database (test data only).
void roll_back_all_prepared();

// A session of a fresh resource on the test server ("pg"); fails the test when it cannot connect.
std::unique_ptr<XaConnection> open_session(const std::string& conninfo = testing::conninfo());

// (Re)creates table `table` (id integer primary key, balance bigint not null) holding rows
// (1, 100) .. (rows, 100), through a plain connection. Prepared transactions left behind by an
// earlier test that hold locks on the table would make DROP TABLE wait for ever: those are
// rolled back first (test data only), and lock_timeout turns any other wait into an error.
Status reset_table(const std::string& table, int rows);

// The parts of the conformance suite's DriverUnderTest that do not depend on how the driver's
// sessions are made; a binding adds make_resource(), execute() and kill_session(). name() and
// server_name() are final: the suite may branch on them, so every PostgreSQL binding answers
// alike.
class PostgresqlDriverUnderTest : public xatm::testing::DriverUnderTest {
 public:
  std::string name() const final { return "postgresql"; }
  std::string server_name() const final { return "postgresql"; }
  Status reset_table(const std::string& table, int rows) override {
    return testing::reset_table(table, rows);
  }
  Result<std::int64_t> query_int(const std::string& sql) override;
  // Through a fresh session of make_resource(): the binding under test lists them.
  Result<std::vector<Xid>> prepared_xids() override;

 protected:
  // Ends backend `pid` from another connection, as kill_session() promises:
  // pg_terminate_backend(pid, timeout) waits until the backend has exited, so the session's
  // transaction is gone (rolled back) when this returns.
  static Status terminate_backend(int pid);
};

// Fixture: table `t` (id integer primary key, balance bigint) with rows (1,100), (2,100),
// (3,100), no prepared transactions before and after each test.
class PgTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // balance of row `id` as committed data shows it.
  std::int64_t balance(int id);
};

}  // namespace xatm::postgresql::testing

#endif  // XATM_TESTS_INTEGRATION_POSTGRESQL_PG_TEST_UTIL_H_
