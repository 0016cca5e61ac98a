// The engine behind TransactionManager: its data sources, its decision log, XID generation,
// the commit protocol (coordinator.h), the transactions still live, and recovery. start() puts
// them together in order; the destructor takes them apart in reverse.
//
// Thread safety: thread-safe after start(). add() and start() are for setup, before any
// transaction.
#ifndef XATM_SRC_TM_MANAGER_H_
#define XATM_SRC_TM_MANAGER_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recovery/background_recovery.h"
#include "tm/coordinator.h"
#include "tm/data_sources.h"
#include "tm/live_transactions.h"
#include "tm/reaper.h"
#include "tm/stats.h"
#include "tm/transaction_state.h"
#include "tm/worker_pool.h"
#include "tm/xid_generator.h"
#include "xatm/decision_log.h"
#include "xatm/observer.h"
#include "xatm/options.h"
#include "xatm/transaction_manager.h"

namespace xatm::internal {

class Manager {
 public:
  // `log` may be null: start() then opens the file log in options.log_dir. `clock` is the wall
  // clock XIDs carry (tests inject one); the system clock when empty.
  Manager(Options options, std::unique_ptr<DecisionLog> log, WallClock clock = {});
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;
  // Stops recovery, then rolls back every transaction still active (see abandon_live()).
  ~Manager();

  Status add(std::unique_ptr<Resource> resource);
  Status start();
  // `timeout` defaults to Options::default_timeout.
  Result<std::shared_ptr<TransactionState>> begin(std::optional<std::chrono::milliseconds> timeout);

  Result<XaConnection*> enlist(TransactionState& tx, std::string_view data_source);
  Outcome commit(TransactionState& tx) { return coordinator_->commit(tx); }
  Outcome rollback(TransactionState& tx, std::string reason) {
    return coordinator_->rollback(tx, std::move(reason));
  }

  Stats stats() const;
  const std::string& node_name() const { return options_.node_name; }
  Status add_observer(std::shared_ptr<TransactionObserver> observer);
  DecisionLog& decision_log() { return *log_; }
  // One recovery pass now. kFailedPrecondition before start().
  Result<RecoveryReport> recover();

 private:
  Status validate_options() const;
  // Opens the file log in options_.log_dir, creating one only as Options::create_log_if_missing
  // says.
  Status open_log();
  // Creates the data sources' decision tables that are missing (logging last resource).
  Status check_data_sources();
  Status create_decision_tables();
  // Rolls back every transaction still active, waiting for a call in progress on each, and
  // detaches every Transaction from this manager.
  void abandon_live();

  const Options options_;
  const WallClock clock_;
  std::unique_ptr<DecisionLog> log_;
  DataSources data_sources_;  // fixed after start()
  StatsCounters stats_;
  LiveTransactions live_;
  std::vector<std::shared_ptr<TransactionObserver>> observers_;  // fixed after start()
  std::unique_ptr<XidGenerator> xids_;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<Reaper> reaper_;
  std::unique_ptr<BackgroundRecovery> recovery_;  // last: stopped first
  // recovery_ for stats(), which any thread may call while start() sets recovery_.
  std::atomic<const BackgroundRecovery*> recovery_for_stats_{nullptr};
  bool started_ = false;
};

}  // namespace xatm::internal

#endif  // XATM_SRC_TM_MANAGER_H_
