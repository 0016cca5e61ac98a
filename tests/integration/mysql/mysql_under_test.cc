// The MySQL driver as the conformance suite (tests/integration/common) sees it.
#include "driver_under_test.h"
#include "mysql_test_util.h"

namespace xatm::testing {
namespace {

using mysql::internal::MysqlConnection;

class MysqlUnderTest : public mysql::testing::MysqlDriverUnderTest {
 public:
  std::unique_ptr<Resource> make_resource(const std::string& data_source) override {
    return mysql::make_resource(mysql::testing::test_data_source(data_source));
  }

  Status execute(XaConnection& session, const std::string& sql) override {
    auto* mysql_session = dynamic_cast<MysqlConnection*>(&session);
    if (mysql_session == nullptr) return invalid_argument_error("not a MySQL session");
    return mysql::testing::execute(mysql_session->sql_connection(), sql);
  }

  Status kill_session(XaConnection& session) override {
    auto* mysql_session = dynamic_cast<MysqlConnection*>(&session);
    if (mysql_session == nullptr) return invalid_argument_error("not a MySQL session");
    mysql::testing::kill_and_wait(mysql_session->connection_id());
    return Status();
  }
};

}  // namespace

DriverUnderTest& driver_under_test() {
  static MysqlUnderTest driver;
  return driver;
}

}  // namespace xatm::testing
