// The MySQL/MariaDB driver's decision table (include/xatm/driver/decision_table.h):
//
//   CREATE TABLE IF NOT EXISTS <table> (gtrid VARBINARY(64) NOT NULL PRIMARY KEY,
//     node VARCHAR(64) NOT NULL, outcome CHAR(1) NOT NULL, branches TEXT NOT NULL,
//     created BIGINT NOT NULL) ENGINE=InnoDB          -- created: ms since the epoch, TM clock
//
// The decision rides in the decision branch's XA transaction: the deletion of finished rows and
// the INSERT of the row inside the branch, then XA END and XA COMMIT ... ONE PHASE (four round
// trips at most: Connector/C++ sessions run one statement at a time, and the driver never turns
// on multi-statements on a session the application uses). PostgreSQL decides in one, so the
// coordinator prefers it when both keep a table. The fence is a plain INSERT: InnoDB makes it
// wait for a transaction that holds the same key uncommitted (innodb_lock_wait_timeout, set to
// 10 s on the fence's session, bounds the wait); a duplicate key (1062) then means a row is there.
//
// Thread safety: every method may be called from any thread (the queue has its own mutex; each
// operation opens its own session).
#ifndef XATM_DRIVERS_MYSQL_MYSQL_DECISION_TABLE_H_
#define XATM_DRIVERS_MYSQL_MYSQL_DECISION_TABLE_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "xatm/driver/decision_table.h"

namespace sql {
class Connection;
}  // namespace sql

namespace xatm::mysql::internal {

class MysqlDecisionTable final : public DecisionTable {
 public:
  using SessionFactory = std::function<Result<std::unique_ptr<sql::Connection>>()>;
  // An invalid `table` (validate_decision_table_name) fails every operation with its error.
  MysqlDecisionTable(std::string data_source, std::string table, SessionFactory open_session);

  const std::string& name() const override { return table_; }
  // validate_decision_table_name of the table: OK, or why every operation fails.
  const Status& name_status() const { return name_status_; }
  bool decides_in_one_round_trip() const override { return false; }
  Status create_if_missing(const std::string& node,
                           std::chrono::system_clock::time_point now) override;
  Result<char> fence(const Xid& global, const std::string& node) override;
  Result<DecisionTableContents> read(const std::string& node) override;
  void finished(const Xid& global) override;
  Status erase(const std::vector<Xid>& globals) override;

  // The statements the decision branch runs inside its XA transaction before XA END: the
  // deletion of finished rows (taken from the queue into `taken`), if any, and the INSERT.
  std::vector<std::string> decision_statements(const DecisionRow& row, std::vector<Xid>& taken);
  // Puts rows taken by decision_statements back (the branch did not commit, or its answer was
  // lost).
  void give_back(std::vector<Xid>& taken);

 private:
  std::string where() const;
  Result<std::unique_ptr<sql::Connection>> session();

  const std::string data_source_;
  const std::string table_;
  const Status name_status_;
  const SessionFactory open_session_;
  FinishedDecisions finished_;
};

}  // namespace xatm::mysql::internal

#endif  // XATM_DRIVERS_MYSQL_MYSQL_DECISION_TABLE_H_
