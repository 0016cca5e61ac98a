#include "pg_resource.h"

#include <charconv>
#include <utility>

#include "pg_connection.h"
#include "pg_conninfo.h"
#include "pg_session.h"

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

// SHOW max_prepared_transactions > 0, or a kFailedPrecondition that says what to change.
Status check_prepared_transactions(PgSession& session, const std::string& where) {
  PgAnswer answer = session.exec("SHOW max_prepared_transactions");
  if (!answer.ok) {
    Status status = answer.lost ? unavailable_error(where + ": connection lost during the checks")
                                : failed_precondition_error(where + ": cannot read a setting");
    return status.with_context("SHOW max_prepared_transactions: " + answer.describe());
  }
  const std::string value = PQgetvalue(answer.result.get(), 0, 0);
  int slots = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), slots);
  if (error != std::errc() || end != value.data() + value.size()) {
    return failed_precondition_error(where + ": unexpected max_prepared_transactions '" + value +
                                     "'");
  }
  if (slots > 0) return Status();
  return failed_precondition_error(
      where +
      ": the server has max_prepared_transactions = 0, which disables PREPARE "
      "TRANSACTION (two-phase commit); set max_prepared_transactions to a value > 0 "
      "(for example the value of max_connections) in postgresql.conf and restart the "
      "server");
}

}  // namespace

PgResource::PgResource(DataSource config)
    : config_(std::move(config)),
      decisions_(config_.decision_table.empty()
                     ? nullptr
                     : std::make_shared<PgDecisionTable>(config_.name, config_.decision_table,
                                                         [this] { return open_session(); })) {}

Result<std::unique_ptr<XaConnection>> PgResource::connect() {
  if (decisions_ != nullptr) XATM_RETURN_IF_ERROR(decisions_->name_status());
  XATM_ASSIGN_OR_RETURN(std::unique_ptr<PgSession> session, open_session());
  return std::unique_ptr<XaConnection>(std::make_unique<PgConnection>(std::move(session), decisions_));
}

Result<std::unique_ptr<PgSession>> PgResource::open_session() {
  if (config_.name.empty()) return invalid_argument_error("a PostgreSQL data source needs a name");
  if (config_.port == 0) {
    return invalid_argument_error("data source '" + config_.name + "': port 0 is not a TCP port (1..65535)");
  }
  XATM_RETURN_IF_ERROR(check_conninfo(config_.name, config_.conninfo));
  const ConnectParams params = build_params(config_);
  const std::vector<const char*> keywords = params.keyword_pointers();
  const std::vector<const char*> values = params.value_pointers();
  PgConnHandle conn(PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1));
  if (conn == nullptr) return internal_error("data source '" + config_.name + "': out of memory");
  const std::string target = describe_target(conn.get());
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return connect_failure(config_.name, target, trimmed_error(conn.get()));
  }
  const std::string where = "data source '" + config_.name + "' (" + target + ")";
  if (PQserverVersion(conn.get()) < kMinServerVersion) {
    return failed_precondition_error(where + ": PostgreSQL " +
                                     std::to_string(PQserverVersion(conn.get())) +
                                     " is too old; xatm needs PostgreSQL 10 or later");
  }
  auto session = std::make_unique<PgSession>(conn.release(), config_.name);
  XATM_RETURN_IF_ERROR(check_prepared_transactions(*session, where));
  return session;
}

}  // namespace xatm::postgresql::internal
