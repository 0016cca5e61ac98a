// The MySQL driver through its xa_switch_t, as the conformance suite (tests/integration/common)
// sees it: every session is an rmid of xatm_mysql_xa_switch (linked in, not loaded) adopted
// with adopt_xa_switch(), so each verb goes SwitchConnection -> the switch's entry points -> the
// driver, on the session's own thread of control, and the application's SQL runs there too.
#include <cppconn/connection.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>

#include "driver_under_test.h"
#include "mysql_test_util.h"
#include "xa/xa_switch_adapter.h"

namespace xatm::testing {
namespace {

using internal::SwitchConnection;

class MysqlSwitchUnderTest : public mysql::testing::MysqlDriverUnderTest {
 public:
  std::unique_ptr<Resource> make_resource(const std::string& data_source) override {
    return mysql::testing::adopt_test_switch(xatm_mysql_xa_switch, data_source);
  }

  // switch_connection() answers only on the thread that opened the rmid: the session's thread
  // of control.
  Status execute(XaConnection& session, const std::string& sql) override {
    auto* switch_session = dynamic_cast<SwitchConnection*>(&session);
    if (switch_session == nullptr) return invalid_argument_error("not an XA switch session");
    Status status;
    switch_session->run_in_thread([&](int rmid) {
      sql::Connection* connection = mysql::switch_connection(rmid);
      if (connection != nullptr) note_connection_id(rmid, *connection);
      status = mysql::testing::execute_on_switch(rmid, sql);
    });
    return status;
  }

  Status kill_session(XaConnection& session) override {
    auto* switch_session = dynamic_cast<SwitchConnection*>(&session);
    if (switch_session == nullptr) return invalid_argument_error("not an XA switch session");
    std::optional<std::uint64_t> id;
    {
      std::lock_guard lock(mutex_);
      if (auto it = connection_ids_.find(switch_session->rmid()); it != connection_ids_.end()) {
        id = it->second;
      }
    }
    if (!id) {
      return failed_precondition_error("rmid " + std::to_string(switch_session->rmid()) +
                                       " ran no SQL through execute(): its server session is "
                                       "not known");
    }
    mysql::testing::kill_and_wait(*id);
    return Status();
  }

 private:
  // Notes the server's CONNECTION_ID() of the rmid's session for kill_session(), which cannot
  // ask the session itself: once the branch is ended or prepared MariaDB refuses every
  // statement on it (1399), and the switch gives no other way to the driver's session object.
  // Asked at every execute(), not only the first, because after a lost connection the switch
  // opens a new session under the same rmid. A failure (a session already lost, a branch
  // already rolled back) keeps the last id: the application's statement will report it.
  void note_connection_id(int rmid, sql::Connection& connection) {
    Result<std::int64_t> id = mysql::testing::query_int(connection, "SELECT CONNECTION_ID()");
    if (!id.ok()) return;
    std::lock_guard lock(mutex_);
    connection_ids_[rmid] = static_cast<std::uint64_t>(*id);
  }

  std::mutex mutex_;
  std::map<int, std::uint64_t> connection_ids_;  // rmid -> CONNECTION_ID(); guarded by mutex_
};

}  // namespace

DriverUnderTest& driver_under_test() {
  static MysqlSwitchUnderTest driver;
  return driver;
}

}  // namespace xatm::testing
