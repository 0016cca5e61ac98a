// PgResource: one configured PostgreSQL data source (the Resource of the driver).
//
// connect() opens a libpq session with the DataSource's options and checks the server's XA
// prerequisites before handing it out:
//   - the conninfo parses (kInvalidArgument, password scrubbed from the message);
//   - the connection succeeds (kInvalidArgument: authentication failed, missing database or
//     role, no pg_hba.conf entry; kUnavailable: unreachable, down, starting up, too many
//     connections, connect_timeout expired);
//   - the server is PostgreSQL 10 or later (txid_current_if_assigned(); kFailedPrecondition);
//   - SHOW max_prepared_transactions is > 0 (kFailedPrecondition naming the setting, the file
//     and the restart it needs).
// Every message names the data source and where the session went (host, port, dbname, user),
// never the password.
//
// Thread safety: name() and connect() may be called from any thread concurrently; the object
// holds only its immutable configuration.
#ifndef XATM_DRIVERS_POSTGRESQL_PG_RESOURCE_H_
#define XATM_DRIVERS_POSTGRESQL_PG_RESOURCE_H_

#include <memory>
#include <string>

#include "xatm/postgresql/postgresql.h"
#include "xatm/driver/resource.h"

namespace xatm::postgresql::internal {

class PgResource : public Resource {
 public:
  explicit PgResource(DataSource config);

  [[nodiscard]] const std::string& name() const override { return config_.name; }
  Result<std::unique_ptr<XaConnection>> connect() override;

 private:
  const DataSource config_;
};

}  // namespace xatm::postgresql::internal

#endif  // XATM_DRIVERS_POSTGRESQL_PG_RESOURCE_H_
