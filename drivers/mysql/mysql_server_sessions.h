// Statements on a Connector/C++ session without exceptions, and a look at (and the end of)
// other server sessions through one of ours: information_schema.PROCESSLIST and KILL.
//
// A user sees its own sessions in PROCESSLIST without any privilege, and may KILL them; that is
// all the driver needs (the sessions it looks for are its own).
//
// Thread safety: a ServerSessions uses `via` like the session's owner does: one thread at a time.
#ifndef XATM_DRIVERS_MYSQL_MYSQL_SERVER_SESSIONS_H_
#define XATM_DRIVERS_MYSQL_MYSQL_SERVER_SESSIONS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "mysql_error_mapping.h"

namespace sql {
class Connection;
}  // namespace sql

namespace xatm::mysql::internal {

// Runs one statement on `connection` (reading and dropping any result); the error it raised, if
// any. Never throws.
std::optional<SqlError> run_statement(sql::Connection& connection, const std::string& statement);

class ServerSessions {
 public:
  // What PROCESSLIST says about one session id.
  struct Lookup {
    std::optional<SqlError> error;  // the lookup itself failed
    bool present = false;           // a session with this id exists (and is visible to us)
    std::string user;               // its user, when present
    std::string command;            // its COMMAND ("Sleep", "Query", "Killed" while it ends)
  };

  explicit ServerSessions(sql::Connection& via) : via_(via) {}

  Lookup look_up(std::uint64_t connection_id);
  // Looks until the session is gone, for at most `patience`; the last lookup.
  Lookup wait_until_gone(std::uint64_t connection_id, std::chrono::milliseconds patience);
  // KILL CONNECTION; the error, if any.
  std::optional<SqlError> kill(std::uint64_t connection_id);

 private:
  sql::Connection& via_;
};

}  // namespace xatm::mysql::internal

#endif  // XATM_DRIVERS_MYSQL_MYSQL_SERVER_SESSIONS_H_
