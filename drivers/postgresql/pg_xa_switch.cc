// xatm_postgresql_xa_switch: the PostgreSQL driver as a standard xa_switch_t (see
// switch_export.h).
#include "xatm/driver/open_info.h"
#include "pg_connection.h"
#include "xatm/driver/switch_export.h"
#include "xatm/postgresql/postgresql.h"

namespace xatm::postgresql {
namespace {

Result<std::shared_ptr<Resource>> resource_from_open_info(std::string_view info) {
  Result<DataSource> config = data_source_from_open_info(info);
  if (!config.ok()) return config.status();
  return std::shared_ptr<Resource>(make_resource(std::move(*config)));
}

xatm::driver::SwitchExport& exported() {
  thread_local xatm::driver::SwitchExport state("xatm-postgresql", &resource_from_open_info);
  return state;
}

}  // namespace

Result<DataSource> data_source_from_open_info(std::string_view info) {
  Result<xatm::driver::OpenInfo> pairs = xatm::driver::parse_open_info(info);
  if (!pairs.ok()) return pairs.status();
  DataSource config{.name = "xatm-postgresql"};
  // Everything but `name` goes to libpq as it came, re-quoted; libpq judges the keywords.
  for (const auto& [key, value] : *pairs) {
    if (key == "name") {
      config.name = value;
      continue;
    }
    if (!config.conninfo.empty()) config.conninfo += ' ';
    config.conninfo += key + "=" + xatm::driver::quote_open_info_value(value);
  }
  return config;
}

PGconn* switch_connection(int rmid) {
  auto* session = dynamic_cast<internal::PgConnection*>(exported().session(rmid));
  return session == nullptr ? nullptr : session->native();
}

}  // namespace xatm::postgresql

extern "C" {
xa_switch_t xatm_postgresql_xa_switch =
    xatm::driver::exported_switch<&xatm::postgresql::exported>("xatm-postgresql");
}
