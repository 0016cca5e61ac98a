#include "mysql_decision_table.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <algorithm>
#include <exception>

#include "mysql_driver_thread.h"
#include "mysql_error_mapping.h"
#include "mysql_server_sessions.h"

namespace xatm::mysql::internal {
namespace {

constexpr int kErrDuplicateKey = 1062;

std::string hex_literal(std::span<const std::uint8_t> bytes) { return "X'" + to_hex(bytes) + "'"; }

// The key of `node`'s birth row: 00 and the node name, never an xatm gtrid (those start 01).
std::string birth_literal(const std::string& node) {
  return "X'00" + to_hex({reinterpret_cast<const std::uint8_t*>(node.data()), node.size()}) + "'";
}

// A string literal of text that holds no quote or backslash (node and data source names, XID
// text: validated to [A-Za-z0-9._:=-] and spaces).
std::string plain_literal(const std::string& text) {
  std::string literal = "'";
  for (char c : text) {
    if (c != '\'' && c != '\\') literal += c;  // never present; dropped rather than trusted
  }
  return literal + "'";
}

std::string gtrid_list(const std::vector<Xid>& globals) {
  std::string list;
  for (const Xid& global : globals) list += (list.empty() ? "" : ",") + hex_literal(global.gtrid());
  return list;
}

std::int64_t epoch_ms(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

// Runs `query` and returns its rows as strings (columns in order). Never throws.
Result<std::vector<std::vector<std::string>>> query_rows(sql::Connection& connection,
                                                         const std::string& query, int columns) {
  try {
    driver_for_this_thread();
    std::unique_ptr<sql::Statement> handle(connection.createStatement());
    std::unique_ptr<sql::ResultSet> result(handle->executeQuery(query));
    std::vector<std::vector<std::string>> rows;
    while (result->next()) {
      std::vector<std::string>& row = rows.emplace_back();
      for (int i = 1; i <= columns; ++i) row.push_back(result->getString(i).asStdString());
    }
    return rows;
  } catch (const sql::SQLException& e) {
    return unavailable_error(describe(SqlError{e.getErrorCode(), e.getSQLState(), e.what()}));
  } catch (const std::exception& e) {
    return unavailable_error(e.what());
  }
}

}  // namespace

MysqlDecisionTable::MysqlDecisionTable(std::string data_source, std::string table,
                                       SessionFactory open_session)
    : data_source_(std::move(data_source)), table_(std::move(table)),
      name_status_(validate_decision_table_name(data_source_, table_)),
      open_session_(std::move(open_session)) {}

std::string MysqlDecisionTable::where() const {
  return "data source '" + data_source_ + "', decision table " + table_;
}

Result<std::unique_ptr<sql::Connection>> MysqlDecisionTable::session() {
  if (!name_status_.ok()) return name_status_;
  Result<std::unique_ptr<sql::Connection>> opened = open_session_();
  if (!opened.ok()) return opened.status().with_context(where());
  return opened;
}

Status MysqlDecisionTable::create_if_missing(const std::string& node,
                                             std::chrono::system_clock::time_point now) {
  XATM_ASSIGN_OR_RETURN(std::unique_ptr<sql::Connection> session, this->session());
  if (auto error = run_statement(*session, "CREATE TABLE IF NOT EXISTS " + table_ +
                                               " (gtrid VARBINARY(64) NOT NULL PRIMARY KEY, node "
                                               "VARCHAR(64) NOT NULL, outcome CHAR(1) NOT NULL, "
                                               "branches TEXT NOT NULL, created BIGINT NOT NULL) "
                                               "ENGINE=InnoDB")) {
    return failed_precondition_error(where() + " cannot be created (the user needs CREATE on the "
                                               "database, or an administrator creates it as "
                                               "docs/protocol.md shows): " + describe(*error));
  }
  // The privileges the table needs, checked by statements that touch no row.
  for (const std::string& statement :
       {"SELECT gtrid FROM " + table_ + " WHERE 1 = 0", "DELETE FROM " + table_ + " WHERE 1 = 0"}) {
    if (auto error = run_statement(*session, statement)) {
      return failed_precondition_error(where() + ": the user needs SELECT, INSERT and DELETE on it: " +
                                       describe(*error));
    }
  }
  if (auto error = run_statement(*session, "INSERT IGNORE INTO " + table_ + " VALUES (" +
                                               birth_literal(node) + ", " + plain_literal(node) +
                                               ", 'B', '', " + std::to_string(epoch_ms(now)) + ")")) {
    return failed_precondition_error(where() + ": birth row: " + describe(*error));
  }
  return Status();
}

Result<char> MysqlDecisionTable::fence(const Xid& global, const std::string& node) {
  XATM_ASSIGN_OR_RETURN(std::unique_ptr<sql::Connection> session, this->session());
  const std::string what = where() + ": fence of " + global.to_string() + ": ";
  if (auto error = run_statement(*session, "SET SESSION innodb_lock_wait_timeout = 10")) {
    return unavailable_error(what + describe(*error));
  }
  const auto now = std::chrono::system_clock::now();
  std::optional<SqlError> inserted = run_statement(
      *session, "INSERT INTO " + table_ + " VALUES (" + hex_literal(global.gtrid()) + ", " +
                    plain_literal(node) + ", 'A', '', " + std::to_string(epoch_ms(now)) + ")");
  if (!inserted) return 'A';
  if (inserted->code != kErrDuplicateKey) return unavailable_error(what + describe(*inserted));
  // A row was there (or was being written and has committed).
  Result<std::vector<std::vector<std::string>>> rows = query_rows(
      *session, "SELECT outcome FROM " + table_ + " WHERE gtrid = " + hex_literal(global.gtrid()), 1);
  if (!rows.ok()) return rows.status().with_context(what);
  if (rows->size() != 1 || (rows->front()[0] != "C" && rows->front()[0] != "A")) {
    return unavailable_error(what + "the conflicting row cannot be read");
  }
  return rows->front()[0][0];
}

Result<DecisionTableContents> MysqlDecisionTable::read(const std::string& node) {
  XATM_ASSIGN_OR_RETURN(std::unique_ptr<sql::Connection> session, this->session());
  Result<std::vector<std::vector<std::string>>> rows = query_rows(
      *session,
      "SELECT HEX(gtrid), outcome, branches, created FROM " + table_ + " WHERE node = " + plain_literal(node),
      4);
  if (!rows.ok()) return rows.status().with_context(where());
  DecisionTableContents contents;
  for (const std::vector<std::string>& row : *rows) {
    if (row[1] == "B") {
      contents.born = std::chrono::system_clock::time_point(std::chrono::milliseconds(std::stoll(row[3])));
      continue;
    }
    Result<Xid> parsed = Xid::parse("0:" + row[0] + ":");
    if (!parsed.ok()) {
      return data_loss_error(where() + ": a row's gtrid is not an XID: " + parsed.status().message());
    }
    Result<Xid> global = Xid::make(kXatmFormatId, parsed->gtrid(), {});
    if (!global.ok()) return global.status().with_context(where());
    contents.rows.push_back({*global, node, row[1].empty() ? '?' : row[1][0], row[2]});
  }
  return contents;
}

void MysqlDecisionTable::finished(const Xid& global) { finished_.add(global); }

Status MysqlDecisionTable::erase(const std::vector<Xid>& globals) {
  if (globals.empty()) return Status();
  XATM_ASSIGN_OR_RETURN(std::unique_ptr<sql::Connection> session, this->session());
  if (auto error = run_statement(*session, "DELETE FROM " + table_ + " WHERE gtrid IN (" +
                                               gtrid_list(globals) + ")")) {
    return unavailable_error(where() + ": " + describe(*error));
  }
  return Status();
}

std::vector<std::string> MysqlDecisionTable::decision_statements(const DecisionRow& row,
                                                                 std::vector<Xid>& taken) {
  taken = finished_.take_batch();
  std::vector<std::string> statements;
  if (!taken.empty()) statements.push_back("DELETE FROM " + table_ + " WHERE gtrid IN (" + gtrid_list(taken) + ")");
  statements.push_back("INSERT INTO " + table_ + " VALUES (" + hex_literal(row.global.gtrid()) + ", " +
                       plain_literal(row.node) + ", 'C', " + plain_literal(row.branches) + ", " +
                       std::to_string(epoch_ms(std::chrono::system_clock::now())) + ")");
  return statements;
}

void MysqlDecisionTable::give_back(std::vector<Xid>& taken) { finished_.give_back(taken); }

}  // namespace xatm::mysql::internal
