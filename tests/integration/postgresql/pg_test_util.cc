#include "pg_test_util.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>

#include "driver_under_test.h"
#include "xatm/driver/open_info.h"
#include "pg_connection.h"
#include "pg_gid.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/xa_switch.h"

namespace xatm::postgresql::testing {

using xatm::testing::test_setting;

std::string conninfo() { return test_setting("PG_CONNINFO"); }
std::string noprepare_conninfo() { return test_setting("PG_NOPREPARE_CONNINFO"); }
// A later keyword wins in a conninfo string.
std::string superuser_conninfo() { return conninfo() + " user=postgres"; }

std::string switch_open_info(const std::string& name, const std::string& conninfo) {
  std::string info = "name=" + xatm::driver::quote_open_info_value(name);
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    ADD_FAILURE() << "cannot parse the test conninfo: " << (error != nullptr ? error : "no memory");
    PQfreemem(error);
    return info;
  }
  for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;  // not in the conninfo
    info += std::string(" ") + option->keyword + "=" +
            xatm::driver::quote_open_info_value(option->val);
  }
  PQconninfoFree(options);
  return info;
}

std::unique_ptr<Resource> adopt_test_switch(const xa_switch_t& xa_switch, const std::string& name) {
  Result<std::unique_ptr<Resource>> resource =
      adopt_xa_switch({.name = name, .xa_switch = &xa_switch, .open_info = switch_open_info(name)});
  if (!resource.ok()) throw std::runtime_error(resource.status().to_string());
  return std::move(*resource);
}

void ensure_probe_role(const std::string& superuser) {
  PlainConnection admin(superuser);
  const Status created =
      admin.exec(std::string("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '") +
                 kProbeRole + "') THEN CREATE ROLE " + kProbeRole + " LOGIN PASSWORD '" +
                 kProbePassword + "'; END IF; END$$");
  ASSERT_TRUE(created.ok()) << created.to_string();
  const Status granted = admin.exec(std::string("GRANT ALL ON SCHEMA public TO ") + kProbeRole);
  ASSERT_TRUE(granted.ok()) << granted.to_string();
}

PlainConnection::PlainConnection(const std::string& conninfo)
    : conn_(PQconnectdb(conninfo.c_str())) {
  EXPECT_EQ(PQstatus(conn_), CONNECTION_OK) << "plain connection failed: " << PQerrorMessage(conn_);
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);  // no NOTICEs on stderr
}

PlainConnection::~PlainConnection() { PQfinish(conn_); }

