#include "mysql_connection.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <thread>
#include <utility>

#include "mysql_driver_thread.h"
#include "xatm/driver/logging.h"
#include "mysql_server_sessions.h"

namespace xatm::mysql::internal {
namespace {

// How many undecodable XA RECOVER rows a reply describes in full.
constexpr std::size_t kMaxSkippedShown = 3;

// How long a commit or rollback from another session waits for the session that prepared the
// branch to end by itself (a closed or crashed client's session ends within milliseconds)
// before it KILLs it (a zombie: its client is gone but the server has not noticed), and how long
// it then waits for the KILL to take effect.
constexpr std::chrono::milliseconds kHolderPatience{250};
constexpr std::chrono::milliseconds kKilledHolderPatience{2000};
// A session leaves PROCESSLIST a few statements before the server releases its InnoDB
// transaction, the last part of the detach window (mysql_branch_tag.h); no query shows that
// moment, so the wait ends with a grace far longer than those statements take.
constexpr std::chrono::milliseconds kTeardownGrace{50};
// How long end_session() waits for a killed session to finish rolling back.
constexpr std::chrono::milliseconds kKilledSessionPatience{1000};
// ER_NO_SUCH_THREAD: KILL of a session that has ended.
constexpr int kNoSuchThread = 1094;

bool completes_branch(Verb verb) {
  return verb == Verb::kCommit || verb == Verb::kCommitOnePhase || verb == Verb::kRollback;
}

std::string skipped_detail(const std::vector<std::string>& skipped) {
  std::string text =
      "XA RECOVER: skipped " + std::to_string(skipped.size()) + " row(s) that are not valid XIDs";
  for (std::size_t i = 0; i < skipped.size() && i < kMaxSkippedShown; ++i) {
    text += (i == 0 ? ": " : "; ") + skipped[i];
  }
  return text;
}

}  // namespace

MysqlConnection::MysqlConnection(std::shared_ptr<SessionRegistry> registry,
                                 std::unique_ptr<sql::Connection> connection, BranchHolder self,
                                 std::shared_ptr<MysqlDecisionTable> decisions)
    : registry_(std::move(registry)), connection_(std::move(connection)), self_(self),
      decisions_(std::move(decisions)) {
  registry_->opened(self_.connection_id);
}

MysqlConnection::~MysqlConnection() {
  registry_->closed(self_.connection_id);
  // Closing detaches a prepared branch; whoever finishes it finds this session in its XID and
  // waits for the teardown.
  try {
    driver_for_this_thread();
    connection_->close();  // a branch not yet prepared is rolled back by the server
  } catch (const std::exception& e) {
    XATM_LOG(debug) << where() << ": closing the session: " << e.what();
  }
}

std::vector<std::uint8_t> MysqlConnection::branch_tag() const { return encode_branch_tag(self_); }

XaReply MysqlConnection::start(const Xid& xid) {
  const std::string* literal = nullptr;
  if (auto stop = precheck(xid, literal)) return *stop;
  const std::string statement = "XA START " + *literal;
  if (auto error = execute(statement)) return fail(Verb::kStart, xid, statement, *error);
  finished_.reset();
  remember(xid, Knowledge::kActive);
  return {};
}

XaReply MysqlConnection::end(const Xid& xid) {
  const std::string* literal = nullptr;
  if (auto stop = precheck(xid, literal)) return *stop;
  const std::string statement = "XA END " + *literal;
  if (auto error = execute(statement)) return fail(Verb::kEnd, xid, statement, *error);
  remember(xid, Knowledge::kIdle);
  return {};
}

XaReply MysqlConnection::prepare(const Xid& xid) {
  const std::string* literal = nullptr;
  if (auto stop = precheck(xid, literal)) return *stop;
  const std::string statement = "XA PREPARE " + *literal;
  if (auto error = execute(statement)) return fail(Verb::kPrepare, xid, statement, *error);
  // MariaDB never says "read-only" here (docs/driver-mysql.md): a prepared branch is a yes vote.
  remember(xid, Knowledge::kPrepared);
  return {};
}

XaReply MysqlConnection::commit(const Xid& xid, bool one_phase) {
  const std::string* literal = nullptr;
  if (auto stop = precheck(xid, literal)) return *stop;
  const std::string statement = "XA COMMIT " + *literal + (one_phase ? " ONE PHASE" : "");
  const Verb verb = one_phase ? Verb::kCommitOnePhase : Verb::kCommit;
  if (!one_phase && knowledge_of(xid) == Knowledge::kNotHere) {
    if (auto stop = settle_holder(xid)) return *stop;
  }
  if (auto error = execute(statement)) return fail(verb, xid, statement, *error);
  forget_branch(xid);
  return {};
}

XaReply MysqlConnection::commit_with_decision(const Xid& xid, const DecisionRow& row) {
  if (decisions_ == nullptr) return {XAER_PROTO, "this data source keeps no decision table"};
  if (knowledge_of(xid) != Knowledge::kActive) {
    return {XAER_PROTO, "the decision needs the branch still active"};
  }
  std::vector<Xid> taken;
  for (const std::string& statement : decisions_->decision_statements(row, taken)) {
    std::optional<SqlError> error = execute(statement);
    if (!error) continue;
    decisions_->give_back(taken);
    if (is_connection_lost(*error)) {
      return on_session_lost(Verb::kEnd, xid, {XAER_RMFAIL, statement + ": " + describe(*error)});
    }
    // The row could not be written (a fence is there, say): the branch rolls back.
    const XaReply rolled_back = rollback(xid);
    return {rolled_back.code == XAER_RMFAIL ? XAER_RMFAIL : XA_RBINTEGRITY,
            statement + ": " + describe(*error) + "; XA ROLLBACK: " + xa_code_name(rolled_back.code)};
  }
  XaReply reply = end(xid);
  if (reply.ok()) reply = commit(xid, /*one_phase=*/true);
  if (!reply.ok()) decisions_->give_back(taken);
  return reply;
}

XaReply MysqlConnection::rollback(const Xid& xid) {
  if (finished_ && finished_->xid == xid) {
    // The server removed the branch when it answered XA_RB* earlier: nothing left to do.
    return {XA_OK, "already rolled back: " + finished_->detail};
  }
  const std::string* literal = nullptr;
  if (auto stop = precheck(xid, literal)) return *stop;
  const std::string statement = "XA ROLLBACK " + *literal;
  if (knowledge_of(xid) == Knowledge::kActive) {
    if (auto stop = end_before_rollback(xid, *literal)) return *stop;
  } else if (knowledge_of(xid) == Knowledge::kNotHere) {
    if (auto stop = settle_holder(xid)) return *stop;
  }
  if (auto error = execute(statement)) return fail(Verb::kRollback, xid, statement, *error);
  forget_branch(xid);
  return {};
}

XaReply MysqlConnection::forget(const Xid& /*xid*/) {
  return {XAER_NOTA, "MariaDB and MySQL never complete a branch heuristically: nothing to forget"};
}

XaConnection::Recovered MysqlConnection::recover() {
  if (!usable_) return {lost_reply(), {}};
  RecoverScan scan = scan_recover();
  if (scan.error) {
    const XaAnswer answer =
        map_xa_error(Verb::kRecover, *scan.error, Knowledge::kNotHere, XA_RBROLLBACK);
    XaReply reply{answer.code, "XA RECOVER: " + describe(*scan.error)};
    if (scan.error->code == kErrSpecificAccessDenied) {
      reply.detail +=
          " (MySQL 8 needs: GRANT XA_RECOVER_ADMIN ON *.* TO '" + registry_->user() + "')";
    }
    if (answer.followup == Followup::kSessionLost) usable_ = false;
    return {reply, {}};
  }
  Recovered result{XaReply{}, std::move(scan.xids)};
  if (!scan.skipped.empty()) {
    result.reply.detail = skipped_detail(scan.skipped);
    XATM_LOG(warning) << where() << ": " << result.reply.detail;
  }
  return result;
}

std::optional<SqlError> MysqlConnection::execute(const std::string& statement) {
  return run_statement(*connection_, statement);
}

MysqlConnection::RecoverScan MysqlConnection::scan_recover() {
  RecoverScan scan;
  try {
    driver_for_this_thread();
    std::unique_ptr<sql::Statement> handle(connection_->createStatement());
    std::unique_ptr<sql::ResultSet> rows(handle->executeQuery("XA RECOVER"));
    while (rows->next()) {
      // getString() keeps embedded NULs; the row is split by the lengths, never by c_str().
      const RecoverRow row{rows->getInt64(1), rows->getInt64(2), rows->getInt64(3),
                           rows->getString(4).asStdString()};
      Result<Xid> xid = decode_recover_row(row);
      if (xid.ok()) {
        scan.xids.push_back(std::move(*xid));
      } else {
        scan.skipped.push_back(xid.status().message());
      }
    }
  } catch (const sql::SQLException& e) {
    scan.error = SqlError{e.getErrorCode(), e.getSQLState(), e.what()};
  } catch (const std::exception& e) {
    scan.error = SqlError{0, "", e.what()};
  }
  return scan;
}

std::optional<XaReply> MysqlConnection::precheck(const Xid& xid, const std::string*& literal) {
  if (!usable_) return lost_reply();
  if (!literal_cache_ || literal_cache_->xid != xid) {
    Result<std::string> text = xid_literal(xid);
    if (!text.ok()) return XaReply{XAER_INVAL, text.status().message()};
    literal_cache_ = XidLiteral{xid, std::move(*text)};
  }
  literal = &literal_cache_->text;
  return std::nullopt;
}

std::optional<XaReply> MysqlConnection::end_before_rollback(const Xid& xid,
                                                              const std::string& literal) {
  const std::string statement = "XA END " + literal;
  std::optional<SqlError> error = execute(statement);
  if (!error) {
    remember(xid, Knowledge::kIdle);
    return std::nullopt;
  }
  const XaAnswer answer = map_xa_error(Verb::kEnd, *error, Knowledge::kActive, XA_RBROLLBACK);
  if (answer.followup == Followup::kSessionLost) {
    return on_session_lost(Verb::kRollback, xid,
                           {XAER_RMFAIL, statement + ": " + describe(*error)});
  }
  // ROLLBACK ONLY and the like: XA ROLLBACK clears the branch in any of those states, and an
  // answer of 1397 to it then means "already gone".
  remember(xid, Knowledge::kRollbackOnly);
  return std::nullopt;
}

XaReply MysqlConnection::fail(Verb verb, const Xid& xid, const std::string& statement,
                                const SqlError& error) {
  const XaAnswer answer = map_xa_error(verb, error, knowledge_of(xid), rollback_code_of(xid));
  XaReply reply{answer.code, statement + ": " + describe(error)};
  switch (answer.followup) {
    case Followup::kNone: break;
    case Followup::kSessionLost: return on_session_lost(verb, xid, std::move(reply));
    case Followup::kSessionPoisoned:
      // Closing the session is the way out (it also rolls back a branch it still holds, which
      // is not prepared: every poisoning answer comes before or instead of a prepare).
      usable_ = false;
      XATM_LOG(warning) << where() << ": session discarded after " << reply.detail;
      break;
    case Followup::kCollectRollback: return collect_rollback(xid, std::move(reply));
    case Followup::kCheckRecover: return check_recover(xid, std::move(reply));
    case Followup::kBranchGone: finished(xid, reply.detail); return reply;
  }
  after_failure(verb, xid, reply);
  return reply;
}

void MysqlConnection::after_failure(Verb verb, const Xid& xid, const XaReply& reply) {
  if (verb == Verb::kEnd && reply.is_rollback()) {
    // The server rolled the branch back but keeps it until XA ROLLBACK (docs/driver-mysql.md).
    remember(xid, Knowledge::kRollbackOnly, reply.code);
  } else if (completes_branch(verb) &&
             (reply.ok() || reply.is_rollback() || reply.code == XAER_NOTA)) {
    forget_branch(xid);
  }
}

XaReply MysqlConnection::on_session_lost(Verb verb, const Xid& xid, XaReply reply) {
  usable_ = false;
  const Knowledge knowledge = knowledge_of(xid);
  // Could the lost session still hold a prepared branch on the server (a zombie)? Yes if it
  // prepared it, if its XA PREPARE was in flight, or if it was finishing someone else's.
  // Whoever finishes it later finds this session in the branch's XID (mysql_branch_tag.h).
  const bool maybe_prepared =
      knowledge == Knowledge::kPrepared || verb == Verb::kPrepare ||
      (knowledge == Knowledge::kNotHere && (verb == Verb::kCommit || verb == Verb::kRollback));
  XATM_LOG(warning) << where() << ": session lost at " << reply.detail << "; branch "
                    << xid.to_string()
                    << (maybe_prepared ? " may be prepared: its outcome is resolved later"
                                       : " was not prepared: the server rolls it back");
  forget_branch(xid);
  return reply;
}

XaReply MysqlConnection::collect_rollback(const Xid& xid, XaReply reply) {
  // The branch is ROLLBACK ONLY: the application's statement got the deadlock or timeout, not
  // us. XA COMMIT of a ROLLBACK ONLY branch cannot commit: the server rolls it back, removes
  // it and names the reason (1614 deadlock, 1613 lock wait timeout, 1402 other).
  const std::string statement = "XA COMMIT " + *xid_literal(xid) + " ONE PHASE";
  std::optional<SqlError> error = execute(statement);
  if (error && rollback_code_for(error->code) != 0) {
    reply.code = rollback_code_for(error->code);
    reply.detail += "; " + statement + ": " + describe(*error);
    finished(xid, reply.detail);
    return reply;
  }
  if (!error) {
    XATM_LOG(error) << where() << ": " << statement << " succeeded on a ROLLBACK ONLY branch";
    finished(xid, reply.detail);
    return {XAER_RMERR, reply.detail + "; " + statement + " unexpectedly succeeded"};
  }
  reply.detail += "; " + statement + ": " + describe(*error);
  if (!is_connection_lost(*error) && !execute("XA ROLLBACK " + *xid_literal(xid))) {
    finished(xid, reply.detail);
    return reply;
  }
  // The branch is not prepared: closing (or having lost) the session rolls it back.
  usable_ = false;
  forget_branch(xid);
  return reply;
}

XaReply MysqlConnection::check_recover(const Xid& xid, XaReply reply) {
  RecoverScan scan = scan_recover();
  if (scan.error) {
    usable_ = false;
    return {XAER_RMFAIL, reply.detail + "; XA RECOVER: " + describe(*scan.error)};
  }
  if (std::find(scan.xids.begin(), scan.xids.end(), xid) == scan.xids.end()) {
    reply.detail += "; XA RECOVER does not list it";
    return reply;  // XAER_NOTA: already completed (or never prepared)
  }
  // Listed, yet unknown to this session: it is still attached to the session that prepared
  // it, alive or a zombie (docs/driver-mysql.md). It becomes reachable once that session ends;
  // the retry's settle_holder() ends it when the XID names it.
  reply.code = XA_RETRY;
  reply.detail += "; XA RECOVER lists it: still attached to another session (retry once that "
                  "session has ended)";
  return reply;
}

std::string MysqlConnection::session_key() const {
  return std::to_string(self_.connection_id) + "@" + std::to_string(self_.server_started);
}

Status MysqlConnection::end_session(std::string_view key) {
  BranchHolder other;
  const std::string text(key);
  if (std::sscanf(text.c_str(), "%" SCNu64 "@%" SCNu32, &other.connection_id,
                  &other.server_started) != 2) {
    return invalid_argument_error(where() + ": '" + text + "' names no session");
  }
  if (!usable_) return unavailable_error(where() + " was lost");
  // After a restart the session is gone, and its id may name another one.
  if (!same_server_run(other.server_started, self_.server_started)) return Status();
  const std::string session = "session " + std::to_string(other.connection_id);
  ServerSessions sessions(*connection_);
  auto failed = [&](const std::string& what, const SqlError& error) {
    if (is_connection_lost(error)) usable_ = false;
    return unavailable_error(where() + ": " + what + " " + session + ": " + describe(error));
  };
  if (auto error = sessions.kill(other.connection_id); error && error->code != kNoSuchThread) {
    return failed("KILL", *error);
  }
  ServerSessions::Lookup lookup = sessions.wait_until_gone(other.connection_id, kKilledSessionPatience);
  if (lookup.error) return failed("PROCESSLIST after KILL of", *lookup.error);
  if (lookup.present) {
    return unavailable_error(where() + ": " + session + " was killed but has not ended after " +
                             std::to_string(kKilledSessionPatience.count()) + " ms");
  }
  return Status();
}

std::optional<XaReply> MysqlConnection::settle_holder(const Xid& xid) {
  const std::optional<BranchHolder> holder = decode_branch_tag(xid);
  if (!holder || holder->connection_id == self_.connection_id) return std::nullopt;
  // After a restart no session holds a prepared branch, and the id may name another session.
  if (!same_server_run(holder->server_started, self_.server_started)) return std::nullopt;
  const std::string session = "session " + std::to_string(holder->connection_id);
  ServerSessions sessions(*connection_);
  ServerSessions::Lookup lookup = sessions.wait_until_gone(holder->connection_id, kHolderPatience);
  if (!lookup.error && lookup.present && lookup.command != "Killed") {
    if (lookup.user != registry_->user() || registry_->is_open(holder->connection_id)) {
      return XaReply{XA_RETRY, session + ", which prepared the branch, is still open (" +
                                   (lookup.user != registry_->user() ? "user '" + lookup.user + "'"
                                                                     : "one of ours, in use") +
                                   "); retry once it has ended"};
    }
    if (auto error = sessions.kill(holder->connection_id)) {
      if (is_connection_lost(*error)) {
        usable_ = false;
        return XaReply{XAER_RMFAIL, "KILL " + session + ": " + describe(*error)};
      }
      return XaReply{XA_RETRY, "KILL of " + session + ", which holds the branch, failed: " +
                                   describe(*error)};
    }
    XATM_LOG(warning) << where() << ": killed " << session << " (" << lookup.command
                      << "), which prepared branch " << xid.to_string()
                      << " and had not ended after " << kHolderPatience.count() << " ms";
  }
  if (!lookup.error && lookup.present) {  // ending (killed, or by itself): the window may be open
    lookup = sessions.wait_until_gone(holder->connection_id, kKilledHolderPatience);
  }
  if (lookup.error) {
    if (is_connection_lost(*lookup.error)) {
      usable_ = false;
      return XaReply{XAER_RMFAIL, "PROCESSLIST: " + describe(*lookup.error)};
    }
    return XaReply{XA_RETRY, "cannot tell whether " + session +
                                 ", which prepared the branch, has ended: PROCESSLIST: " +
                                 describe(*lookup.error)};
  }
  if (lookup.present) {
    return XaReply{XA_RETRY, session + ", which prepared the branch, is ending but has not ended "
                                       "yet; retry once it has"};
  }
  std::this_thread::sleep_for(kTeardownGrace);
  return std::nullopt;
}

Knowledge MysqlConnection::knowledge_of(const Xid& xid) const {
  return branch_ && branch_->xid == xid ? branch_->knowledge : Knowledge::kNotHere;
}

int MysqlConnection::rollback_code_of(const Xid& xid) const {
  return branch_ && branch_->xid == xid ? branch_->rollback_code : XA_RBROLLBACK;
}

void MysqlConnection::remember(const Xid& xid, Knowledge knowledge, int rollback_code) {
  if (branch_ && branch_->xid == xid) {  // the same branch, one verb on: no copy of its XID
    branch_->knowledge = knowledge;
    branch_->rollback_code = rollback_code;
    return;
  }
  branch_ = BranchMemory{xid, knowledge, rollback_code};
}

void MysqlConnection::forget_branch(const Xid& xid) {
  if (branch_ && branch_->xid == xid) branch_.reset();
}

void MysqlConnection::finished(const Xid& xid, const std::string& detail) {
  forget_branch(xid);
  finished_ = FinishedBranch{xid, detail};
}

std::string MysqlConnection::where() const {
  return "data source '" + registry_->data_source() + "', session " +
         std::to_string(self_.connection_id);
}

XaReply MysqlConnection::lost_reply() const {
  return {XAER_RMFAIL, where() + " was lost or discarded earlier; it is not used again"};
}

}  // namespace xatm::mysql::internal
