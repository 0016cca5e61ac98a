// Uses the installed drivers: a data source of each (no server needed to build a Resource) and
// their XA switches as a C program declares them (xatm/<driver>/xa_switch.h).
#include <xatm/mysql/mysql.h>
#include <xatm/postgresql/postgresql.h>

#include <cstdio>
#include <cstring>
#include <memory>

int main() {
  std::unique_ptr<xatm::Resource> mysql = xatm::mysql::make_resource(
      xatm::mysql::DataSource{.name = "inventory", .host = "127.0.0.1", .user = "app",
                              .database = "shop"});
  std::unique_ptr<xatm::Resource> postgresql = xatm::postgresql::make_resource(
      xatm::postgresql::DataSource{.name = "billing", .conninfo = "host=/nonexistent dbname=x"});
  if (mysql->name() != "inventory" || postgresql->name() != "billing") return 1;
  if (std::strcmp(xatm_mysql_xa_switch.name, "xatm-mysql") != 0 ||
      std::strcmp(xatm_postgresql_xa_switch.name, "xatm-postgresql") != 0) {
    return 1;
  }
  std::printf("drivers %s %s, switches %s %s\n", mysql->name().c_str(),
              postgresql->name().c_str(), xatm_mysql_xa_switch.name, xatm_postgresql_xa_switch.name);
  return 0;
}
