#include "pg_session.h"

#include <libpq-events.h>

#include <utility>

#include "xatm/driver/logging.h"
#include "pg_error_mapping.h"

namespace xatm::postgresql::internal {
namespace {

// The parameters as libpq takes them; valid while `params` is.
std::vector<const char*> c_strings(const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& param : params) values.push_back(param.c_str());
  return values;
}

// libpq's messages span several lines ("...\n\tThis probably means..."): keep one line.
std::string one_line(const char* text) {
  std::string out;
  bool space = false;
  for (const char* p = text == nullptr ? "" : text; *p != '\0'; ++p) {
    const bool blank = *p == '\n' || *p == '\r' || *p == '\t' || *p == ' ';
    if (blank) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += *p;
  }
  return out;
}

std::string field(const PGresult* result, int code) {
  const char* value = PQresultErrorField(result, code);
  return value == nullptr ? std::string() : std::string(value);
}

// True for the command tag of a data-modifying statement that reports at least one row:
// "INSERT 0 3", "UPDATE 1", "DELETE 2", "MERGE 1". Modifying a row needs a transaction id, so
// the transaction is certainly not read-only. ("COPY n" is left out: COPY TO reads.)
bool modified_rows(std::string_view tag) {
  for (std::string_view verb : {"INSERT ", "UPDATE ", "DELETE ", "MERGE "}) {
    if (!tag.starts_with(verb)) continue;
    const std::size_t last_space = tag.rfind(' ');
    const std::string_view rows = tag.substr(last_space + 1);
    return !rows.empty() && rows != "0" &&
           rows.find_first_not_of("0123456789") == std::string_view::npos;
  }
  return false;
}

}  // namespace

struct PgSessionCallbacks {
  static int on_event(PGEventId event, void* info, void* pass_through) {
    auto* session = static_cast<PgSession*>(pass_through);
    if (event == PGEVT_RESULTCREATE) {
      session->observe(static_cast<PGEventResultCreate*>(info)->result);
    } else if (event == PGEVT_CONNRESET) {
      // PQreset gave the application a new server session: the branch did not survive it.
      session->mark_lost("the connection was reset (PQreset): the branch's session is gone");
    }
    return 1;
  }

  static void on_notice(void* arg, const PGresult* notice) {
    const auto* session = static_cast<const PgSession*>(arg);
    const std::string severity = field(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
    const std::string text = "data source '" + session->data_source() + "': server " + severity +
                             " " + field(notice, PG_DIAG_SQLSTATE) + ": " +
                             one_line(PQresultErrorField(notice, PG_DIAG_MESSAGE_PRIMARY));
    if (severity == "WARNING") {
      XATM_LOG(warning) << text;
    } else {
      XATM_LOG(debug) << text;
    }
  }
};

std::string_view PgAnswer::tag() const {
  return result == nullptr ? std::string_view() : std::string_view(PQcmdStatus(result.get()));
}

std::string PgAnswer::describe() const {
  if (ok) return "";
  if (lost) return "connection lost: " + message;
  return "SQLSTATE " + sqlstate + ": " + message;
}

PgSession::PgSession(PGconn* conn, std::string data_source)
    : conn_(conn), data_source_(std::move(data_source)) {
  if (PQregisterEventProc(conn_, &PgSessionCallbacks::on_event, "xatm", this) == 0) {
    XATM_LOG(warning) << "data source '" << data_source_
                      << "': could not register the libpq event procedure; failures of the "
                         "application's statements will be reported as XA_RBROLLBACK";
  }
  PQsetNoticeReceiver(conn_, &PgSessionCallbacks::on_notice, this);
}

PgSession::~PgSession() { PQfinish(conn_); }

PgAnswer PgSession::exec(const std::string& sql) {
  watch_.own_statement = true;
  PgResult result(PQexec(conn_, sql.c_str()));
  watch_.own_statement = false;
  return answer(std::move(result), "");
}

PgAnswer PgSession::prepare(const std::string& name, const std::string& sql) {
  watch_.own_statement = true;
  PgResult result(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
  watch_.own_statement = false;
  return answer(std::move(result), "");
}

PgAnswer PgSession::exec_prepared(const std::string& name, const std::vector<std::string>& params) {
  const std::vector<const char*> values = c_strings(params);
  watch_.own_statement = true;
  PgResult result(PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()), values.data(),
                                 nullptr, nullptr, 0));
  watch_.own_statement = false;
  return answer(std::move(result), "");
}

