// The PostgreSQL driver through its xa_switch_t, as the conformance suite
// (tests/integration/common/) sees it: every session is an rmid of xatm_postgresql_xa_switch
// (linked in, not loaded) adopted with adopt_xa_switch(), so each verb goes SwitchConnection ->
// the switch's entry points -> the driver, on the session's own thread of control, and the
// application's SQL runs there too.
#include <libpq-fe.h>

#include <string>

#include "driver_under_test.h"
#include "pg_test_util.h"
#include "xa/xa_switch_adapter.h"
#include "xatm/postgresql/postgresql.h"

namespace xatm::testing {
namespace {

namespace pgt = postgresql::testing;
using internal::SwitchConnection;

class PostgresqlSwitchUnderTest : public pgt::PostgresqlDriverUnderTest {
 public:
  std::unique_ptr<Resource> make_resource(const std::string& data_source) override {
    return pgt::adopt_test_switch(xatm_postgresql_xa_switch, data_source);
  }

  // switch_connection() answers only on the thread that opened the rmid: the session's thread
  // of control.
  Status execute(XaConnection& session, const std::string& sql) override {
    auto* switch_session = dynamic_cast<SwitchConnection*>(&session);
    if (switch_session == nullptr) return invalid_argument_error("not an XA switch session");
    Status status;
    switch_session->run_in_thread([&](int rmid) { status = pgt::run_on_switch(rmid, sql); });
    return status;
  }

  // PQbackendPID() needs no round trip, so unlike MariaDB's CONNECTION_ID() it can be asked in
  // any state of the branch.
  Status kill_session(XaConnection& session) override {
    auto* switch_session = dynamic_cast<SwitchConnection*>(&session);
    if (switch_session == nullptr) return invalid_argument_error("not an XA switch session");
    int pid = 0;
    switch_session->run_in_thread([&](int rmid) {
      if (PGconn* conn = postgresql::switch_connection(rmid)) pid = PQbackendPID(conn);
    });
    if (pid == 0) {
      return failed_precondition_error("rmid " + std::to_string(switch_session->rmid()) +
                                       " has no open PostgreSQL session");
    }
    return terminate_backend(pid);
  }
};

}  // namespace

DriverUnderTest& driver_under_test() {
  static PostgresqlSwitchUnderTest driver;
  return driver;
}

}  // namespace xatm::testing
