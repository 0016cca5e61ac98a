#include "bank.h"

#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <libpq-fe.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "xatm/xid.h"

namespace xatm::crash {
namespace {

std::string accounts_values() {
  std::string values;
  for (int id = 1; id <= kAccounts; ++id) {
    values += (id > 1 ? ",(" : "(") + std::to_string(id) + "," + std::to_string(kOpeningBalance) + ")";
  }
  return values;
}

bool of_node(const Xid& xid, const std::string& node_name) {
  if (xid.format_id() != kXatmFormatId) return false;
  Result<GtridInfo> info = decode_gtrid(xid);
  return info.ok() && info->node_name == node_name;
}

// libpq result holder.
struct PgResult {
  explicit PgResult(PGresult* r) : result(r) {}
  ~PgResult() { PQclear(result); }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  bool ok() const {
    return PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK;
  }
  PGresult* result;
};

class TwoDatabaseBank : public Bank {
 public:
  TwoDatabaseBank(std::unique_ptr<sql::Connection> mysql, PGconn* pg) : mysql_(std::move(mysql)), pg_(pg) {}
  ~TwoDatabaseBank() override { PQfinish(pg_); }

  Status reset() override {
    try {
      std::unique_ptr<sql::Statement> st(mysql_->createStatement());
      st->execute("DROP TABLE IF EXISTS crash_accounts");
      st->execute("CREATE TABLE crash_accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB");
      st->execute("INSERT INTO crash_accounts VALUES " + accounts_values());
      st->execute("DROP TABLE IF EXISTS crash_ledger");
      st->execute("CREATE TABLE crash_ledger (id BIGINT PRIMARY KEY, parts INT NOT NULL) ENGINE=InnoDB");
    } catch (const sql::SQLException& e) {
      return unavailable_error(std::string("mariadb: ") + e.what());
    }
    for (const std::string& statement :
         {std::string("DROP TABLE IF EXISTS crash_accounts"),
          std::string("CREATE TABLE crash_accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL)"),
          "INSERT INTO crash_accounts VALUES " + accounts_values(),
          std::string("DROP TABLE IF EXISTS crash_ledger"),
          std::string("CREATE TABLE crash_ledger (id BIGINT PRIMARY KEY, parts INT NOT NULL)")}) {
      PgResult result(PQexec(pg_, statement.c_str()));
      if (!result.ok()) return unavailable_error(std::string("postgresql: ") + PQerrorMessage(pg_));
    }
    return Status();
  }

  Result<std::int64_t> total() override {
    std::int64_t sum = 0;
    try {
      std::unique_ptr<sql::Statement> st(mysql_->createStatement());
      std::unique_ptr<sql::ResultSet> rows(st->executeQuery("SELECT SUM(balance) FROM crash_accounts"));
      if (rows->next()) sum += rows->getInt64(1);
    } catch (const sql::SQLException& e) {
      return unavailable_error(std::string("mariadb: ") + e.what());
    }
    PgResult result(PQexec(pg_, "SELECT SUM(balance) FROM crash_accounts"));
    if (!result.ok()) return unavailable_error(std::string("postgresql: ") + PQerrorMessage(pg_));
    sum += std::stoll(PQgetvalue(result.result, 0, 0));
    return sum;
  }

  Result<Ledgers> ledgers() override {
    Ledgers ledgers;
    try {
      std::unique_ptr<sql::Statement> st(mysql_->createStatement());
      std::unique_ptr<sql::ResultSet> rows(st->executeQuery("SELECT id, parts FROM crash_ledger"));
      while (rows->next()) ledgers.mariadb[rows->getInt64(1)] = rows->getInt(2);
    } catch (const sql::SQLException& e) {
      return unavailable_error(std::string("mariadb: ") + e.what());
    }
    PgResult result(PQexec(pg_, "SELECT id, parts FROM crash_ledger"));
    if (!result.ok()) return unavailable_error(std::string("postgresql: ") + PQerrorMessage(pg_));
    for (int row = 0; row < PQntuples(result.result); ++row) {
      ledgers.postgresql[std::stoll(PQgetvalue(result.result, row, 0))] =
          std::stoi(PQgetvalue(result.result, row, 1));
    }
    return ledgers;
  }

