#include "pg_resource.h"

#include <charconv>
#include <utility>

#include "pg_connect.h"
#include "pg_connection.h"
#include "pg_session.h"

namespace xatm::postgresql::internal {
namespace {

// SHOW max_prepared_transactions > 0, or a kFailedPrecondition that says what to change.
// Checks max_prepared_transactions and reads the session's key (PgSession::key), in one round
// trip. The key's start time is in microseconds since the epoch, so that it reads the same
// whatever a session's DateStyle or TimeZone.
Status check_session(PgSession& session, const std::string& where) {
  PgAnswer answer = session.exec(
      "SELECT current_setting('max_prepared_transactions'), "
      "(SELECT pid || '@' || (extract(epoch FROM backend_start) * 1000000)::bigint "
      "FROM pg_stat_activity WHERE pid = pg_backend_pid())");
  if (!answer.ok) {
    Status status = answer.lost ? unavailable_error(where + ": connection lost during the checks")
                                : failed_precondition_error(where + ": cannot read a setting");
    return status.with_context("max_prepared_transactions: " + answer.describe());
  }
  const std::string value = PQgetvalue(answer.result.get(), 0, 0);
  session.set_key(PQgetvalue(answer.result.get(), 0, 1));  // "" when NULL: the reaper cannot
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
  XATM_ASSIGN_OR_RETURN(std::unique_ptr<PgSession> session, connect_session(config_));
  XATM_RETURN_IF_ERROR(check_session(*session, describe_session(config_, *session)));
  return session;
}

}  // namespace xatm::postgresql::internal
