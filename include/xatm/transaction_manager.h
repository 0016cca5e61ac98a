// TransactionManager and Transaction: what an application uses (with Options, options.h, and
// Outcome, outcome.h).
//
//   xatm::TransactionManager tm({.node_name = "orders-1", .log_dir = "/var/lib/orders/xatm"});
//   XATM_RETURN_IF_ERROR(tm.add(xatm::mysql::DataSource{...}));
//   XATM_RETURN_IF_ERROR(tm.start());
//   xatm::Result<xatm::Transaction> tx = tm.begin();
//   ... tx->enlist("inventory") (or a driver's connection(tx, name)) and ordinary SQL ...
//   xatm::Outcome outcome = tx->commit();
//
// Thread safety: TransactionManager is thread-safe. A Transaction is used by one thread at a
// time (it may move between threads); the connections it hands out belong to it.
#ifndef XATM_TRANSACTION_MANAGER_H_
#define XATM_TRANSACTION_MANAGER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xatm/decision_log.h"
#include "xatm/observer.h"
#include "xatm/driver/resource.h"
#include "xatm/options.h"
#include "xatm/outcome.h"
#include "xatm/recovery.h"
#include "xatm/status.h"
#include "xatm/xid.h"

namespace xatm {

class TransactionManager;
namespace internal {
class Manager;
struct TransactionState;
}  // namespace internal

// A global transaction. Move-only; destroying an unfinished one rolls it back.
//
// A moved-from Transaction holds no transaction: commit() and rollback() answer kUsageError,
// enlist() kFailedPrecondition, active() false, and xid() an XID no transaction has (formatID
// 0, a one-byte zero gtrid). A Transaction may outlive its TransactionManager: the manager's
// destructor rolls back every transaction still active (waiting for a call in progress on
// another thread), after which commit() and rollback() answer that rollback and enlist()
// kAborted.
class Transaction {
 public:
  Transaction(Transaction&&) noexcept;
  Transaction& operator=(Transaction&&) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // The global XID (empty bqual); branch i has xid().branch(i).
  const Xid& xid() const;
  std::chrono::system_clock::time_point deadline() const;
  // True until commit() or rollback() has run.
  bool active() const;

  // The session of `data_source` in this transaction. The first call for a data source takes
  // a session from the pool and starts the branch (xa_start); later calls return the same one.
  // The pointer stays valid until the transaction ends. Errors: kNotFound (no such data
  // source), kAborted (the transaction is rollback-only, ended, or past its deadline: nothing
  // new is started; the message names the timeout), kUnavailable (the data source cannot be
  // reached).
  //
  // Past the deadline the transaction manager rolls the transaction back without waiting for
  // this thread (docs/protocol.md, "Timeouts"): it ends the branches' database sessions from
  // other sessions, so a statement in progress on a connection handed out here fails.
  Result<XaConnection*> enlist(std::string_view data_source);

  // From now on the transaction can only roll back; `reason` appears in the Outcome.
  void set_rollback_only(std::string reason);
  // True once set_rollback_only() ran or the transaction was found past its deadline (the
  // transaction manager rolls it back): commit() can then only roll back.
  bool rollback_only() const;

  // Ends the transaction: one-phase commit for one branch, two-phase commit for more.
  // Calling it again returns the first Outcome.
  Outcome commit();
  // Ends the transaction by rolling back every branch. Calling it again returns the first Outcome.
  Outcome rollback();