::testing::AssertionResult is_xa(const XaReply& reply, int code) {
  if (reply.code == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected " << xa_code_name(code) << ", got "
                                       << xa_code_name(reply.code) << " (" << reply.detail << ")";
}

std::string sqlstate_of(const PGresult* result) {
  if (result == nullptr) return "(no result)";
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return "";
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  return sqlstate == nullptr ? "(none)" : sqlstate;
}

namespace {

Status exec_on(PGconn* conn, const std::string& sql, std::optional<std::string>* first_value) {
  PGresult* result = PQexec(conn, sql.c_str());
  const std::string sqlstate = sqlstate_of(result);
  Status status;
  if (!sqlstate.empty()) {
    status = aborted_error("SQLSTATE " + sqlstate + " for '" + sql + "': " + PQerrorMessage(conn));
  } else if (first_value != nullptr && PQntuples(result) > 0 && PQgetisnull(result, 0, 0) == 0) {
    *first_value = PQgetvalue(result, 0, 0);
  }
  PQclear(result);
  return status;
}

}  // namespace

Status PlainConnection::exec(const std::string& sql) { return exec_on(conn_, sql, nullptr); }

Result<std::optional<std::string>> PlainConnection::value(const std::string& sql) {
  std::optional<std::string> first;
  Status status = exec_on(conn_, sql, &first);
  if (!status.ok()) return status;
  return first;
}

std::int64_t PlainConnection::integer(const std::string& sql) {
  Result<std::optional<std::string>> text = value(sql);
  EXPECT_TRUE(text.ok() && text->has_value())
      << sql << ": " << (text.ok() ? "NULL" : text.status().to_string());
  return text.ok() && text->has_value() ? std::stoll(**text) : -1;
}

PGconn* native(XaConnection& session) {
  auto* pg = dynamic_cast<internal::PgConnection*>(&session);
  return pg == nullptr ? nullptr : pg->native();
}

Status run(XaConnection& session, const std::string& sql) {
  PGconn* conn = native(session);
  if (conn == nullptr) return invalid_argument_error("not a PostgreSQL session");
  return run(conn, sql);
}

Status run(PGconn* conn, const std::string& sql) { return exec_on(conn, sql, nullptr); }

Status run_on_switch(int rmid, const std::string& sql) {
  PGconn* conn = switch_connection(rmid);
  if (conn == nullptr) {
    return failed_precondition_error("xatm_postgresql_xa_switch has no session of rmid " +
                                     std::to_string(rmid) + " on this thread");
  }
  return run(conn, sql);
}

std::string failing_sqlstate(XaConnection& session, const std::string& sql) {
  PGresult* result = PQexec(native(session), sql.c_str());
  std::string sqlstate = sqlstate_of(result);
  PQclear(result);
  return sqlstate;
}

Xid fresh_xid(std::uint16_t branch) {
  static std::atomic<std::uint64_t> counter{0};
  GtridInfo info;
  info.node_name = "pgtest";
  info.created = std::chrono::system_clock::now();
  info.timeout = std::chrono::seconds(60);
  info.sequence = (static_cast<std::uint64_t>(getpid()) << 32) | ++counter;
  Result<Xid> xid = make_global_xid(info);
  EXPECT_TRUE(xid.ok()) << xid.status().to_string();
  return xid->branch(branch);
}

std::string gid_of(const Xid& xid) {
  Result<std::string> gid = internal::encode_gid(xid);
  EXPECT_TRUE(gid.ok());
  return gid.ok() ? *gid : "";
}

bool is_prepared(const Xid& xid) {
  PlainConnection plain;
  return plain.integer("SELECT count(*) FROM pg_prepared_xacts WHERE gid = '" + gid_of(xid) +
                       "'") == 1;
}

void roll_back_all_prepared() {
  PlainConnection admin(superuser_conninfo());
  PGresult* result =
      PQexec(admin.get(), "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()");
  ASSERT_EQ(sqlstate_of(result), "");
  for (int row = 0; row < PQntuples(result); ++row) {
    std::string gid = PQgetvalue(result, row, 0);
    char* literal = PQescapeLiteral(admin.get(), gid.c_str(), gid.size());
    EXPECT_TRUE(admin.exec(std::string("ROLLBACK PREPARED ") + literal).ok()) << gid;
    PQfreemem(literal);
  }
  PQclear(result);
}

std::unique_ptr<XaConnection> open_session(const std::string& conninfo) {
  std::unique_ptr<Resource> resource = make_resource({.name = "pg", .conninfo = conninfo});
  Result<std::unique_ptr<XaConnection>> session = resource->connect();
  EXPECT_TRUE(session.ok()) << session.status().to_string();
  return session.ok() ? std::move(*session) : nullptr;
}

namespace {

Status roll_back_prepared_locking(PlainConnection& plain, const std::string& table) {
  for (;;) {
    Result<std::optional<std::string>> gid = plain.value(
        "SELECT p.gid FROM pg_prepared_xacts p JOIN pg_locks l ON l.virtualtransaction = "
        "'-1/' || p.transaction WHERE l.relation = to_regclass('" +
        table + "') LIMIT 1");
    if (!gid.ok()) return gid.status();
    if (!gid->has_value()) return Status();
    char* literal = PQescapeLiteral(plain.get(), (*gid)->c_str(), (*gid)->size());
    const std::string sql = std::string("ROLLBACK PREPARED ") + literal;
    PQfreemem(literal);
    XATM_RETURN_IF_ERROR(plain.exec(sql));
  }
}

}  // namespace

Status reset_table(const std::string& table, int rows) {
  PlainConnection plain;
  if (!plain.ok())
    return unavailable_error(std::string("cannot connect: ") + PQerrorMessage(plain.get()));
  XATM_RETURN_IF_ERROR(roll_back_prepared_locking(plain, table));
  XATM_RETURN_IF_ERROR(plain.exec("SET lock_timeout = '10s'"));
  XATM_RETURN_IF_ERROR(plain.exec("DROP TABLE IF EXISTS " + table));
  XATM_RETURN_IF_ERROR(
      plain.exec("CREATE TABLE " + table + " (id integer PRIMARY KEY, balance bigint NOT NULL)"));
  return plain.exec("INSERT INTO " + table + " SELECT g, 100 FROM generate_series(1, " +
                    std::to_string(rows) + ") AS g");
}

Result<std::int64_t> PostgresqlDriverUnderTest::query_int(const std::string& sql) {
  PlainConnection plain;
  Result<std::optional<std::string>> value = plain.value(sql);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return not_found_error("'" + sql + "' returned NULL or no row");
  return std::stoll(**value);
}

Result<std::vector<Xid>> PostgresqlDriverUnderTest::prepared_xids() {
  Result<std::unique_ptr<XaConnection>> session = make_resource("prepared_xids")->connect();
  if (!session.ok()) return session.status();
  XaConnection::Recovered recovered = (*session)->recover();
  if (!recovered.reply.ok()) {
    return unavailable_error("recover answered " + xa_code_name(recovered.reply.code) + ": " +
                             recovered.reply.detail);
  }
  return std::move(recovered.xids);
}

Status PostgresqlDriverUnderTest::terminate_backend(int pid) {
  PlainConnection plain;
  Result<std::optional<std::string>> killed =
      plain.value("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 5000)");
  if (!killed.ok()) return killed.status();
  if (*killed != std::optional<std::string>("t")) {
    return internal_error("pg_terminate_backend did not end backend " + std::to_string(pid));
  }
  return Status();
}

void PgTest::SetUp() {
  roll_back_all_prepared();
  const Status reset = reset_table("t", 3);
  ASSERT_TRUE(reset.ok()) << reset.to_string();
}

void PgTest::TearDown() {
  PlainConnection plain;
  EXPECT_EQ(plain.integer("SELECT count(*) FROM pg_prepared_xacts"), 0)
      << "the test left prepared transactions behind";
  roll_back_all_prepared();
}

std::int64_t PgTest::balance(int id) {
  PlainConnection plain;
  return plain.integer("SELECT balance FROM t WHERE id = " + std::to_string(id));
}

}  // namespace xatm::postgresql::testing
