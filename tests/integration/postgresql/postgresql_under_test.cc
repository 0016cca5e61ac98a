// The PostgreSQL driver as the conformance suite (tests/integration/common/) sees it.
#include <libpq-fe.h>

#include <string>

#include "driver_under_test.h"
#include "pg_test_util.h"
#include "xatm/postgresql/postgresql.h"

namespace xatm::testing {
namespace {

namespace pgt = postgresql::testing;

class PostgresqlUnderTest : public DriverUnderTest {
 public:
  std::string name() const override { return "postgresql"; }
  std::string server_name() const override { return "postgresql"; }

  std::unique_ptr<Resource> make_resource(const std::string& data_source) override {
    return postgresql::make_resource({.name = data_source, .conninfo = pgt::conninfo()});
  }

  // Prepared transactions left behind by an earlier test that hold locks on the table would make
  // DROP TABLE wait for ever: those are rolled back first (test data only), and lock_timeout
  // turns any other wait into an error.
  Status reset_table(const std::string& table, int rows) override {
    pgt::PlainConnection plain;
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

  static Status roll_back_prepared_locking(pgt::PlainConnection& plain, const std::string& table) {
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

  Status execute(XaConnection& session, const std::string& sql) override {
    return pgt::run(session, sql);
  }

  Result<std::int64_t> query_int(const std::string& sql) override {
    pgt::PlainConnection plain;
    Result<std::optional<std::string>> value = plain.value(sql);
    if (!value.ok()) return value.status();
    if (!value->has_value()) return not_found_error("'" + sql + "' returned NULL or no row");
    return std::stoll(**value);
  }

  // pg_terminate_backend(pid, timeout) waits until the backend has exited, so the session's
  // transaction is gone (rolled back) when this returns.
  Status kill_session(XaConnection& session) override {
    PGconn* conn = pgt::native(session);
    if (conn == nullptr) return invalid_argument_error("not a PostgreSQL session");
    pgt::PlainConnection plain;
    Result<std::optional<std::string>> killed = plain.value(
        "SELECT pg_terminate_backend(" + std::to_string(PQbackendPID(conn)) + ", 5000)");
    if (!killed.ok()) return killed.status();
    if (*killed != std::optional<std::string>("t")) {
      return internal_error("pg_terminate_backend did not end backend " +
                            std::to_string(PQbackendPID(conn)));
    }
    return Status();
  }

  Result<std::vector<Xid>> prepared_xids() override {
    Result<std::unique_ptr<XaConnection>> session = make_resource("prepared_xids")->connect();
    if (!session.ok()) return session.status();
    XaConnection::Recovered recovered = (*session)->recover();
    if (!recovered.reply.ok()) {
      return unavailable_error("recover answered " + xa_code_name(recovered.reply.code) + ": " +
                               recovered.reply.detail);
    }
    return std::move(recovered.xids);
  }
};

}  // namespace

DriverUnderTest& driver_under_test() {
  static PostgresqlUnderTest driver;
  return driver;
}

}  // namespace xatm::testing
