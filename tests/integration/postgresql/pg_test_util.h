// Helpers for the PostgreSQL driver's own tests: plain (non-XA) connections for setup and
// checks, fresh XIDs, and a fixture that starts every test from a clean table and no prepared
// transactions.
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

#include "xatm/resource.h"
#include "xatm/status.h"
#include "xatm/xid.h"

namespace xatm::postgresql::testing {

// The test server's conninfo (role xatm, database xatm_test), the max_prepared_transactions=0
// server's, and a superuser conninfo for the first.
std::string conninfo();
std::string noprepare_conninfo();
std::string superuser_conninfo();

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
