// xatm_postgresql_xa_switch: the PostgreSQL driver as a standard xa_switch_t (see
// switch_export.h).
#include "xatm/driver/open_info.h"
#include "pg_connection.h"
#include "xatm/driver/switch_export.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/postgresql/xa_switch.h"

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
  // The info string is a libpq conninfo plus `name`: only that pair is taken out, and the rest
  // goes to libpq exactly as written (never re-quoted).
  XATM_ASSIGN_OR_RETURN(xatm::driver::TakenKey name,
                        xatm::driver::take_open_info_key(info, "name"));
  Result<DataSource> config = data_source_from_settings(
      {{"name", name.value.value_or("xatm-postgresql")}, {"conninfo", std::move(name.rest)}});
  if (!config.ok()) return config.status().with_context("xa_open info string");
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

PGconn* xatm_postgresql_switch_connection(int rmid) {
  return xatm::postgresql::switch_connection(rmid);
}
}
