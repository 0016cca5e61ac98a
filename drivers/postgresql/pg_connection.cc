#include "pg_connection.h"

#include <charconv>
#include <chrono>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "xatm/driver/logging.h"
#include "pg_gid.h"

namespace xatm::postgresql::internal {
namespace {

// The whole cluster's prepared transactions, and whether this session can finish each: only its
// owner or a superuser can (42501), and only from its own database (0A000). Those it cannot
// finish are reported as unusable: a branch of ours in another database means a data source
// whose conninfo names the wrong database, and must not read as "no branch left".
constexpr const char* kRecoverSql =
    "SELECT gid, database = current_database() AND (owner = current_user OR "
    "current_setting('is_superuser') = 'on'), database, current_database(), owner "
    "FROM pg_prepared_xacts ORDER BY prepared";

// The formatID a gid names ("<decimal>_..."), if it names one.
std::optional<std::int64_t> format_id_of(std::string_view gid) {
  const std::size_t end = gid.find('_');
  if (end == std::string_view::npos || end == 0) return std::nullopt;
  std::int64_t format_id = 0;
  const auto [at, error] = std::from_chars(gid.data(), gid.data() + end, format_id);
  if (error != std::errc() || at != gid.data() + end) return std::nullopt;
  return format_id;
}

// How many skipped gids recover() quotes in its detail.
constexpr int kMaxQuotedGids = 10;
// How long end_session() waits for a terminated backend to finish rolling back and exit.
constexpr std::chrono::milliseconds kEndedSessionPatience{1000};

std::string failed_sqlstate(const std::string& sqlstate) {
  return sqlstate.empty() ? "a statement of the branch failed"
                          : "a statement of the branch failed with SQLSTATE " + sqlstate;
}

}  // namespace

Status PgConnection::end_session(std::string_view key) {
  const std::size_t at = key.find('@');
  if (at == std::string_view::npos) {
    return invalid_argument_error("data source '" + session_->data_source() + "': '" +
                                  std::string(key) + "' names no session");
  }
  if (session_->lost()) return unavailable_error(lost_reply(XAER_RMFAIL).detail);
  // Parameters, as the key comes from elsewhere; pid and start so that a pid reused by a new
  // backend is never ended.
  const std::vector<std::string> session{std::string(key.substr(0, at)), std::string(key.substr(at + 1))};
  const std::string match =
      " FROM pg_stat_activity WHERE pid = $1::integer AND "
      "(extract(epoch FROM backend_start) * 1000000)::bigint = $2::bigint";
  const std::string where = "data source '" + session_->data_source() + "': session " + session[0];
  PgAnswer ended = session_->exec_params("SELECT pg_terminate_backend(pid)" + match, session);
  if (!ended.ok) return unavailable_error(where + ": pg_terminate_backend: " + ended.describe());
  const auto give_up = std::chrono::steady_clock::now() + kEndedSessionPatience;
  for (;;) {
    PgAnswer alive = session_->exec_params("SELECT 1" + match, session);
    if (!alive.ok) return unavailable_error(where + ": pg_stat_activity: " + alive.describe());
    if (PQntuples(alive.result.get()) == 0) return Status();
    if (std::chrono::steady_clock::now() >= give_up) {
      return unavailable_error(where + " was terminated but has not ended after " +
                               std::to_string(kEndedSessionPatience.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

PgConnection::PgConnection(std::unique_ptr<PgSession> session,
                           std::shared_ptr<PgDecisionTable> decisions)
    : session_(std::move(session)), decisions_(std::move(decisions)) {}

XaReply PgConnection::start(const Xid& xid) {
  if (awaiting_reply()) return awaiting_reply_refusal();
  if (session_->lost()) return lost_reply(XAER_RMFAIL);
  if (state_ == State::kActive || state_ == State::kEnded) {
    return {XAER_PROTO, "the session still carries branch " + xid_->to_string()};
  }
  if (state_ == State::kPrepared && is_current(xid)) {
    return {XAER_DUPID, "this session prepared that XID already"};
  }
  if (Result<std::string_view> gid = gid_literal_of(xid); !gid.ok()) {
    return {XAER_INVAL, gid.status().message()};
  }
  const PGTransactionStatusType status = session_->transaction_status();
  if (status == PQTRANS_UNKNOWN) return lost_reply(XAER_RMFAIL);
  if (status != PQTRANS_IDLE) {
    // BEGIN inside a transaction block is only a warning: it would silently join local work.
    return {XAER_OUTSIDE, "the session has a transaction of its own open (local work)"};
  }
  session_->reset_watch();
  PgAnswer answer = session_->exec("BEGIN");
  if (!answer.ok) return failure(Statement::kBegin, answer, xid);
  xid_ = xid;
  state_ = State::kActive;
  rollback_code_ = XA_RBROLLBACK;
  return {};
}

XaReply PgConnection::end(const Xid& xid) {
  if (awaiting_reply()) return awaiting_reply_refusal();
  if (!is_current(xid) || state_ == State::kIdle)
    return {XAER_NOTA, "no such branch on this session"};
  if (state_ != State::kActive) return {XAER_PROTO, "the branch is not active"};
  const PGTransactionStatusType status = session_->transaction_status();
  if (session_->lost()) {
    return rolled_back(XA_RBCOMMFAIL, "connection lost: " + session_->lost_message());
  }
  if (!session_->app_ended().empty() || status == PQTRANS_IDLE) {
    const std::string what = session_->app_ended().empty() ? "ROLLBACK" : session_->app_ended();
    if (status != PQTRANS_IDLE) discard_transaction();  // discard what came after it
    XaReply reply =
        rolled_back(XAER_PROTO, "the application ended the branch's transaction itself (" + what +
                                    "): work done before or after that is "
                                    "not part of the global transaction");
    log(Attention::kError, xid, reply);
    return reply;
  }
  if (status == PQTRANS_ACTIVE) {
    return {XAER_PROTO, "a statement is still running on the session (results not consumed)"};
  }
  if (status == PQTRANS_INERROR) {
    // The transaction can only roll back: do it now, so its locks go at once.
    const std::string sqlstate = session_->app_failure();
    discard_transaction();
    return rolled_back(rollback_code(sqlstate), failed_sqlstate(sqlstate) + "; rolled back");
  }
  state_ = State::kEnded;
  return {};
}

XaReply PgConnection::prepare(const Xid& xid) {
  if (awaiting_reply()) return awaiting_reply_refusal();
  send_prepare(xid);
  return receive_reply();
}

void PgConnection::send_prepare(const Xid& xid) {
  if (awaiting_reply()) return;  // the answer read next stays the earlier verb's (REQUIRES)
  pending_ = begin_prepare(xid);
}

PgConnection::Pending PgConnection::begin_prepare(const Xid& xid) {
  if (!is_current(xid) || state_ == State::kIdle)
    return answered({XAER_NOTA, "no such branch on this session"});
  if (state_ == State::kRolledBack)
    return answered({rollback_code_, "the branch was rolled back already"});
  if (state_ != State::kEnded)
    return answered({XAER_PROTO, "prepare needs an ended, unprepared branch"});
  if (std::optional<XaReply> refused = check_open_transaction("prepare")) {
    return answered(std::move(*refused));
  }
  // The read-only probe only runs when it may save a PREPARE: not after the application
  // modified rows (the transaction has an id, PREPARE it is), and not in a failed transaction
  // (the probe would fail too; PREPARE answers ROLLBACK, a rollback vote).
  const bool probe =
      session_->transaction_status() == PQTRANS_INTRANS && !session_->app_wrote();
  return send_prepare_sql(xid, probe);
}

XaReply PgConnection::commit(const Xid& xid, bool one_phase) {
  if (awaiting_reply()) return awaiting_reply_refusal();
  if (one_phase) {
    if (!is_current(xid) || state_ == State::kIdle)
      return {XAER_NOTA, "no such branch on this session"};
    if (state_ == State::kRolledBack) return {rollback_code_, "the branch was rolled back already"};
    if (state_ != State::kEnded) return {XAER_PROTO, "one-phase commit needs an ended branch"};
    if (std::optional<XaReply> refused = check_open_transaction("commit")) return *refused;
    pending_ = send_commit_sql(xid, /*read_only=*/false);
    return receive_reply();
  }
  send_commit(xid);
  return receive_reply();
}

XaReply PgConnection::commit_with_decision(const Xid& xid, const DecisionRow& row) {
  if (awaiting_reply()) return awaiting_reply_refusal();
  if (decisions_ == nullptr) return {XAER_PROTO, "this data source keeps no decision table"};
  if (!is_current(xid) || state_ == State::kIdle) return {XAER_NOTA, "no such branch on this session"};
  if (state_ == State::kActive) {
    // xa_end's checks (what the application's statements did) before anything is sent.
    XaReply ended = end(xid);
    if (!ended.ok()) return ended;
  }
  if (state_ == State::kRolledBack) return {rollback_code_, "the branch was rolled back already"};
  if (state_ != State::kEnded) return {XAER_PROTO, "the decision needs an active or ended branch"};
  if (std::optional<XaReply> refused = check_open_transaction("commit")) return *refused;
  std::vector<Xid> taken;
  const std::string sql = decisions_->decision_sql(row, taken);
  PgAnswer answer = session_->exec(sql);
  // A failed statement stops the string before COMMIT and leaves the transaction open, failed.
  if (!answer.ok && !answer.lost) discard_transaction();
  XaReply reply = commit_answered(answer, xid, /*read_only=*/false);
  if (!reply.ok()) decisions_->give_back(taken);  // lost: deleted again later, harmlessly
  return reply;
}

void PgConnection::send_commit(const Xid& xid) {
  if (awaiting_reply()) return;  // as in send_prepare
  if (is_current(xid)) {
    switch (state_) {
      case State::kActive:
      case State::kEnded: pending_ = answered({XAER_PROTO, "the branch is not prepared"}); return;
      case State::kRolledBack:
        pending_ =
            answered({XAER_NOTA, "the branch was rolled back on this session (prepare failed)"});
        return;
      case State::kCompleted:
        pending_ = answered({XAER_NOTA, "the branch was completed already"});
        return;
      default: break;
    }
  }
  pending_ = send_finish_prepared(Statement::kCommitPrepared, xid);
}

XaReply PgConnection::receive_reply() {
  Pending pending = std::exchange(pending_, Pending{});
  switch (pending.awaiting) {
    case Awaiting::kNothing: return {XAER_PROTO, "no verb was sent on this session"};
    case Awaiting::kReply: return std::move(pending.reply);
    case Awaiting::kProbe: return probe_answered(session_->receive(), *pending.xid);
    case Awaiting::kPrepare: return prepare_answered(session_->receive(), *pending.xid);
    case Awaiting::kCommit:
      return commit_answered(session_->receive(), *pending.xid, pending.read_only);
    case Awaiting::kFinishPrepared:
      return finish_prepared_answered(pending.statement, session_->receive(), *pending.xid);
  }
  return {XAER_PROTO, "no verb was sent on this session"};
}

XaReply PgConnection::rollback(const Xid& xid) {
  if (awaiting_reply()) return awaiting_reply_refusal();
  if (is_current(xid)) {
    switch (state_) {
      case State::kActive:
      case State::kEnded: {
        XaReply reply = rollback_sql();
        state_ = State::kRolledBack;
        return reply;
      }
      // Never ROLLBACK PREPARED here: after 42710 that gid is another session's branch.
      case State::kRolledBack: return {};
      case State::kCompleted: return {XAER_NOTA, "the branch was completed already"};
      default: break;
    }
  }
  pending_ = send_finish_prepared(Statement::kRollbackPrepared, xid);
  return receive_reply();
}

bool PgConnection::usable() const {
  if (awaiting_reply()) return false;  // an answer is still on its way
  if (session_->lost()) return false;
  if (state_ == State::kActive || state_ == State::kEnded) return true;
  return PQtransactionStatus(session_->native()) == PQTRANS_IDLE;
}

XaReply PgConnection::forget(const Xid&) {
  if (awaiting_reply()) return awaiting_reply_refusal();
  return {XAER_NOTA, "PostgreSQL never completes a branch heuristically: nothing to forget"};
}

XaConnection::Recovered PgConnection::recover() {
  Recovered recovered;
  if (awaiting_reply()) {
    recovered.reply = awaiting_reply_refusal();
    return recovered;
  }
  if (session_->lost()) {
    recovered.reply = lost_reply(XAER_RMFAIL);
    return recovered;
  }
  const PGTransactionStatusType status = session_->transaction_status();
  if (status == PQTRANS_UNKNOWN) {
    recovered.reply = lost_reply(XAER_RMFAIL);
    return recovered;
  }
  if (status != PQTRANS_IDLE && status != PQTRANS_INTRANS) {
    recovered.reply = {XAER_PROTO, "the session's transaction has failed or is busy"};
    return recovered;
  }
  PgAnswer answer = session_->exec(kRecoverSql);
  if (!answer.ok) {
    const Mapping mapping = map_failure(Statement::kRecover, answer.sqlstate, answer.lost);
    recovered.reply = {mapping.code,
                       std::string(statement_name(Statement::kRecover)) + ": " + answer.describe()};
    return recovered;
  }
  const int rows = PQntuples(answer.result.get());
  int skipped = 0;
  std::string quoted;
  for (int row = 0; row < rows; ++row) {
    const char* gid = PQgetvalue(answer.result.get(), row, 0);
    const bool here = std::string_view(PQgetvalue(answer.result.get(), row, 1)) == "t";
    Result<Xid> xid = decode_gid(gid);
    if (xid.ok() && here) {
      recovered.xids.push_back(std::move(*xid));
      continue;
    }
    const std::optional<std::int64_t> format_id =
        xid.ok() ? std::optional<std::int64_t>(xid->format_id()) : format_id_of(gid);
    if (!here) {
      const std::string database = PQgetvalue(answer.result.get(), row, 2);
      const std::string current = PQgetvalue(answer.result.get(), row, 3);
      const std::string why =
          database != current
              ? "prepared in database '" + escape_for_message(database) + "', not in this session's '" +
                    escape_for_message(current) + "'"
              : "owned by role '" + escape_for_message(PQgetvalue(answer.result.get(), row, 4)) +
                    "', which this session's role is not (nor a superuser)";
      if (format_id) {
        recovered.unusable.push_back({*format_id, xid.ok() ? std::optional<Xid>(*xid) : std::nullopt,
                                      escape_for_message(gid), why});
      }
      continue;  // not ours to finish here, and not skipped for its form
    }
    if (format_id) {
      recovered.unusable.push_back({*format_id, std::nullopt, escape_for_message(gid),
                                    "its gid does not decode as <formatID>_<base64>_<base64>"});
    }
    if (++skipped <= kMaxQuotedGids)
      quoted += (quoted.empty() ? "'" : ", '") + escape_for_message(gid) + "'";
  }
  if (skipped > 0) {
    recovered.reply.detail =
        "skipped " + std::to_string(skipped) +
        " prepared transaction(s) whose gid is not <formatID>_<base64>_<base64>: " + quoted +
        (skipped > kMaxQuotedGids ? ", ..." : "");
  }
  return recovered;
}

XaReply PgConnection::awaiting_reply_refusal() const {
  // Anything sent now would make libpq discard the answer still on its way (a PREPARE's), and
  // the transaction it reports on would be left behind unseen.
  return {XAER_PROTO, "an answer is still on its way: receive_reply() must come first"};
}

XaReply PgConnection::rolled_back(int code, std::string detail) {
  state_ = State::kRolledBack;
  rollback_code_ = code;
  return {code, std::move(detail)};
}

XaReply PgConnection::lost_reply(int code) const {
  return {code, "connection lost: " + session_->lost_message()};
}

XaReply PgConnection::failure(Statement statement, const PgAnswer& answer, const Xid& xid) {
  const Mapping mapping = map_failure(statement, answer.sqlstate, answer.lost);
  std::string detail = std::string(statement_name(statement)) + ": " + answer.describe();
  if (!mapping.reason.empty()) detail += "; " + std::string(mapping.reason);
  XaReply reply{mapping.code, std::move(detail)};
  log(mapping.attention, xid, reply);
  return reply;
}

std::optional<XaReply> PgConnection::check_open_transaction(const char* verb) {
  const PGTransactionStatusType status = session_->transaction_status();
  if (session_->lost()) {
    // Nothing was sent yet: a transaction that is not prepared dies with its session.
    return rolled_back(XA_RBCOMMFAIL, "connection lost before " + std::string(verb) + ": " +
                                          session_->lost_message());
  }
  if (status == PQTRANS_INTRANS || status == PQTRANS_INERROR) return std::nullopt;
  if (status == PQTRANS_IDLE) {
    XaReply reply = rolled_back(XAER_PROTO,
                                "no transaction is open on the session: the "
                                "application ended the branch's transaction itself");
    log(Attention::kError, *xid_, reply);
    return reply;
  }
  return XaReply{XAER_PROTO, "a statement is still running on the session (results not consumed)"};
}

PgConnection::Pending PgConnection::answered(XaReply reply) {
  Pending pending;
  pending.awaiting = Awaiting::kReply;
  pending.reply = std::move(reply);
  return pending;
}

PgConnection::Pending PgConnection::sent(Awaiting awaiting, const Xid& xid) {
  Pending pending;
  pending.awaiting = awaiting;
  pending.xid = xid;
  return pending;
}

PgConnection::Pending PgConnection::send_prepare_sql(const Xid& xid, bool probe) {
  if (probe) {
    // Its answer decides what receive_reply() sends next: PREPARE TRANSACTION, or COMMIT when
    // the transaction wrote nothing. So the probe overlaps the other branches' work too.
    session_->send("SELECT txid_current_if_assigned()");
    return sent(Awaiting::kProbe, xid);
  }
  Result<std::string_view> literal = gid_literal_of(xid);
  if (!literal.ok()) {
    discard_transaction();
    return answered(rolled_back(XA_RBPROTO, literal.status().message()));
  }
  std::string sql = "PREPARE TRANSACTION ";
  sql += *literal;
  session_->send(sql);
  return sent(Awaiting::kPrepare, xid);
}

XaReply PgConnection::probe_answered(const PgAnswer& written, const Xid& xid) {
  if (!written.ok) {
    XaReply reply = failure(Statement::kReadOnlyProbe, written, xid);
    if (!written.lost) discard_transaction();
    return rolled_back(reply.code, std::move(reply.detail));
  }
  const bool wrote_nothing = PQgetisnull(written.result.get(), 0, 0) != 0;
  pending_ = wrote_nothing ? send_commit_sql(xid, /*read_only=*/true)
                           : send_prepare_sql(xid, /*probe=*/false);
  return receive_reply();
}

XaReply PgConnection::prepare_answered(const PgAnswer& answer, const Xid& xid) {
  if (!answer.ok) {
    XaReply reply = failure(Statement::kPrepare, answer, xid);
    if (answer.lost) {
      state_ = State::kInDoubt;
      return reply;
    }
    return rolled_back(reply.code, std::move(reply.detail));
  }
  if (answer.tag() == "PREPARE TRANSACTION") {
    state_ = State::kPrepared;
    return {};
  }
  if (answer.tag() == "ROLLBACK") {
    // docs/driver-postgresql.md: PREPARE of a failed transaction "succeeds" with the tag ROLLBACK.
    const std::string sqlstate = session_->app_failure();
    return rolled_back(rollback_code(sqlstate),
                       failed_sqlstate(sqlstate) + "; PREPARE TRANSACTION rolled it back");
  }
  state_ = State::kInDoubt;
  XaReply reply{XAER_RMFAIL, "PREPARE TRANSACTION answered the unexpected command tag '" +
                                 std::string(answer.tag()) + "'"};
  log(Attention::kError, xid, reply);
  return reply;
}

PgConnection::Pending PgConnection::send_commit_sql(const Xid& xid, bool read_only) {
  session_->send("COMMIT");
  Pending pending = sent(Awaiting::kCommit, xid);
  pending.read_only = read_only;
  return pending;
}

XaReply PgConnection::commit_answered(const PgAnswer& answer, const Xid& xid, bool read_only) {
  if (!answer.ok) {
    XaReply reply = failure(Statement::kCommit, answer, xid);
    if (answer.lost) {
      state_ = State::kInDoubt;
      return reply;
    }
    return rolled_back(reply.code, std::move(reply.detail));
  }
  if (answer.tag() == "COMMIT") {
    state_ = State::kCompleted;
    return {read_only ? XA_RDONLY : XA_OK, ""};
  }
  if (answer.tag() == "ROLLBACK") {
    // Like PREPARE, COMMIT of a failed transaction "succeeds" with the tag ROLLBACK.
    const std::string sqlstate = session_->app_failure();
    return rolled_back(rollback_code(sqlstate),
                       failed_sqlstate(sqlstate) + "; COMMIT rolled it back");
  }
  state_ = State::kInDoubt;
  XaReply reply{XAER_RMFAIL,
                "COMMIT answered the unexpected command tag '" + std::string(answer.tag()) + "'"};
  log(Attention::kError, xid, reply);
  return reply;
}

XaReply PgConnection::rollback_sql() {
  if (session_->lost()) return {};  // a transaction that is not prepared died with its session
  const PGTransactionStatusType status = session_->transaction_status();
  if (status == PQTRANS_IDLE || status == PQTRANS_UNKNOWN) return {};
  PgAnswer answer = session_->exec("ROLLBACK");
  if (answer.ok) return {};
  const Mapping mapping = map_failure(Statement::kRollback, answer.sqlstate, answer.lost);
  return {mapping.code, "ROLLBACK: " + answer.describe()};
}

void PgConnection::discard_transaction() {
  // Its answer changes nothing: a transaction that cannot be rolled back here dies with the
  // session, and a lost session is already marked unusable.
  static_cast<void>(rollback_sql());
}

PgConnection::Pending PgConnection::send_finish_prepared(Statement statement, const Xid& xid) {
  if (session_->lost()) return answered(lost_reply(XAER_RMFAIL));
  Result<std::string_view> literal = gid_literal_of(xid);
  if (!literal.ok()) return answered({XAER_INVAL, literal.status().message()});
  const PGTransactionStatusType status = session_->transaction_status();
  if (status == PQTRANS_UNKNOWN) return answered(lost_reply(XAER_RMFAIL));
  if (status != PQTRANS_IDLE) {
    // It would fail with 25001 and abort the session's open transaction: refuse instead.
    return answered({XAER_PROTO, std::string(statement_name(statement)) +
                                     " must run outside a transaction block, and this session "
                                     "has one open"});
  }
  std::string sql(statement_name(statement));
  sql += ' ';
  sql += *literal;
  session_->send(sql);
  Pending pending = sent(Awaiting::kFinishPrepared, xid);
  pending.statement = statement;
  return pending;
}

XaReply PgConnection::finish_prepared_answered(Statement statement, const PgAnswer& answer,
                                               const Xid& xid) {
  if (!answer.ok) {
    if (answer.lost && is_current(xid)) state_ = State::kInDoubt;
    return failure(statement, answer, xid);
  }
  if (is_current(xid)) state_ = State::kCompleted;
  return {};
}

Result<std::string_view> PgConnection::gid_literal_of(const Xid& xid) {
  if (!gid_literal_ || gid_literal_->first != xid) {
    Result<std::string> gid = encode_gid(xid);
    if (!gid.ok()) return gid.status();
    Result<std::string> literal = gid_literal(*gid);
    if (!literal.ok()) return literal.status();
    gid_literal_.emplace(xid, std::move(*literal));
  }
  return std::string_view(gid_literal_->second);
}

void PgConnection::log(Attention attention, const Xid& xid, const XaReply& reply) const {
  if (attention == Attention::kNone) return;
  const std::string where = "data source '" + session_->data_source() + "', branch " +
                            xid.to_string() + ": " + xa_code_name(reply.code) + ": " + reply.detail;
  if (attention == Attention::kError) {
    XATM_LOG(error) << where;
  } else {
    XATM_LOG(warning) << where;
  }
}

}  // namespace xatm::postgresql::internal
