#include "mysql_connection.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <algorithm>
#include <chrono>
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

// How long a commit or rollback waits for a departed session of ours that held the branch:
// a session we closed (or killed) ends within milliseconds; a lost one may be a zombie, which
// the 1397 path then kills.
constexpr std::chrono::milliseconds kClosedHolderPatience{2000};
constexpr std::chrono::milliseconds kLostHolderPatience{250};
// After a session disappears from PROCESSLIST the server still releases its InnoDB transaction
// (the end of the detach window described in mysql_session_registry.h).
constexpr std::chrono::milliseconds kTeardownGrace{50};

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
                                     std::unique_ptr<sql::Connection> connection,
                                     std::uint64_t connection_id)
    : registry_(std::move(registry)),
      connection_(std::move(connection)),
      connection_id_(connection_id) {
  registry_->opened(connection_id_);
}

MysqlConnection::~MysqlConnection() {
  registry_->closed(connection_id_);
  if (branch_ && branch_->knowledge == Knowledge::kPrepared) {
    // Closing detaches the prepared branch; whoever finishes it waits for the teardown.
    registry_->holder_left(branch_->xid, connection_id_, SessionRegistry::Departure::kClosed);
  }
  try {
    driver_for_this_thread();
    connection_->close();  // a branch not yet prepared is rolled back by the server
  } catch (const std::exception& e) {
    XATM_LOG(debug) << where() << ": closing the session: " << e.what();
  }
}

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
    if (auto stop = settle_previous_holder(xid)) return *stop;
  }
  if (auto error = execute(statement)) return fail(verb, xid, statement, *error);
  forget_branch(xid);
  return {};
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
    if (auto stop = settle_previous_holder(xid)) return *stop;
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
  const bool maybe_prepared =
      knowledge == Knowledge::kPrepared || verb == Verb::kPrepare ||
      (knowledge == Knowledge::kNotHere && (verb == Verb::kCommit || verb == Verb::kRollback));
  if (maybe_prepared) {
    registry_->holder_left(xid, connection_id_, SessionRegistry::Departure::kLost);
  }
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
  // it, alive or a zombie (docs/driver-mysql.md). It becomes reachable once that session ends.
  reply.code = XA_RETRY;
  reply.detail +=
      "; XA RECOVER lists it: still attached to another session" + end_previous_holder(xid);
  return reply;
}

std::optional<XaReply> MysqlConnection::settle_previous_holder(const Xid& xid) {
  const std::optional<SessionRegistry::Holder> holder = registry_->holder_of(xid);
  if (!holder) return std::nullopt;
  if (holder->connection_id == connection_id_ || registry_->is_open(holder->connection_id)) {
    registry_->forget_holder(xid);  // the id is a live session of ours now: the old one is gone
    return std::nullopt;
  }
  // A closed session goes away at once; a lost one may be a zombie that never does by itself.
  const auto patience = holder->departure == SessionRegistry::Departure::kClosed
                            ? kClosedHolderPatience
                            : kLostHolderPatience;
  const ServerSessions::Lookup lookup =
      ServerSessions(*connection_).wait_until_gone(holder->connection_id, patience);
  if (lookup.error) {
    if (!is_connection_lost(*lookup.error)) return std::nullopt;
    usable_ = false;
    return XaReply{XAER_RMFAIL, "PROCESSLIST: " + describe(*lookup.error)};
  }
  if (!lookup.present || lookup.user != registry_->user()) {
    // Gone (or the id now belongs to someone else): let the server finish the teardown.
    std::this_thread::sleep_for(kTeardownGrace);
    registry_->forget_holder(xid);
  }
  return std::nullopt;
}

std::string MysqlConnection::end_previous_holder(const Xid& xid) {
  const std::optional<SessionRegistry::Holder> holder = registry_->holder_of(xid);
  const std::string wait = " (retry once that session has ended)";
  if (!holder || holder->connection_id == connection_id_ ||
      registry_->is_open(holder->connection_id)) {
    return wait;
  }
  const std::string id = std::to_string(holder->connection_id);
  ServerSessions sessions(*connection_);
  // Ids restart with the server: kill only a session of our user that none of ours owns.
  const ServerSessions::Lookup lookup = sessions.look_up(holder->connection_id);
  if (lookup.error || !lookup.present || lookup.user != registry_->user()) return wait;
  if (auto error = sessions.kill(holder->connection_id)) {
    return " (KILL of lost session " + id + " failed: " + describe(*error) + ")";
  }
  XATM_LOG(warning) << where() << ": killed session " << id << ", lost earlier by this data "
                    << "source while it held branch " << xid.to_string();
  const ServerSessions::Lookup after =
      sessions.wait_until_gone(holder->connection_id, kClosedHolderPatience);
  if (after.error || after.present) return " (killed session " + id + "; it has not ended yet)";
  std::this_thread::sleep_for(kTeardownGrace);
  registry_->forget_holder(xid);
  return " (killed session " + id + ", a lost session of ours that held it; retry)";
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
         std::to_string(connection_id_);
}

XaReply MysqlConnection::lost_reply() const {
  return {XAER_RMFAIL, where() + " was lost or discarded earlier; it is not used again"};
}

}  // namespace xatm::mysql::internal
