#include "pg_decision_table.h"

#include "xatm/driver/logging.h"

namespace xatm::postgresql::internal {
namespace {

// How long a fence waits for a transaction that is still writing the same row.
constexpr const char* kFenceLockTimeout = "SET lock_timeout = '10s'";

// '\x<hex>' : a bytea literal of the gtrid (hex only, nothing to escape).
std::string gtrid_literal(const Xid& global) { return "'\\x" + to_hex(global.gtrid()) + "'"; }

// A text literal of text that holds no quote or backslash (node and data source names, XID
// text: all validated to [A-Za-z0-9._:=-] and spaces).
std::string plain_literal(const std::string& text) {
  std::string literal = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') continue;  // never present; dropped rather than trusted
    literal += c;
  }
  return literal + "'";
}

// The key of `node`'s birth row: 00 and the node name, never an xatm gtrid (those start 01).
std::string birth_literal(const std::string& node) {
  return "'\\x00" + to_hex({reinterpret_cast<const std::uint8_t*>(node.data()), node.size()}) + "'";
}

std::string gtrid_list(const std::vector<Xid>& globals) {
  std::string list;
  for (const Xid& global : globals) {
    if (!list.empty()) list += ',';
    list += gtrid_literal(global);
  }
  return list;
}

}  // namespace

std::string PgDecisionTable::where() const {
  return "data source '" + data_source_ + "', decision table " + table_;
}

Result<std::unique_ptr<PgSession>> PgDecisionTable::session() {
  if (!name_status_.ok()) return name_status_;
  Result<std::unique_ptr<PgSession>> opened = open_session_();
  if (!opened.ok()) return opened.status().with_context(where());
  return opened;
}

