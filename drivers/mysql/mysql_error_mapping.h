// How the MySQL driver reads MariaDB/MySQL errors: pure functions, testable without a server.
//
// Every rule here comes from docs/driver-mysql.md
// (MariaDB 10.11 as observed, MySQL as documented). Classification is per XA verb: the same
// server code means different things at XA END and at XA COMMIT.
//
// Thread safety: pure functions.
#ifndef XATM_DRIVERS_MYSQL_MYSQL_ERROR_MAPPING_H_
#define XATM_DRIVERS_MYSQL_MYSQL_ERROR_MAPPING_H_

#include <string>
#include <string_view>

#include "xatm/status.h"

namespace xatm::mysql::internal {

// What a Connector/C++ exception carried.
struct SqlError {
  int code = 0;           // getErrorCode(): server or client errno; 0 for the connector's own
  std::string sql_state;  // getSQLState()
  std::string message;    // what()
};

// "1397 (XAE04): XAER_NOTA: Unknown XID": the vendor code, SQLSTATE and message.
std::string describe(const SqlError& error);

// Server and client codes the driver tells apart (MariaDB's numbering; MySQL agrees).
inline constexpr int kErrXaNota = 1397;        // ER_XAER_NOTA
inline constexpr int kErrXaInval = 1398;       // ER_XAER_INVAL
inline constexpr int kErrXaRmfail = 1399;      // ER_XAER_RMFAIL: a state error, see below
inline constexpr int kErrXaOutside = 1400;     // ER_XAER_OUTSIDE
inline constexpr int kErrXaRmerr = 1401;       // ER_XAER_RMERR
inline constexpr int kErrXaRbRollback = 1402;  // ER_XA_RBROLLBACK
inline constexpr int kErrXaDupid = 1440;       // ER_XAER_DUPID
inline constexpr int kErrXaRbTimeout = 1613;   // ER_XA_RBTIMEOUT
inline constexpr int kErrXaRbDeadlock = 1614;  // ER_XA_RBDEADLOCK
inline constexpr int kErrParse = 1064;         // ER_PARSE_ERROR
inline constexpr int kErrLockWaitTimeout = 1205;
inline constexpr int kErrDeadlock = 1213;
inline constexpr int kErrReadOnly = 1290;              // ER_OPTION_PREVENTS_STATEMENT
inline constexpr int kErrSpecificAccessDenied = 1227;  // MySQL 8 XA RECOVER without the grant
inline constexpr int kErrCommandsOutOfSync = 2014;     // CR_COMMANDS_OUT_OF_SYNC: a driver bug

// True when the session is gone and the statement in flight may or may not have taken effect
// (docs/driver-mysql.md): client codes 2000-2999 except 2014, 5000-5999, server codes 1927, 1053,
// 1158-1161, and errno 0 (the connector's "Connection has been closed" and the like).
bool is_connection_lost(const SqlError& error);

// The branch state that a 1399 message ends with ("... is in the  ROLLBACK ONLY state").
enum class XaStateName { kUnknown, kNonExisting, kActive, kIdle, kPrepared, kRollbackOnly };
XaStateName state_in_message(std::string_view message);

// The XA verbs, as far as error mapping tells them apart.
enum class Verb { kStart, kEnd, kPrepare, kCommit, kCommitOnePhase, kRollback, kRecover };

// What this session knows about the branch the verb names.
enum class Knowledge {
  kNotHere,       // not this session's branch (a fresh session: phase 2 elsewhere, recovery)
  kActive,        // this session started it (XA START succeeded)
  kIdle,          // this session ended it (XA END succeeded)
  kRollbackOnly,  // this session was told it is rolled back (XA_RB* answered) but the server
                  // may still hold it: XA ROLLBACK clears it
  kPrepared,      // this session prepared it
};

// What the session does after an error, besides answering `code`.
enum class Followup {
  kNone,
  kSessionLost,      // the session is unusable: discard it (code is XAER_RMFAIL)
  kSessionPoisoned,  // the session's state is unclear (e.g. 1400): discard it, retry elsewhere
  kCollectRollback,  // the branch is ROLLBACK ONLY on the server: learn why and clear it
  kCheckRecover,     // 1397 on a session that does not hold the branch: if XA RECOVER still
                     // lists it, another (maybe zombie) session holds it: XA_RETRY, not NOTA
  kBranchGone,       // the server removed the branch (XA_RB* from prepare / one-phase commit)
};

struct XaAnswer {
  int code;
  Followup followup = Followup::kNone;
  friend bool operator==(const XaAnswer&, const XaAnswer&) = default;
};

// The XA answer to `error`, raised by the XA statement of `verb`. `rollback_code` is the
// XA_RB* code this session remembered for the branch (XA_RBROLLBACK when it knows none).
XaAnswer map_xa_error(Verb verb, const SqlError& error, Knowledge knowledge, int rollback_code);

// The XA_RB* code for the server's rollback codes 1614 / 1613 / 1402; 0 for any other.
int rollback_code_for(int server_code);

// Where a failed connect was going, for its message. `password` is only used to mask it.
struct ConnectTarget {
  std::string_view data_source;  // the data source's name
  std::string_view endpoint;     // "host:port" or "socket /path"
  std::string_view user;
  std::string_view database;
  std::string_view password;
};

// The Status for a failed connect (or a failed first query of a new session): kInvalidArgument
// for bad credentials, a missing database or a bad option; kUnavailable when the server cannot
// be reached or is busy; kFailedPrecondition otherwise. The message names the data source, the
// cause and the vendor code, and never the password.
Status map_connect_error(const SqlError& error, const ConnectTarget& target);

// `text` with every occurrence of `secret` replaced by "***" (secrets shorter than 4
// characters are left alone: masking them would garble every message and protect nothing).
std::string mask_secret(std::string text, std::string_view secret);

}  // namespace xatm::mysql::internal

#endif  // XATM_DRIVERS_MYSQL_MYSQL_ERROR_MAPPING_H_
