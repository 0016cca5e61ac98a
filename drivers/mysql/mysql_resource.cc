#include "mysql_resource.h"

#include <cppconn/connection.h>
#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>

#include <algorithm>
#include <climits>
#include <exception>
#include <map>
#include <utility>

#include "mysql_driver_thread.h"
#include "xatm/driver/logging.h"
#include "mysql_connection.h"
#include "mysql_server_version.h"

namespace xatm::mysql::internal {
namespace {

int seconds_option(std::chrono::seconds value) {
  return static_cast<int>(std::clamp<std::chrono::seconds::rep>(value.count(), 0, INT_MAX));
}

std::string endpoint_of(const DataSource& config) {
  if (!config.unix_socket.empty()) return "socket " + config.unix_socket;
  return config.host + ":" + std::to_string(config.port);
}

std::string url_of(const DataSource& config) {
  if (!config.unix_socket.empty()) return "unix://" + config.unix_socket;
  const bool ipv6 = config.host.find(':') != std::string::npos;
  const std::string host = ipv6 ? "[" + config.host + "]" : config.host;
  return "tcp://" + host + ":" + std::to_string(config.port);
}

sql::ConnectOptionsMap connect_options(const DataSource& config) {
  sql::ConnectOptionsMap options;
  options["hostName"] = sql::SQLString(url_of(config));
  options["userName"] = sql::SQLString(config.user);
  options["password"] = sql::SQLString(config.password);
  if (!config.database.empty()) options["schema"] = sql::SQLString(config.database);
  options["OPT_CONNECT_TIMEOUT"] = seconds_option(config.connect_timeout);
  options["OPT_READ_TIMEOUT"] = seconds_option(config.read_timeout);
  options["OPT_WRITE_TIMEOUT"] = seconds_option(config.write_timeout);
  // A reconnect would run the application's next statement outside its branch, in autocommit
  // mode, and commit it for good (docs/driver-mysql.md). Never.
  options["OPT_RECONNECT"] = false;
  return options;
}

std::map<std::string, std::string> global_variables(sql::Connection& connection) {
  std::unique_ptr<sql::Statement> handle(connection.createStatement());
  std::unique_ptr<sql::ResultSet> rows(handle->executeQuery(
      "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('innodb_flush_log_at_trx_commit', "
      "'log_bin', 'sync_binlog', 'wsrep_on')"));
  std::map<std::string, std::string> values;
  while (rows->next()) values[rows->getString(1).asStdString()] = rows->getString(2).asStdString();
  return values;
}

}  // namespace

MysqlResource::MysqlResource(DataSource config)
    : config_(std::move(config)),
      endpoint_(endpoint_of(config_)),
      registry_(std::make_shared<SessionRegistry>(config_.name, config_.user)),
      decisions_(config_.decision_table.empty()
                     ? nullptr
                     : std::make_shared<MysqlDecisionTable>(config_.name, config_.decision_table,
                                                            [this] { return open_plain_session(); })) {}

Result<std::unique_ptr<sql::Connection>> MysqlResource::open_plain_session() {
  try {
    sql::Driver& driver = driver_for_this_thread();
    sql::ConnectOptionsMap options = connect_options(config_);
    return std::unique_ptr<sql::Connection>(driver.connect(options));
  } catch (const sql::SQLException& e) {
    return connect_error(SqlError{e.getErrorCode(), e.getSQLState(), e.what()});
  } catch (const std::exception& e) {
    return connect_error(SqlError{0, "", e.what()});
  }
}

Result<std::unique_ptr<XaConnection>> MysqlResource::connect() {
  if (config_.name.empty()) return invalid_argument_error("a MySQL data source needs a name");
  if (decisions_ != nullptr) XATM_RETURN_IF_ERROR(decisions_->name_status());
  if (config_.unix_socket.empty() && (config_.port == 0 || config_.port > 65535)) {
    return invalid_argument_error("data source '" + config_.name + "': port " +
                                  std::to_string(config_.port) + " is not a TCP port (1..65535)");
  }
  try {
    sql::Driver& driver = driver_for_this_thread();
    sql::ConnectOptionsMap options = connect_options(config_);
    std::unique_ptr<sql::Connection> connection(driver.connect(options));
    Result<BranchHolder> session = check_session(*connection);
    if (!session.ok()) return session.status();
    warn_about_settings(*connection);
    return std::unique_ptr<XaConnection>(
        std::make_unique<MysqlConnection>(registry_, std::move(connection), *session, decisions_));
  } catch (const sql::SQLException& e) {
    return connect_error(SqlError{e.getErrorCode(), e.getSQLState(), e.what()});
  } catch (const std::exception& e) {
    return connect_error(SqlError{0, "", e.what()});
  }
}

Result<BranchHolder> MysqlResource::check_session(sql::Connection& connection) {
  std::unique_ptr<sql::Statement> handle(connection.createStatement());
  std::unique_ptr<sql::ResultSet> row(
      handle->executeQuery("SELECT VERSION(), CONNECTION_ID(), @@autocommit, UNIX_TIMESTAMP()"));
  const std::string where = "data source '" + config_.name + "' (" + endpoint_ + "): ";
  if (!row->next()) return internal_error(where + "the session check returned no row");
  Result<ServerVersion> version = parse_server_version(row->getString(1).asStdString());
  if (!version.ok()) return failed_precondition_error(where + version.status().message());
  XATM_RETURN_IF_ERROR(check_xa_support(*version, config_.name));
  if (row->getInt(3) != 1) {
    // Never changed by the driver (docs/driver-mysql.md): a session that starts with autocommit=0
    // turns XA START and the completion of a detached branch into 1400 XAER_OUTSIDE.
    return failed_precondition_error(
        where +
        "new sessions start with autocommit=0 (global autocommit or init_connect); "
        "XA sessions need autocommit=1");
  }
  if (needs_xa_recover_admin(*version)) XATM_RETURN_IF_ERROR(check_xa_recover(connection));
  // SHOW works on every supported server (MySQL 8 has no information_schema.GLOBAL_STATUS).
  std::unique_ptr<sql::ResultSet> uptime(handle->executeQuery("SHOW GLOBAL STATUS LIKE 'Uptime'"));
  if (!uptime->next()) return internal_error(where + "SHOW GLOBAL STATUS LIKE 'Uptime' returned no row");
  const std::uint64_t now = row->getUInt64(4);
  const std::uint64_t up = uptime->getUInt64(2);
  return BranchHolder{.server_started = static_cast<std::uint32_t>(now > up ? now - up : 0),
                      .connection_id = row->getUInt64(2)};
}

Status MysqlResource::check_xa_recover(sql::Connection& connection) {
  try {
    std::unique_ptr<sql::Statement> handle(connection.createStatement());
    std::unique_ptr<sql::ResultSet> rows(handle->executeQuery("XA RECOVER"));
    return Status();
  } catch (const sql::SQLException& e) {
    if (e.getErrorCode() != kErrSpecificAccessDenied) throw;
    return failed_precondition_error(
        "data source '" + config_.name + "' (" + endpoint_ + "): user '" + config_.user +
        "' may not run XA RECOVER, so recovery could not see its prepared branches; run "
        "GRANT XA_RECOVER_ADMIN ON *.* TO '" +
        config_.user + "' [" + describe(SqlError{e.getErrorCode(), e.getSQLState(), e.what()}) +
        "]");
  }
}

void MysqlResource::warn_about_settings(sql::Connection& connection) {
  if (settings_checked_.exchange(true)) return;
  const std::string where = "data source '" + config_.name + "': ";
  try {
    std::map<std::string, std::string> values = global_variables(connection);
    const std::string flush = values["innodb_flush_log_at_trx_commit"];
    if (!flush.empty() && flush != "1" && flush != "3") {
      XATM_LOG(warning) << where << "innodb_flush_log_at_trx_commit=" << flush
                        << ": a prepared branch may be lost in an OS crash; set it to 1";
    }
    if (values["log_bin"] == "ON" && values["sync_binlog"] != "1") {
      XATM_LOG(warning) << where << "binary log on with sync_binlog=" << values["sync_binlog"]
                        << ": the binlog copy of a prepared branch may be lost; set it to 1";
    }
    if (values["wsrep_on"] == "ON") {
      XATM_LOG(warning) << where << "Galera (wsrep_on=ON) does not support XA transactions";
    }
  } catch (const std::exception& e) {
    XATM_LOG(debug) << where << "could not read the server settings: " << e.what();
  }
}

Status MysqlResource::connect_error(const SqlError& error) const {
  return map_connect_error(error, ConnectTarget{config_.name, endpoint_, config_.user,
                                                config_.database, config_.password});
}

}  // namespace xatm::mysql::internal
