#include "mysql_server_sessions.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <exception>
#include <memory>
#include <thread>

#include "mysql_driver_thread.h"

namespace xatm::mysql::internal {
namespace {

constexpr std::chrono::milliseconds kPollInterval{20};

SqlError from_exception(const sql::SQLException& e) {
  return SqlError{e.getErrorCode(), e.getSQLState(), e.what()};
}

}  // namespace

std::optional<SqlError> run_statement(sql::Connection& connection, const std::string& statement) {
  try {
    driver_for_this_thread();
    std::unique_ptr<sql::Statement> handle(connection.createStatement());
    // A result left unread would put the session out of sync for the next statement.
    if (handle->execute(statement)) std::unique_ptr<sql::ResultSet> unread(handle->getResultSet());
    return std::nullopt;
  } catch (const sql::SQLException& e) {
    return from_exception(e);
  } catch (const std::exception& e) {
    return SqlError{0, "", e.what()};  // unclear state: classified as a lost session
  }
}

ServerSessions::Lookup ServerSessions::look_up(std::uint64_t connection_id) {
  Lookup lookup;
  try {
    driver_for_this_thread();
    std::unique_ptr<sql::Statement> handle(via_.createStatement());
    std::unique_ptr<sql::ResultSet> rows(
        handle->executeQuery("SELECT USER, COMMAND FROM information_schema.PROCESSLIST WHERE ID = " +
                             std::to_string(connection_id)));
    if (rows->next()) {
      lookup.present = true;
      lookup.user = rows->getString(1).asStdString();
      lookup.command = rows->getString(2).asStdString();
    }
  } catch (const sql::SQLException& e) {
    lookup.error = from_exception(e);
  } catch (const std::exception& e) {
    lookup.error = SqlError{0, "", e.what()};
  }
  return lookup;
}

ServerSessions::Lookup ServerSessions::wait_until_gone(std::uint64_t connection_id,
                                                       std::chrono::milliseconds patience) {
  const auto give_up_at = std::chrono::steady_clock::now() + patience;
  for (;;) {
    Lookup lookup = look_up(connection_id);
    if (lookup.error || !lookup.present || std::chrono::steady_clock::now() >= give_up_at) {
      return lookup;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

std::optional<SqlError> ServerSessions::kill(std::uint64_t connection_id) {
  return run_statement(via_, "KILL CONNECTION " + std::to_string(connection_id));
}

}  // namespace xatm::mysql::internal
