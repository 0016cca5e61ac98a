// What the conformance suite needs from a driver under test. Each driver's integration test
// binary implements this once (tests/integration/<driver>/<driver>_under_test.cc) and links the
// common suite (tests/integration/common/*_test.cc), which every driver must pass.
//
// The suite runs against the real servers of scripts/test-servers.sh. Settings come from the
// XATM_TEST_* environment variables, or, when they are absent, from `test-servers.sh env`.
// A missing server is a test failure, never a skip.
#ifndef XATM_TESTS_INTEGRATION_COMMON_DRIVER_UNDER_TEST_H_
#define XATM_TESTS_INTEGRATION_COMMON_DRIVER_UNDER_TEST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "xatm/driver/resource.h"
#include "xatm/status.h"

namespace xatm::testing {

class DriverUnderTest {
 public:
  virtual ~DriverUnderTest() = default;

  // "mysql" or "postgresql": also the test-servers.sh server name is server_name().
  virtual std::string name() const = 0;
  virtual std::string server_name() const = 0;  // "mariadb" / "postgresql"

  // A Resource named `data_source` connected to the test server with valid credentials.
  virtual std::unique_ptr<Resource> make_resource(const std::string& data_source) = 0;

  // (Re)creates table `table` (id integer primary key, balance bigint) holding rows
  // (1, 100) .. (rows, 100), through a plain non-XA connection.
  virtual Status reset_table(const std::string& table, int rows) = 0;

  // Runs application SQL on an enlisted session of this driver (inside its branch).
  // The error's message carries the vendor code / SQLSTATE.
  virtual Status execute(XaConnection& session, const std::string& sql) = 0;

  // Reads one integer through a separate plain connection (sees committed data only).
  virtual Result<std::int64_t> query_int(const std::string& sql) = 0;

  // Kills the server session behind `session` from another connection (KILL /
  // pg_terminate_backend), as a network cut or an administrator would.
  virtual Status kill_session(XaConnection& session) = 0;

  // The XIDs prepared on the server, as listed by a fresh session's recover().
  virtual Result<std::vector<Xid>> prepared_xids() = 0;
};

// Implemented by each driver's test binary.
DriverUnderTest& driver_under_test();

// The value of a test setting (XATM_TEST_<name>), read from the environment or, failing that,
// from `scripts/test-servers.sh env`. Fails the calling test (returns empty) when it is absent.
std::string test_setting(const std::string& name);

// Runs scripts/test-servers.sh with `args` (e.g. "restart mariadb"); OK when it exited 0.
Status run_test_servers(const std::string& args);

}  // namespace xatm::testing

#endif  // XATM_TESTS_INTEGRATION_COMMON_DRIVER_UNDER_TEST_H_
