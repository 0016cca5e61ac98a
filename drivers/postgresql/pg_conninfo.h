// From a DataSource to libpq's connection parameters, and from a failed connection attempt to a
// Status that names the data source and the cause without ever showing the password.
//
// Thread safety: pure functions (build_params only reads its argument).
#ifndef XATM_DRIVERS_POSTGRESQL_PG_CONNINFO_H_
#define XATM_DRIVERS_POSTGRESQL_PG_CONNINFO_H_

#include <libpq-fe.h>

#include <string>
#include <string_view>
#include <vector>

#include "xatm/postgresql/postgresql.h"
#include "xatm/status.h"

namespace xatm::postgresql::internal {

// Keyword/value arrays for PQconnectdbParams(keywords, values, expand_dbname = 1).
//
// Order matters: libpq applies them first to last, the last non-empty value winning, and expands
// the first "dbname" entry when it holds a connection string or URI. So the list is
// fallback_application_name (anything may override it), then the conninfo as the expanded
// "dbname", then connect_timeout and the typed fields, which therefore override the conninfo.
struct ConnectParams {
  std::vector<std::string> keywords;
  std::vector<std::string> values;

  // NULL-terminated views for libpq; valid while this object lives and is not modified.
  [[nodiscard]] std::vector<const char*> keyword_pointers() const;
  [[nodiscard]] std::vector<const char*> value_pointers() const;
};
ConnectParams build_params(const DataSource& config);

// kInvalidArgument when `conninfo` is not a valid libpq connection string or URI (checked with
// PQconninfoParse before connecting); the message is scrubbed of any password it might echo.
Status check_conninfo(const std::string& data_source, const std::string& conninfo);

// The status for a connection attempt that failed with libpq's `message`: kInvalidArgument when
// a setting must change (authentication failed, no password supplied, missing database or role,
// no pg_hba.conf entry, a bad option), kUnavailable otherwise (the server is down, unreachable,
// starting up, out of connection slots, or did not answer within connect_timeout).
// `target` describes where the attempt went (describe_target); the message names the data source.
Status connect_failure(const std::string& data_source, const std::string& target,
                       std::string_view message);

// "host=/run/pg port=5432 dbname=billing user=app": the session's actual target, from libpq
// (never the password). Also valid for a PGconn whose connection attempt failed.
std::string describe_target(const PGconn* conn);

// `conninfo` with every password replaced by "********": keyword form (password=..., quoted or
// not) and URI form (postgresql://user:secret@host, ?password=...). Only for a conninfo that
// check_conninfo accepted: in one libpq cannot parse, a password's end cannot be known.
std::string redact_conninfo(std::string_view conninfo);

// `message` with every password that `conninfo` contains replaced by "********" (for libpq's
// conninfo parse errors, which can quote a part of the string).
std::string scrub_message(std::string_view message, std::string_view conninfo);

}  // namespace xatm::postgresql::internal

#endif  // XATM_DRIVERS_POSTGRESQL_PG_CONNINFO_H_