  Result<int> prepared_of_node(const std::string& node_name) override {
    int count = 0;
    try {
      std::unique_ptr<sql::Statement> st(mysql_->createStatement());
      std::unique_ptr<sql::ResultSet> rows(st->executeQuery("XA RECOVER"));
      while (rows->next()) {
        const std::string data = rows->getString(4);  // gtrid || bqual, binary
        const auto gtrid_length = static_cast<std::size_t>(rows->getInt(2));
        std::vector<std::uint8_t> gtrid(data.begin(), data.begin() + static_cast<long>(gtrid_length));
        std::vector<std::uint8_t> bqual(data.begin() + static_cast<long>(gtrid_length), data.end());
        Result<Xid> xid = Xid::make(rows->getInt64(1), gtrid, bqual);
        if (xid.ok() && of_node(*xid, node_name)) ++count;
      }
    } catch (const sql::SQLException& e) {
      return unavailable_error(std::string("mariadb: ") + e.what());
    }
    PgResult result(PQexec(pg_, "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()"));
    if (!result.ok()) return unavailable_error(std::string("postgresql: ") + PQerrorMessage(pg_));
    // gid = <formatID>_<base64 gtrid>_<base64 bqual>: xatm's node name sits in the gtrid, so
    // count the gids of our formatID whose decoded gtrid names the node.
    for (int row = 0; row < PQntuples(result.result); ++row) {
      if (gid_is_of_node(PQgetvalue(result.result, row, 0), node_name)) ++count;
    }
    return count;
  }

 private:
  static bool gid_is_of_node(const std::string& gid, const std::string& node_name);

  std::unique_ptr<sql::Connection> mysql_;
  PGconn* pg_;
};

// Standard base64 (with padding) decoding, enough to read a gid back.
bool base64_decode(const std::string& text, std::vector<std::uint8_t>& out) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    const auto value = kAlphabet.find(c);
    if (value == std::string::npos) return false;
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((buffer >> bits) & 0xff));
    }
  }
  return true;
}

bool TwoDatabaseBank::gid_is_of_node(const std::string& gid, const std::string& node_name) {
  const auto first = gid.find('_'), second = gid.find('_', first + 1);
  if (first == std::string::npos || second == std::string::npos) return false;
  if (gid.substr(0, first) != std::to_string(kXatmFormatId)) return false;
  std::vector<std::uint8_t> gtrid, bqual;
  if (!base64_decode(gid.substr(first + 1, second - first - 1), gtrid) ||
      !base64_decode(gid.substr(second + 1), bqual)) {
    return false;
  }
  Result<Xid> xid = Xid::make(kXatmFormatId, gtrid, bqual);
  return xid.ok() && of_node(*xid, node_name);
}

std::string env(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read at start-up
  return value != nullptr ? value : "";
}

}  // namespace

Result<ServerSettings> ServerSettings::from_environment() {
  ServerSettings s{env("XATM_TEST_MYSQL_SOCKET"), env("XATM_TEST_MYSQL_USER"),
                   env("XATM_TEST_MYSQL_PASSWORD"), env("XATM_TEST_MYSQL_DATABASE"),
                   env("XATM_TEST_PG_CONNINFO")};
  if (s.mysql_socket.empty()) return invalid_argument_error("XATM_TEST_MYSQL_SOCKET is not set");
  if (s.pg_conninfo.empty()) return invalid_argument_error("XATM_TEST_PG_CONNINFO is not set");
  return s;
}

Result<std::unique_ptr<Bank>> Bank::open(const ServerSettings& settings) {
  std::unique_ptr<sql::Connection> mysql;
  try {
    sql::ConnectOptionsMap options;
    options["hostName"] = sql::SQLString("unix://" + settings.mysql_socket);
    options["userName"] = sql::SQLString(settings.mysql_user);
    options["password"] = sql::SQLString(settings.mysql_password);
    options["schema"] = sql::SQLString(settings.mysql_database);
    mysql.reset(sql::mysql::get_mysql_driver_instance()->connect(options));
  } catch (const sql::SQLException& e) {
    return unavailable_error(std::string("mariadb: ") + e.what());
  }
  PGconn* pg = PQconnectdb(settings.pg_conninfo.c_str());
  if (PQstatus(pg) != CONNECTION_OK) {
    std::string message = std::string("postgresql: ") + PQerrorMessage(pg);
    PQfinish(pg);
    return unavailable_error(message);
  }
  return std::unique_ptr<Bank>(std::make_unique<TwoDatabaseBank>(std::move(mysql), pg));
}

}  // namespace xatm::crash
