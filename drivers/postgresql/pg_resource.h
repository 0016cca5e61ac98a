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
// With DataSource::decision_table set, it also holds the data source's PgDecisionTable, whose
// sessions it opens the same way.
//
// Thread safety: name(), connect() and decision_table() may be called from any thread
// concurrently; the configuration is immutable and the decision table has its own lock.
#ifndef XATM_DRIVERS_POSTGRESQL_PG_RESOURCE_H_
#define XATM_DRIVERS_POSTGRESQL_PG_RESOURCE_H_

#include <memory>
#include <string>

#include "pg_decision_table.h"
#include "pg_session.h"
#include "xatm/driver/resource.h"
#include "xatm/postgresql/postgresql.h"

namespace xatm::postgresql::internal {

class PgResource : public Resource {
 public:
  explicit PgResource(DataSource config);

  [[nodiscard]] const std::string& name() const override { return config_.name; }
  Result<std::unique_ptr<XaConnection>> connect() override;
  // Null unless DataSource::decision_table is set. An invalid table name fails connect() and
  // every operation of the table, naming it.
  DecisionTable* decision_table() override { return decisions_.get(); }

 private:
  // A checked session of the data source (the prerequisites of connect()).
  Result<std::unique_ptr<PgSession>> open_session();

  const DataSource config_;
  const std::shared_ptr<PgDecisionTable> decisions_;
};

}  // namespace xatm::postgresql::internal

#endif  // XATM_DRIVERS_POSTGRESQL_PG_RESOURCE_H_
