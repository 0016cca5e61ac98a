#include "xatm/postgresql/postgresql.h"

#include <utility>

#include "pg_connection.h"
#include "pg_resource.h"

namespace xatm::postgresql {

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
