// The PostgreSQL driver's decision table (include/xatm/driver/decision_table.h): the SQL of
// each operation, the rows of finished transactions waiting to be deleted, and sessions of its
// own for the fence, reading and deleting.
//
//   CREATE TABLE IF NOT EXISTS <table> (gtrid bytea PRIMARY KEY, node text NOT NULL,
//     outcome "char" NOT NULL CHECK (outcome IN ('C','A','B')), branches text NOT NULL
//     DEFAULT '', created timestamptz NOT NULL DEFAULT now())
//
// The decision rides in D's transaction as one simple-protocol string: the deletion of a batch
// of finished rows (FinishedDecisions), the INSERT of the row, COMMIT (decision_sql). The
// fence is INSERT ... ON CONFLICT (gtrid) DO NOTHING: a concurrent, uncommitted insert of the
// same gtrid makes it wait for that transaction's end (lock_timeout bounds the wait).
//
// Thread safety: every method may be called from any thread (the queue has its own mutex; each
// operation opens its own session).
#ifndef XATM_DRIVERS_POSTGRESQL_PG_DECISION_TABLE_H_
#define XATM_DRIVERS_POSTGRESQL_PG_DECISION_TABLE_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pg_session.h"
#include "xatm/driver/decision_table.h"

namespace xatm::postgresql::internal {

class PgDecisionTable final : public DecisionTable {
 public:
  using SessionFactory = std::function<Result<std::unique_ptr<PgSession>>()>;
  // An invalid `table` (validate_decision_table_name) fails every operation with its error.
  PgDecisionTable(std::string data_source, std::string table, SessionFactory open_session)
      : data_source_(std::move(data_source)), table_(std::move(table)),
        name_status_(validate_decision_table_name(data_source_, table_)),
        open_session_(std::move(open_session)) {}

  const std::string& name() const override { return table_; }
  // validate_decision_table_name of the table: OK, or why every operation fails.
  const Status& name_status() const { return name_status_; }
  bool decides_in_one_round_trip() const override { return true; }
  Status create_if_missing(const std::string& node,
                           std::chrono::system_clock::time_point now) override;
  Result<char> fence(const Xid& global, const std::string& node) override;
  Result<DecisionTableContents> read(const std::string& node) override;
  void finished(const Xid& global) override;
  Status erase(const std::vector<Xid>& globals) override;

  // The string D's session sends to decide: deletes of finished rows (taken from the queue
  // into `taken`), the INSERT of `row`, COMMIT.
  std::string decision_sql(const DecisionRow& row, std::vector<Xid>& taken);
  // Puts rows taken by decision_sql back (D's transaction rolled back, or its answer was lost).
  void give_back(std::vector<Xid>& taken);

 private:
  std::string where() const;
  Result<std::unique_ptr<PgSession>> session();

  const std::string data_source_;
  const std::string table_;
  const Status name_status_;
  const SessionFactory open_session_;
  FinishedDecisions finished_;
};

}  // namespace xatm::postgresql::internal

#endif  // XATM_DRIVERS_POSTGRESQL_PG_DECISION_TABLE_H_
