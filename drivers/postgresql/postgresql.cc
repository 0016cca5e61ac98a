#include "xatm/postgresql/postgresql.h"

#include <cstdint>
#include <utility>

#include "pg_connection.h"
#include "pg_conninfo.h"
#include "pg_decision_table.h"
#include "pg_resource.h"

namespace xatm::postgresql {
namespace {

using xatm::driver::setting_number;

// The keys of data_source_from_settings(), one per DataSource field. connect_timeout_s is the
// spelling xatm-recover's config file has always used.
constexpr xatm::driver::SettingKey kKeys[] = {
    {.name = "name", .required = true},
    {"conninfo"},
    {"host"},
    {"port"},
    {"user"},
    {"password"},
    {"dbname"},
    {"connect_timeout", "connect_timeout_s"},
    {"decision_table"},
};

constexpr std::uint64_t kMaxPort = 65535;
// What xatm-recover's config file has always accepted. DataSource itself also takes zero
// (libpq: wait forever), which text settings do not offer: a configured limit is a limit.
constexpr std::uint64_t kMaxTimeoutSeconds = 86400;

// Sets the field of `key` (a name of kKeys) from `value`.
Status set_field(DataSource& config, const std::string& key, const std::string& value) {
  if (key == "name") {
    config.name = value;
  } else if (key == "conninfo") {
    config.conninfo = value;
  } else if (key == "decision_table") {
    XATM_RETURN_IF_ERROR(validate_decision_table_name(config.name, value));
    config.decision_table = value;
  } else if (key == "port") {
    XATM_ASSIGN_OR_RETURN(const std::uint64_t port, setting_number(key, value, 1, kMaxPort));
    config.port = static_cast<std::uint16_t>(port);
  } else if (key == "connect_timeout") {
    XATM_ASSIGN_OR_RETURN(const std::uint64_t seconds,
                          setting_number(key, value, 1, kMaxTimeoutSeconds));
    config.connect_timeout = std::chrono::seconds(seconds);
  } else {
    std::optional<std::string>& field = key == "host"       ? config.host
                                        : key == "user"     ? config.user
                                        : key == "password" ? config.password
                                                            : config.dbname;
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
  XATM_RETURN_IF_ERROR(internal::check_conninfo(config.name, config.conninfo));
  return config;
}

std::unique_ptr<Resource> make_resource(DataSource config) {
  return std::make_unique<internal::PgResource>(std::move(config));
}

Result<PGconn*> connection(Transaction& tx, std::string_view data_source) {
  Result<XaConnection*> session = tx.enlist(data_source);
  if (!session.ok()) return session.status();
  auto* pg = dynamic_cast<internal::PgConnection*>(*session);
  if (pg == nullptr) {
    return invalid_argument_error("data source '" + std::string(data_source) +
                                  "' is not a PostgreSQL data source");
  }
  return pg->native();
}

}  // namespace xatm::postgresql
