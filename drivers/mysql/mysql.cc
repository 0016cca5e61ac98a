#include "xatm/mysql/mysql.h"

#include <exception>
#include <utility>

#include "mysql_driver_thread.h"
#include "mysql_resource.h"
#include "mysql_connection.h"
#include "xatm/transaction_manager.h"

namespace xatm::mysql {

std::unique_ptr<Resource> make_resource(DataSource config) {
  return std::make_unique<internal::MysqlResource>(std::move(config));
}

Result<sql::Connection*> connection(Transaction& tx, std::string_view data_source) {
  // The application uses the returned connection on this thread: Connector/C++ needs it set up
  // even when the session came from an earlier call on another thread.
  try {
    internal::driver_for_this_thread();
  } catch (const std::exception& e) {
    return internal_error("MySQL Connector/C++ cannot be set up on this thread: " +
                          std::string(e.what()));
  }
  Result<XaConnection*> session = tx.enlist(data_source);
  if (!session.ok()) return session.status();
  auto* mysql_session = dynamic_cast<internal::MysqlConnection*>(*session);
  if (mysql_session == nullptr) {
    return invalid_argument_error("data source '" + std::string(data_source) +
                                  "' is not a MySQL/MariaDB data source");
  }
  return &mysql_session->sql_connection();
}

}  // namespace xatm::mysql
