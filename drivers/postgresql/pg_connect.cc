#include "pg_connect.h"

#include <utility>

#include "pg_conninfo.h"

namespace xatm::postgresql::internal {
namespace {

// txid_current_if_assigned() (the read-only probe) exists from PostgreSQL 10 on.
constexpr int kMinServerVersion = 100000;

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using PgConnHandle = std::unique_ptr<PGconn, PgConnDeleter>;

std::string trimmed_error(const PGconn* conn) {
  std::string text = conn == nullptr ? "out of memory" : PQerrorMessage(conn);
  for (char& c : text) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace

Result<std::unique_ptr<PgSession>> connect_session(const DataSource& config,
                                                   const ConnectDefaults& defaults) {
  if (config.name.empty()) return invalid_argument_error("a PostgreSQL data source needs a name");
  if (config.port == 0) {
    return invalid_argument_error("data source '" + config.name + "': port 0 is not a TCP port (1..65535)");
  }
  XATM_RETURN_IF_ERROR(check_conninfo(config.name, config.conninfo));
  ConnectParams params = build_params(config);
  // Before the conninfo (expanded from the first "dbname"), so that it and the typed fields win.
  for (auto it = defaults.rbegin(); it != defaults.rend(); ++it) {
    params.keywords.insert(params.keywords.begin() + 1, it->first);
    params.values.insert(params.values.begin() + 1, it->second);
  }
  const std::vector<const char*> keywords = params.keyword_pointers();
  const std::vector<const char*> values = params.value_pointers();
  PgConnHandle conn(PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1));
  if (conn == nullptr) return internal_error("data source '" + config.name + "': out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return connect_failure(config.name, describe_target(conn.get()), trimmed_error(conn.get()));
  }
  if (PQserverVersion(conn.get()) < kMinServerVersion) {
    return failed_precondition_error(
        "data source '" + config.name + "' (" + describe_target(conn.get()) + "): PostgreSQL " +
        std::to_string(PQserverVersion(conn.get())) + " is too old; xatm needs PostgreSQL 10 or later");
  }
  return std::make_unique<PgSession>(conn.release(), config.name);
}

std::string describe_session(const DataSource& config, const PgSession& session) {
  return "data source '" + config.name + "' (" + describe_target(session.native()) + ")";
}

}  // namespace xatm::postgresql::internal
