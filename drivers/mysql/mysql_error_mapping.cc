#include "mysql_error_mapping.h"

#include <array>
#include <utility>

#include "xatm/driver/resource.h"
#include "xatm/xa.h"

namespace xatm::mysql::internal {
namespace {

// 1397 at XA COMMIT / XA ROLLBACK. On the session that holds (or held) the branch it is final;
// elsewhere the branch may still be attached to another session (docs/driver-mysql.md).
XaAnswer unknown_xid(Verb verb, Knowledge knowledge) {
  if (knowledge == Knowledge::kNotHere) return {XAER_NOTA, Followup::kCheckRecover};
  // XA_RB* was answered earlier; the server has since removed the branch: rollback done.
  if (verb == Verb::kRollback && knowledge == Knowledge::kRollbackOnly) return {XA_OK};
  return {XAER_NOTA};
}

// 1399 (a state error): its meaning depends on the state the message names (docs/driver-mysql.md).
XaAnswer state_error(Verb verb, const SqlError& error, int rollback_code) {
  switch (state_in_message(error.message)) {
    case XaStateName::kRollbackOnly: return {rollback_code, Followup::kCollectRollback};
    case XaStateName::kNonExisting:
      // XA END / PREPARE of a branch this session does not have.
      if (verb == Verb::kEnd || verb == Verb::kPrepare) return {XAER_NOTA};
      return {XAER_PROTO};
    default: return {XAER_PROTO};  // ACTIVE, IDLE, PREPARED: the verb came in the wrong order
  }
}

XaAnswer map_start(const SqlError& error) {
  switch (error.code) {
    case kErrXaDupid: return {XAER_DUPID};
    case kErrXaOutside: return {XAER_OUTSIDE, Followup::kSessionPoisoned};
    case kErrXaRmfail: return {XAER_PROTO};
    case kErrXaInval:
    case kErrParse: return {XAER_INVAL};
    default: return {XAER_RMERR};
  }
}

XaAnswer map_end_or_prepare(Verb verb, const SqlError& error, int rollback_code) {
  if (int rb = rollback_code_for(error.code); rb != 0) {
    // XA END: the server reports the rollback but keeps the branch (XA ROLLBACK clears it).
    // XA PREPARE: the branch is rolled back and removed.
    return {rb, verb == Verb::kPrepare ? Followup::kBranchGone : Followup::kNone};
  }
  switch (error.code) {
    case kErrXaRmfail: return state_error(verb, error, rollback_code);
    case kErrXaNota: return {XAER_NOTA};
    case kErrXaInval: return {XAER_PROTO};
    default: return {XAER_RMERR};
  }
}

XaAnswer map_commit(const SqlError& error, Knowledge knowledge, int rollback_code) {
  if (int rb = rollback_code_for(error.code); rb != 0) {
    // Only a detached read-only prepared branch carries this mark (docs/driver-mysql.md): nothing to
    // commit, no data affected. On a branch that was never prepared it means "rolled back".
    const bool prepared = knowledge == Knowledge::kPrepared || knowledge == Knowledge::kNotHere;
    return {prepared ? XA_OK : rb};
  }
  switch (error.code) {
    case kErrXaNota: return unknown_xid(Verb::kCommit, knowledge);
    case kErrLockWaitTimeout:  // backup lock / FTWRL: the branch is still prepared
    case kErrReadOnly: return {XA_RETRY};
    case kErrXaOutside: return {XA_RETRY, Followup::kSessionPoisoned};
    case kErrXaRmfail: return state_error(Verb::kCommit, error, rollback_code);
    case kErrXaInval: return {XAER_PROTO};
    // 1401 and anything unexpected: the outcome is not known. Never XAER_RMERR, which a TM
    // reads as "rolled back" (a heuristic) after a commit decision.
    default: return {XAER_RMFAIL, Followup::kSessionPoisoned};
  }
}

XaAnswer map_commit_one_phase(const SqlError& error, Knowledge knowledge, int rollback_code) {
  if (int rb = rollback_code_for(error.code); rb != 0) return {rb, Followup::kBranchGone};
  switch (error.code) {
    case kErrXaNota: return {XAER_NOTA};
    case kErrXaRmfail: return state_error(Verb::kCommitOnePhase, error, rollback_code);
    // MariaDB answers 1398 to ONE PHASE both for a prepared branch (a protocol error) and for
    // an XID this session does not hold (unknown here).
    case kErrXaInval: return {knowledge == Knowledge::kNotHere ? XAER_NOTA : XAER_PROTO};
    // The branch did not commit and is still attached to this session: discarding the session
    // makes the server roll it back, so the answer can be XA_RB* (XA_RETRY is not allowed with
    // TMONEPHASE).
    case kErrLockWaitTimeout:
    case kErrReadOnly: return {XA_RBTRANSIENT, Followup::kSessionPoisoned};
    default: return {XAER_RMERR, Followup::kSessionPoisoned};  // 1401: engine failure
  }
}

XaAnswer map_rollback(const SqlError& error, Knowledge knowledge) {
  // Already rolled back (a detached read-only branch, or the reason of an earlier rollback).
  if (rollback_code_for(error.code) != 0) return {XA_OK};
  switch (error.code) {
    case kErrXaNota: return unknown_xid(Verb::kRollback, knowledge);
    case kErrLockWaitTimeout:
    case kErrReadOnly: return {XA_RETRY};
    case kErrXaOutside: return {XA_RETRY, Followup::kSessionPoisoned};
    case kErrXaRmfail:
    case kErrXaInval: return {XAER_PROTO};
    default: return {XAER_RMFAIL, Followup::kSessionPoisoned};
  }
}

}  // namespace

std::string describe(const SqlError& error) {
  std::string text = std::to_string(error.code);
  if (!error.sql_state.empty()) text += " (" + error.sql_state + ")";
  if (!error.message.empty()) text += ": " + error.message;
  return text;
}

bool is_connection_lost(const SqlError& error) {
  const int code = error.code;
  if (code == 0) return true;  // the connector's own errors: "Connection has been closed"
  if (code >= 2000 && code <= 2999) return code != kErrCommandsOutOfSync;
  if (code >= 5000 && code <= 5999) return true;  // libmariadb CR_ERR_NET_*
  return code == 1927 || code == 1053 || (code >= 1158 && code <= 1161);
}

XaStateName state_in_message(std::string_view message) {
  static constexpr std::array<std::pair<std::string_view, XaStateName>, 5> kStates{{
      {"NON-EXISTING state", XaStateName::kNonExisting},
      {"ROLLBACK ONLY state", XaStateName::kRollbackOnly},
      {"ACTIVE state", XaStateName::kActive},
      {"IDLE state", XaStateName::kIdle},
      {"PREPARED state", XaStateName::kPrepared},
  }};
  while (!message.empty() && (message.back() == ' ' || message.back() == '.')) {
    message.remove_suffix(1);
  }
  for (const auto& [suffix, state] : kStates) {
    if (message.ends_with(suffix)) return state;
  }
  return XaStateName::kUnknown;
}

int rollback_code_for(int server_code) {
  switch (server_code) {
    case kErrXaRbDeadlock: return XA_RBDEADLOCK;
    case kErrXaRbTimeout: return XA_RBTIMEOUT;
    case kErrXaRbRollback: return XA_RBROLLBACK;
    default: return 0;
  }
}

XaAnswer map_xa_error(Verb verb, const SqlError& error, Knowledge knowledge, int rollback_code) {
  if (is_connection_lost(error) || error.code == kErrCommandsOutOfSync) {
    return {XAER_RMFAIL, Followup::kSessionLost};
  }
  if (!is_rollback_code(rollback_code)) rollback_code = XA_RBROLLBACK;
  switch (verb) {
    case Verb::kStart: return map_start(error);
    case Verb::kEnd:
    case Verb::kPrepare: return map_end_or_prepare(verb, error, rollback_code);
    case Verb::kCommit: return map_commit(error, knowledge, rollback_code);
    case Verb::kCommitOnePhase: return map_commit_one_phase(error, knowledge, rollback_code);
    case Verb::kRollback: return map_rollback(error, knowledge);
    case Verb::kRecover: return {XAER_RMERR};
  }
  return {XAER_RMERR};
}

std::string mask_secret(std::string text, std::string_view secret) {
  if (secret.size() < 4) return text;
  for (std::size_t at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

Status map_connect_error(const SqlError& error, const ConnectTarget& target) {
  std::string cause;
  StatusCode code = StatusCode::kFailedPrecondition;
  switch (error.code) {
    case 1045:
      code = StatusCode::kInvalidArgument;
      cause =
          "access denied for user '" + std::string(target.user) + "': wrong user name or password";
      break;
    case 1044:
    case 1049:
      code = StatusCode::kInvalidArgument;
      cause = "database '" + std::string(target.database) +
              "' does not exist or the user may not use it";
      break;
    case 1130:
      code = StatusCode::kInvalidArgument;
      cause = "the server does not accept user '" + std::string(target.user) + "' from this host";
      break;
    case 1040:
      code = StatusCode::kUnavailable;
      cause = "too many connections";
      break;
    case 1251:
    case 2059: cause = "the authentication method is not supported by the client"; break;
    case 1820:
    case 1862: cause = "the user's password has expired"; break;
    default:
      if (is_connection_lost(error)) {
        code = StatusCode::kUnavailable;
        cause = "cannot reach the server";
      } else {
        cause = "the server refused the connection";
      }
  }
  std::string message = "data source '" + std::string(target.data_source) + "' (" +
                        std::string(target.endpoint) + "): " + cause + " [" + describe(error) + "]";
  return Status(code, mask_secret(std::move(message), target.password));
}

}  // namespace xatm::mysql::internal
