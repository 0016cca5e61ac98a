// A configured MySQL/MariaDB data source: opens sessions and checks the server's XA
// prerequisites at every connect.
//
// Thread safety: connect() and name() may be called from any thread concurrently (the
// Resource contract); the configuration is immutable and the registry has its own lock.
#ifndef XATM_DRIVERS_MYSQL_MYSQL_RESOURCE_H_
#define XATM_DRIVERS_MYSQL_MYSQL_RESOURCE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "mysql_branch_tag.h"
#include "mysql_decision_table.h"
#include "mysql_error_mapping.h"
#include "mysql_session_registry.h"
#include "xatm/mysql/mysql.h"
#include "xatm/driver/resource.h"

namespace sql {
class Connection;
}  // namespace sql

namespace xatm::mysql::internal {

class MysqlResource final : public Resource {
 public:
  explicit MysqlResource(DataSource config);

  [[nodiscard]] const std::string& name() const override { return config_.name; }

  // Opens a session (OPT_RECONNECT off, the configured timeouts, autocommit left at 1), then
  // checks it: VERSION() (MariaDB >= 10.5.2, MySQL >= 5.7.7), @@autocommit = 1, and on MySQL 8
  // that XA RECOVER is allowed (XA_RECOVER_ADMIN); and reads its CONNECTION_ID() and when the
  // server started (the session's branch tag, mysql_branch_tag.h). Errors as Resource::connect() says; every
  // message names the data source and never the password.
  Result<std::unique_ptr<XaConnection>> connect() override;
  // Null unless DataSource::decision_table is set.
  DecisionTable* decision_table() override { return decisions_.get(); }

 private:
  // A plain session with the configured options (the decision table's own work).
  Result<std::unique_ptr<sql::Connection>> open_plain_session();
  // The first queries of a new session: who it is, or why the session is refused.
  Result<BranchHolder> check_session(sql::Connection& connection);
  Status check_xa_recover(sql::Connection& connection);
  // Logs the server settings that weaken XA durability (once per data source).
  void warn_about_settings(sql::Connection& connection);
  Status connect_error(const SqlError& error) const;

  const DataSource config_;
  const std::string endpoint_;  // "host:port" or "socket /path", for messages
  const std::shared_ptr<SessionRegistry> registry_;
  const std::shared_ptr<MysqlDecisionTable> decisions_;
  std::atomic<bool> settings_checked_{false};
};

}  // namespace xatm::mysql::internal

#endif  // XATM_DRIVERS_MYSQL_MYSQL_RESOURCE_H_
