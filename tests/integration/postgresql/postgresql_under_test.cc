// The PostgreSQL driver as the conformance suite (tests/integration/common/) sees it.
#include <libpq-fe.h>

#include <string>

#include "driver_under_test.h"
#include "pg_test_util.h"
#include "xatm/postgresql/postgresql.h"

namespace xatm::testing {
namespace {

namespace pgt = postgresql::testing;

class PostgresqlUnderTest : public pgt::PostgresqlDriverUnderTest {
 public:
  std::unique_ptr<Resource> make_resource(const std::string& data_source) override {
    return postgresql::make_resource({.name = data_source, .conninfo = pgt::conninfo()});
  }

  Status execute(XaConnection& session, const std::string& sql) override {
    return pgt::run(session, sql);
  }

  Status kill_session(XaConnection& session) override {
    PGconn* conn = pgt::native(session);
    if (conn == nullptr) return invalid_argument_error("not a PostgreSQL session");
    return terminate_backend(PQbackendPID(conn));
  }
};

}  // namespace

DriverUnderTest& driver_under_test() {
  static PostgresqlUnderTest driver;
  return driver;
}

}  // namespace xatm::testing