PgAnswer PgSession::exec_params(const std::string& sql, const std::vector<std::string>& params) {
  const std::vector<const char*> values = c_strings(params);
  watch_.own_statement = true;
  PgResult result(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0));
  watch_.own_statement = false;
  return answer(std::move(result), "");
}

void PgSession::send(const std::string& sql) {
  watch_.own_statement = true;
  send_failure_.clear();
  if (PQsendQuery(conn_, sql.c_str()) == 0) {
    send_failure_ = one_line(PQerrorMessage(conn_));
    if (send_failure_.empty()) send_failure_ = "the statement could not be sent";
  }
}

PgAnswer PgSession::receive() {
  PgResult result;
  if (send_failure_.empty()) {
    // One statement gives one result, then NULL. Should there be more, the first error is the
    // answer (PQexec reports it too), otherwise the last result.
    while (PGresult* next = PQgetResult(conn_)) {
      if (result != nullptr && PQresultStatus(result.get()) == PGRES_FATAL_ERROR) {
        PQclear(next);
      } else {
        result.reset(next);
      }
    }
  }
  watch_.own_statement = false;
  return answer(std::move(result), send_failure_);
}

PgAnswer PgSession::answer(PgResult result, const std::string& send_failure) {
  PgAnswer answer;
  answer.result = std::move(result);
  const PGresult* raw = answer.result.get();
  if (raw == nullptr) {
    // No result: libpq could not send the statement or lost the connection (PQsendQuery is
    // only called when no statement is in progress, so its failure means the same).
    answer.lost = true;
    answer.message = send_failure.empty() ? one_line(PQerrorMessage(conn_)) : send_failure;
  } else {
    const ExecStatusType status = PQresultStatus(raw);
    answer.ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    if (!answer.ok) {
      answer.sqlstate = field(raw, PG_DIAG_SQLSTATE);
      const std::string primary = field(raw, PG_DIAG_MESSAGE_PRIMARY);
      answer.message = one_line(primary.empty() ? PQresultErrorMessage(raw) : primary.c_str());
      if (answer.message.empty()) answer.message = PQresStatus(status);
      answer.lost =
          status != PGRES_FATAL_ERROR || PQstatus(conn_) == CONNECTION_BAD ||
          is_connection_lost(answer.sqlstate, field(raw, PG_DIAG_SEVERITY_NONLOCALIZED));
    }
  }
  if (answer.lost) {
    // The server's own reason (e.g. FATAL 57P01 "terminating connection due to administrator
    // command"), seen by the event procedure just before libpq's "server closed the connection
    // unexpectedly", says more than libpq's text: the first reason is kept.
    mark_lost(answer.message);
    answer.message = watch_.lost_message;
  }
  return answer;
}

PGTransactionStatusType PgSession::transaction_status() {
  if (PQstatus(conn_) == CONNECTION_BAD) {
    mark_lost(one_line(PQerrorMessage(conn_)));
    return PQTRANS_UNKNOWN;
  }
  const PGTransactionStatusType status = PQtransactionStatus(conn_);
  if (status == PQTRANS_UNKNOWN) mark_lost("libpq reports an unknown transaction status");
  return status;
}

void PgSession::reset_watch() {
  watch_.app_failure.clear();
  watch_.app_ended.clear();
  watch_.app_wrote = false;
}

void PgSession::mark_lost(std::string message) {
  if (watch_.lost) return;
  watch_.lost = true;
  watch_.lost_message =
      message.empty() ? "the connection to the server was lost" : std::move(message);
}

void PgSession::observe(const PGresult* result) {
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_FATAL_ERROR) {
    const std::string sqlstate = field(result, PG_DIAG_SQLSTATE);
    if (is_connection_lost(sqlstate, field(result, PG_DIAG_SEVERITY_NONLOCALIZED))) {
      mark_lost(one_line(PQresultErrorMessage(result)));
    } else if (!watch_.own_statement && sqlstate != "25P02") {
      watch_.app_failure = sqlstate;
    }
    return;
  }
  if (status != PGRES_COMMAND_OK || watch_.own_statement || !watch_.app_ended.empty()) return;
  // "ROLLBACK" is left out: ROLLBACK TO SAVEPOINT has the same tag. A full ROLLBACK leaves the
  // session idle, which xa_end sees; COMMIT (also COMMIT AND CHAIN, END) may hide a BEGIN after it.
  const std::string_view tag = PQcmdStatus(const_cast<PGresult*>(result));
  if (tag == "COMMIT" || tag == "PREPARE TRANSACTION") watch_.app_ended = tag;
  if (modified_rows(tag)) watch_.app_wrote = true;
}

}  // namespace xatm::postgresql::internal
