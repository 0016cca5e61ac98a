#include "pg_error_mapping.h"

#include "xatm/xa.h"

namespace xatm::postgresql::internal {
namespace {

bool in_class(std::string_view sqlstate, std::string_view sqlclass) {
  return sqlstate.size() == 5 && sqlstate.substr(0, 2) == sqlclass;
}

// A statement error that makes the transaction fail and that the TM may simply retry later.
bool is_rollback_vote(std::string_view sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01" || in_class(sqlstate, "23") ||
         sqlstate == "57014" || sqlstate == "55P03";
}

Mapping map_prepare(std::string_view sqlstate) {
  if (is_rollback_vote(sqlstate)) return {rollback_code(sqlstate), Attention::kNone, ""};
  if (sqlstate == "42710") {
    return {XA_RBOTHER, Attention::kError,
            "the gid is already prepared in this cluster: an XID was reused, or two data sources "
            "that are databases of one cluster got the same XID; the other branch is left alone"};
  }
  if (sqlstate == "0A000") {
    return {XA_RBOTHER, Attention::kError,
            "this transaction cannot be prepared: it used a temporary table, LISTEN/NOTIFY, an "
            "exported snapshot or a WITH HOLD cursor"};
  }
  if (sqlstate == "55000") {
    return {XA_RBOTHER, Attention::kError,
            "prepared transactions are disabled: set max_prepared_transactions > 0 in "
            "postgresql.conf and restart the server"};
  }
  if (sqlstate == "53200") {
    return {XA_RBOTHER, Attention::kError,
            "every prepared-transaction slot is in use: resolve in-doubt branches or raise "
            "max_prepared_transactions"};
  }
  if (sqlstate == "22023") {
    return {XA_RBPROTO, Attention::kError, "the server rejected the gid (a driver bug)"};
  }
  return {rollback_code(sqlstate), Attention::kWarning, ""};
}

Mapping map_commit_prepared(std::string_view sqlstate) {
  if (sqlstate == "42704")
    return {XAER_NOTA, Attention::kNone, "no prepared transaction has this gid"};
  if (sqlstate == "55000") {
    return {XA_RETRY, Attention::kWarning, "another session is finishing this branch right now"};
  }
  if (in_class(sqlstate, "53") || in_class(sqlstate, "58") || sqlstate == "57014" ||
      sqlstate == "55P03" || sqlstate == "40P01") {
    return {XA_RETRY, Attention::kWarning,
            "transient server condition; the branch is still prepared"};
  }
  return {XAER_RMFAIL, Attention::kError, ""};  // 0A000, 42501, 25001 and the unexpected
}

Mapping map_rollback_prepared(std::string_view sqlstate) {
  if (sqlstate == "42704")
    return {XAER_NOTA, Attention::kNone, "no prepared transaction has this gid"};
  if (sqlstate == "55000") {
    return {XAER_RMFAIL, Attention::kWarning, "another session is finishing this branch right now"};
  }
  return {XAER_RMFAIL, Attention::kError, ""};  // 0A000, 42501, 25001 and the unexpected
}

// Rows shared by COMMIT PREPARED and ROLLBACK PREPARED: the branch exists but this session may
// not finish it, so it is never XAER_NOTA.
Mapping map_finish(Statement statement, std::string_view sqlstate) {
  if (sqlstate == "0A000") {
    return {XAER_RMFAIL, Attention::kError,
            "the prepared transaction belongs to another database: finish it from the database "
            "it was prepared in"};
  }
  if (sqlstate == "42501") {
    return {
        XAER_RMFAIL, Attention::kError,
        "permission denied: only the role that prepared the branch or a superuser can finish it"};
  }
  if (sqlstate == "25001") {
    return {XAER_PROTO, Attention::kError, "the session had a transaction open"};
  }
  return statement == Statement::kCommitPrepared ? map_commit_prepared(sqlstate)
                                                 : map_rollback_prepared(sqlstate);
}

}  // namespace

bool is_connection_lost(std::string_view sqlstate, std::string_view severity) {
  if (sqlstate.empty()) return true;
  if (severity == "FATAL" || severity == "PANIC") return true;
  return in_class(sqlstate, "08") || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03" || sqlstate == "25P03" || sqlstate == "57P05";
}

int rollback_code(std::string_view sqlstate) {
  if (sqlstate == "40P01") return XA_RBDEADLOCK;
  if (sqlstate == "40001") return XA_RBTRANSIENT;
  if (in_class(sqlstate, "23")) return XA_RBINTEGRITY;
  if (sqlstate == "55P03" || sqlstate == "57014") return XA_RBTIMEOUT;
  return XA_RBROLLBACK;
}

Mapping map_failure(Statement statement, std::string_view sqlstate, bool lost) {
  switch (statement) {
    case Statement::kBegin:
      return lost ? Mapping{XAER_RMFAIL, Attention::kWarning, "connection lost"}
                  : Mapping{XAER_RMERR, Attention::kError, ""};
    case Statement::kReadOnlyProbe:
      // Nothing was prepared yet: the transaction dies with its session or with the error.
      return lost ? Mapping{XA_RBCOMMFAIL, Attention::kWarning,
                            "connection lost before PREPARE TRANSACTION was sent"}
                  : Mapping{rollback_code(sqlstate), Attention::kWarning, ""};
    case Statement::kPrepare:
      return lost
                 ? Mapping{XAER_RMFAIL, Attention::kWarning,
                           "connection lost during PREPARE TRANSACTION: the branch may be prepared"}
                 : map_prepare(sqlstate);
    case Statement::kCommit:
      // Any error at COMMIT ends the transaction rolled back; a lost answer leaves it unknown.
      return lost ? Mapping{XAER_RMFAIL, Attention::kWarning,
                            "connection lost during COMMIT: the outcome is unknown"}
                  : Mapping{rollback_code(sqlstate), Attention::kNone, ""};
    case Statement::kCommitPrepared:
    case Statement::kRollbackPrepared:
      return lost ? Mapping{XAER_RMFAIL, Attention::kWarning,
                            "connection lost: the branch may still be prepared"}
                  : map_finish(statement, sqlstate);
    case Statement::kRollback:
      // A transaction that is not prepared cannot outlive its session.
      return lost ? Mapping{XA_OK, Attention::kNone, ""}
                  : Mapping{XAER_RMERR, Attention::kError, ""};
    case Statement::kRecover:
    case Statement::kCheck:
      return lost ? Mapping{XAER_RMFAIL, Attention::kWarning, "connection lost"}
                  : Mapping{XAER_RMERR, Attention::kError, ""};
  }
  return {XAER_RMERR, Attention::kError, ""};
}

std::string_view statement_name(Statement statement) {
  switch (statement) {
    case Statement::kBegin: return "BEGIN";
    case Statement::kReadOnlyProbe: return "SELECT txid_current_if_assigned()";
    case Statement::kPrepare: return "PREPARE TRANSACTION";
    case Statement::kCommit: return "COMMIT";
    case Statement::kCommitPrepared: return "COMMIT PREPARED";
    case Statement::kRollback: return "ROLLBACK";
    case Statement::kRollbackPrepared: return "ROLLBACK PREPARED";
    case Statement::kRecover: return "SELECT gid FROM pg_prepared_xacts";
    case Statement::kCheck: return "SHOW max_prepared_transactions";
  }
  return "?";
}

}  // namespace xatm::postgresql::internal
