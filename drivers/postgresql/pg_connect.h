// Opening a libpq session for a DataSource: the conninfo is checked, the connection made and
// the server version checked, every error naming the data source and where the session went
// (host, port, dbname, user), never the password. Used by the data sources (PgResource, which
// checks its XA prerequisites on top) and by the decision log.
//
// Thread safety: a pure function of its argument.
#ifndef XATM_DRIVERS_POSTGRESQL_PG_CONNECT_H_
#define XATM_DRIVERS_POSTGRESQL_PG_CONNECT_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pg_session.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/status.h"

namespace xatm::postgresql::internal {

// libpq keyword/value defaults that `config`'s conninfo and typed fields may override.
using ConnectDefaults = std::vector<std::pair<std::string, std::string>>;

// A session of `config`. kInvalidArgument for a malformed conninfo, bad credentials or a
// missing database; kUnavailable when the server cannot be reached; kFailedPrecondition for a
// server older than PostgreSQL 10.
Result<std::unique_ptr<PgSession>> connect_session(const DataSource& config,
                                                   const ConnectDefaults& defaults = {});

// "data source '<name>' (<host, port, dbname, user>)": how messages name the session's target.
std::string describe_session(const DataSource& config, const PgSession& session);

}  // namespace xatm::postgresql::internal

#endif  // XATM_DRIVERS_POSTGRESQL_PG_CONNECT_H_
