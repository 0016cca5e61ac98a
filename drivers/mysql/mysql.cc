#include "xatm/mysql/mysql.h"

#include <cstdint>
#include <exception>
#include <utility>

#include "mysql_driver_thread.h"
#include "mysql_resource.h"
#include "mysql_connection.h"
#include "xatm/transaction_manager.h"

namespace xatm::mysql {
namespace {

using xatm::driver::setting_number;

// The keys of data_source_from_settings(), one per DataSource field. The "_s" spellings are
// those xatm-recover's config file has always used.
constexpr xatm::driver::SettingKey kKeys[] = {
    {.name = "name", .required = true},
    {"host"},
    {"port"},
    {"unix_socket"},
    {"user"},
    {"password"},
    {"database"},
    {"connect_timeout", "connect_timeout_s"},
    {"read_timeout", "read_timeout_s"},
    {"write_timeout", "write_timeout_s"},
    {"decision_table"},
};

constexpr std::uint64_t kMaxPort = 65535;
constexpr std::uint64_t kMaxTimeoutSeconds = 86400;

// Sets the field of `key` (a name of kKeys) from `value`.
Status set_field(DataSource& config, const std::string& key, const std::string& value) {
  if (key == "port") {
    XATM_ASSIGN_OR_RETURN(const std::uint64_t port, setting_number(key, value, 1, kMaxPort));
    config.port = static_cast<unsigned>(port);
  } else if (key.ends_with("_timeout")) {
    XATM_ASSIGN_OR_RETURN(const std::uint64_t seconds,
                          setting_number(key, value, 1, kMaxTimeoutSeconds));
    std::chrono::seconds& field = key == "connect_timeout" ? config.connect_timeout
                                  : key == "read_timeout"  ? config.read_timeout
                                                           : config.write_timeout;
    field = std::chrono::seconds(seconds);
  } else if (key == "decision_table") {
    XATM_RETURN_IF_ERROR(validate_decision_table_name(config.name, value));
    config.decision_table = value;
  } else {
    std::string& field = key == "name"          ? config.name
                         : key == "host"        ? config.host
                         : key == "unix_socket" ? config.unix_socket
                         : key == "user"        ? config.user
                         : key == "password"    ? config.password
                                                : config.database;
    field = value;
  }
  return Status();
}

}  // namespace

Result<DataSource> data_source_from_settings(const xatm::driver::Settings& settings) {
  XATM_ASSIGN_OR_RETURN(const xatm::driver::Settings canonical,
                        xatm::driver::canonical_settings(settings, kKeys));
  DataSource config;
  for (const auto& [key, value] : canonical) XATM_RETURN_IF_ERROR(set_field(config, key, value));
  return config;
}

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