 private:
  friend class TransactionManager;
  // Shared with the coordinator's list of live transactions, which its destructor rolls back.
  explicit Transaction(std::shared_ptr<internal::TransactionState> state);
  std::shared_ptr<internal::TransactionState> state_;
};

// Counters since start() and gauges of now; cheap to read. Latencies go to a
// TransactionObserver (xatm/observer.h), e.g. the xatm::prometheus target's histograms.
struct Stats {
  std::uint64_t begun = 0;
  std::uint64_t committed = 0;
  std::uint64_t rolled_back = 0;      // including timed_out
  std::uint64_t one_phase = 0;        // committed with one-phase commit, nothing logged
  std::uint64_t read_only = 0;        // committed without a log record thanks to read-only votes
  std::uint64_t heuristic = 0;
  std::uint64_t unknown = 0;          // ended in doubt
  std::uint64_t timed_out = 0;        // past their deadline before commit (the reaper's work)
  std::uint64_t pending_branches = 0; // branches left for recovery to finish
  std::uint64_t recovered_branches = 0;  // in-doubt branches recovery passes resolved
  // Gauges.
  std::uint64_t in_flight = 0;        // begun and not ended
  // Prepared branches of this node that the last recovery pass found and left unresolved, and
  // the creation time of the oldest one's transaction (its XID's; unset when there is none).
  std::uint64_t in_doubt_branches = 0;
  std::optional<std::chrono::system_clock::time_point> oldest_in_doubt_created;
};

class TransactionManager {
 public:
  // Uses the file log in options.log_dir.
  explicit TransactionManager(Options options);
  // Uses `log` (another backend, or a test double) instead of the file log.
  TransactionManager(Options options, std::unique_ptr<DecisionLog> log);
  TransactionManager(const TransactionManager&) = delete;
  TransactionManager& operator=(const TransactionManager&) = delete;
  // Stops the background recovery, then rolls back every transaction still active (each one's
  // Outcome says so) and closes the log.
  ~TransactionManager();

  // Declares a data source. Only before start(). kAlreadyExists for a duplicate name;
  // kInvalidArgument for a name that is not 1..64 bytes of [A-Za-z0-9._-] (it is written into
  // the decision log and given on xatm-recover's command line).
  Status add(std::unique_ptr<Resource> resource);

  // Declares a data source from a driver's typed configuration, e.g. xatm::mysql::DataSource;
  // the driver's make_resource() is found by argument-dependent lookup.
  template <typename DataSourceConfig>
    requires requires(DataSourceConfig config) { make_resource(std::move(config)); }
  Status add(DataSourceConfig config) {
    return add(make_resource(std::move(config)));
  }

  // Validates the options, opens a session to each data source (fail fast: one whose server
  // refuses its configuration fails start() with the driver's kInvalidArgument or
  // kFailedPrecondition naming it, e.g. a wrong password, a missing database,
  // max_prepared_transactions = 0; one that cannot be reached is logged and retried, it does not
  // fail start()), opens the decision log (taking its directory lock), resolves what earlier
  // incarnations of this node left in doubt, then starts the phase threads and the background
  // recovery. A data source with a decision table must be reachable: its table is created here.
  // kInvalidArgument for bad options,
  // kFailedPrecondition when the log directory is locked by another process, or when log_dir
  // holds no log while a data source holds a prepared branch of this node (or cannot be asked:
  // kUnavailable) and create_log_if_missing is off; kDataLoss for a damaged log.
  Status start();

  // Begins a global transaction. kFailedPrecondition before start() or after the decision log
  // failed (no commit could be made durable).
  Result<Transaction> begin();
  Result<Transaction> begin(std::chrono::milliseconds timeout);

  // Counters and gauges; may be called from any thread at any time, also during start().
  Stats stats() const;

  // Options::node_name.
  const std::string& node_name() const;

  // Calls `observer` for every transaction that ends from now on (xatm/observer.h). Before
  // start() only (kFailedPrecondition after); several observers are called in the order added.
  Status add_observer(std::shared_ptr<TransactionObserver> observer);

  // Runs one recovery pass now (what the background pass does) and returns its report.
  // kFailedPrecondition before start().
  Result<RecoveryReport> recover();

  // The decision log in use (for recovery and tools). REQUIRES: start() succeeded.
  DecisionLog& decision_log();

 private:
  Result<Transaction> begin_with(std::optional<std::chrono::milliseconds> timeout);

  std::unique_ptr<internal::Manager> manager_;
};

}  // namespace xatm

#endif  // XATM_TRANSACTION_MANAGER_H_