Status PgDecisionTable::create_if_missing(const std::string& node,
                                          std::chrono::system_clock::time_point now) {
  XATM_ASSIGN_OR_RETURN(std::unique_ptr<PgSession> session, this->session());
  PgAnswer created = session->exec(
      "CREATE TABLE IF NOT EXISTS " + table_ +
      " (gtrid bytea PRIMARY KEY, node text NOT NULL, outcome \"char\" NOT NULL CHECK (outcome "
      "IN ('C', 'A', 'B')), branches text NOT NULL DEFAULT '', created timestamptz NOT NULL "
      "DEFAULT now())");
  if (!created.ok) {
    if (created.lost) return unavailable_error(where() + ": " + created.describe());
    return failed_precondition_error(
        where() + " cannot be created (the user needs CREATE on its schema, or an administrator "
                  "creates it as docs/protocol.md shows): " + created.describe());
  }
  PgAnswer allowed = session->exec("SELECT has_table_privilege('" + table_ +
                                   "', 'SELECT, INSERT, DELETE')");
  if (!allowed.ok) return failed_precondition_error(where() + ": " + allowed.describe());
  if (std::string(PQgetvalue(allowed.result.get(), 0, 0)) != "t") {
    return failed_precondition_error(where() + ": the user needs SELECT, INSERT and DELETE on it");
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  PgAnswer born = session->exec("INSERT INTO " + table_ +
                                " (gtrid, node, outcome, created) VALUES (" + birth_literal(node) +
                                ", " + plain_literal(node) + ", 'B', to_timestamp(" +
                                std::to_string(ms.count()) +
                                " / 1000.0)) ON CONFLICT (gtrid) DO NOTHING");
  if (!born.ok) return unavailable_error(where() + ": birth row: " + born.describe());
  return Status();
}

Result<char> PgDecisionTable::fence(const Xid& global, const std::string& node) {
  XATM_ASSIGN_OR_RETURN(std::unique_ptr<PgSession> session, this->session());
  PgAnswer timeout = session->exec(kFenceLockTimeout);
  if (!timeout.ok) return unavailable_error(where() + ": fence: " + timeout.describe());
  PgAnswer inserted = session->exec("INSERT INTO " + table_ +
                                    " (gtrid, node, outcome) VALUES (" + gtrid_literal(global) +
                                    ", " + plain_literal(node) +
                                    ", 'A') ON CONFLICT (gtrid) DO NOTHING RETURNING outcome");
  if (!inserted.ok) {
    return unavailable_error(where() + ": fence of " + global.to_string() + ": " +
                             inserted.describe());
  }
  if (PQntuples(inserted.result.get()) == 1) return 'A';
  // A row was there (or was being written and has committed): a new statement sees it.
  PgAnswer existing = session->exec("SELECT outcome FROM " + table_ + " WHERE gtrid = " +
                                    gtrid_literal(global));
  if (!existing.ok || PQntuples(existing.result.get()) != 1) {
    return unavailable_error(where() + ": fence of " + global.to_string() +
                             ": the conflicting row cannot be read" +
                             (existing.ok ? std::string() : ": " + existing.describe()));
  }
  const char outcome = PQgetvalue(existing.result.get(), 0, 0)[0];
  if (outcome != 'C' && outcome != 'A') {
    return data_loss_error(where() + ": row of " + global.to_string() + " has outcome '" +
                           std::string(1, outcome) + "'");
  }
  return outcome;
}

Result<DecisionTableContents> PgDecisionTable::read(const std::string& node) {
  XATM_ASSIGN_OR_RETURN(std::unique_ptr<PgSession> session, this->session());
  PgAnswer rows = session->exec(
      "SELECT encode(gtrid, 'hex'), outcome, branches, "
      "(extract(epoch FROM created) * 1000)::bigint FROM " + table_ + " WHERE node = " +
      plain_literal(node));
  if (!rows.ok) return unavailable_error(where() + ": " + rows.describe());
  DecisionTableContents contents;
  for (int i = 0; i < PQntuples(rows.result.get()); ++i) {
    if (PQgetvalue(rows.result.get(), i, 1)[0] == 'B') {
      contents.born = std::chrono::system_clock::time_point(
          std::chrono::milliseconds(std::stoll(PQgetvalue(rows.result.get(), i, 3))));
      continue;
    }
    const std::string text = "0:" + std::string(PQgetvalue(rows.result.get(), i, 0)) + ":";
    Result<Xid> parsed = Xid::parse(text);
    if (!parsed.ok()) {
      return data_loss_error(where() + ": a row's gtrid is not an XID: " + parsed.status().message());
    }
    Result<Xid> global = Xid::make(kXatmFormatId, parsed->gtrid(), {});
    if (!global.ok()) return global.status().with_context(where());
    contents.rows.push_back({*global, node, PQgetvalue(rows.result.get(), i, 1)[0],
                             PQgetvalue(rows.result.get(), i, 2)});
  }
  return contents;
}

void PgDecisionTable::finished(const Xid& global) { finished_.add(global); }

Status PgDecisionTable::erase(const std::vector<Xid>& globals) {
  if (globals.empty()) return Status();
  XATM_ASSIGN_OR_RETURN(std::unique_ptr<PgSession> session, this->session());
  PgAnswer deleted =
      session->exec("DELETE FROM " + table_ + " WHERE gtrid IN (" + gtrid_list(globals) + ")");
  if (!deleted.ok) return unavailable_error(where() + ": " + deleted.describe());
  return Status();
}

std::string PgDecisionTable::decision_sql(const DecisionRow& row, std::vector<Xid>& taken) {
  taken = finished_.take_batch();
  std::string sql;
  if (!taken.empty()) sql = "DELETE FROM " + table_ + " WHERE gtrid IN (" + gtrid_list(taken) + ");";
  sql += "INSERT INTO " + table_ + " (gtrid, node, outcome, branches) VALUES (" +
         gtrid_literal(row.global) + ", " + plain_literal(row.node) + ", 'C', " +
         plain_literal(row.branches) + ");COMMIT";
  return sql;
}

void PgDecisionTable::give_back(std::vector<Xid>& taken) { finished_.give_back(taken); }

}  // namespace xatm::postgresql::internal
