// The transaction manager's engine: the data-source registry, XID generation, enlistment and
// the commit protocol of DESIGN §5 (presumed abort, one-phase and read-only optimisations,
// parallel phases, the deadline rule, heuristics).
//
// Thread safety: thread-safe after start(). add() and start() are for setup, before any
// transaction. The registry is immutable once started, so lookups take no lock.
#ifndef XATM_SRC_COORDINATOR_H_
#define XATM_SRC_COORDINATOR_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "branch_ops.h"
#include "connection_pool.h"
#include "latency_histogram.h"
#include "transaction_state.h"
#include "worker_pool.h"
#include "xatm/decision_log.h"
#include "xatm/transaction_manager.h"

namespace xatm::internal {

class Coordinator {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // `log` may be null: start() then opens the file log in options.log_dir. `clock` is the wall
  // clock XIDs carry (tests inject one); the system clock when empty.
  Coordinator(Options options, std::unique_ptr<DecisionLog> log, Clock clock = {});
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;
  ~Coordinator();

  Status add(std::unique_ptr<Resource> resource);
  Status start();
  // `timeout` defaults to Options::default_timeout.
  Result<std::shared_ptr<TransactionState>> begin(std::optional<std::chrono::milliseconds> timeout);

  Result<XaConnection*> enlist(TransactionState& tx, std::string_view data_source);
  Outcome commit(TransactionState& tx);
  Outcome rollback(TransactionState& tx, std::string reason);

  Stats stats() const;
  DecisionLog& decision_log() { return *log_; }

  // One recovery pass now. kFailedPrecondition before start().
  Result<RecoveryReport> recover();

 private:
  struct DataSource {
    std::unique_ptr<Resource> resource;
    std::unique_ptr<ConnectionPool> pool;
  };

  Status validate_options() const;
  // Opens the file log in options_.log_dir, creating one only as Options::create_log_if_missing
  // says.
  Status open_log();
  // The next XID sequence number; reserves the next block in the log when the reserved ones
  // are used up.
  Result<std::uint64_t> next_sequence();
  // Rolls back every transaction still active and detaches every Transaction from this
  // coordinator (the destructor's last duty).
  void abandon_live_transactions();
  Outcome commit_one_phase(TransactionState& tx);
  Outcome commit_two_phase(TransactionState& tx);
  Outcome commit_lone_writer(TransactionState& tx, const CommitRecord& decision);
  Outcome roll_back_all(TransactionState& tx, std::string reason);
  void run_on_branches(TransactionState& tx, const std::function<void(Branch&)>& op);
  // One phase over every branch. A branch whose session splits verbs is sent on this thread
  // first; the others run `op` meanwhile, on the worker pool when there are several; the
  // awaited answers are received last. So MariaDB's verb and PostgreSQL's statement overlap
  // with no hand-off between threads.
  enum class Sent { kAwaiting, kDone, kNotSent };  // kNotSent: run `op` on the branch instead
  void run_phase(TransactionState& tx, const std::function<Sent(Branch&)>& send,
                 const std::function<void(Branch&)>& receive,
                 const std::function<void(Branch&)>& op);
  Outcome finish(TransactionState& tx, Outcome outcome);
  RecoveryReport run_recovery_pass();
  void recovery_loop();
  bool in_flight(const Xid& global) const;

  const Options options_;
  const RetryPolicy retry_;
  const Clock clock_;
  std::unique_ptr<DecisionLog> log_;
  std::map<std::string, DataSource, std::less<>> data_sources_;  // fixed after start()
  std::unique_ptr<WorkerPool> workers_;
  bool started_ = false;
  // Sequence numbers below this were issued by earlier incarnations: when start() opened the
  // log, this one took its lock, so they are down.
  std::uint64_t first_sequence_ = 0;

  std::mutex sequence_mutex_;
  std::uint64_t next_sequence_ = 0;   // guarded by sequence_mutex_
  std::uint64_t sequence_limit_ = 0;  // guarded by sequence_mutex_: reserved in the log

  mutable std::mutex in_flight_mutex_;
  // Guarded by in_flight_mutex_: the transactions begun and not yet ended. Weak: a Transaction
  // owns its state; the destructor reaches the ones still alive.
  std::map<Xid, std::weak_ptr<TransactionState>> in_flight_;

  std::mutex recovery_mutex_;         // one pass at a time; guards stopping_
  std::condition_variable recovery_wakeup_;
  bool stopping_ = false;
  std::thread recovery_thread_;

  std::atomic<std::uint64_t> begun_{0}, committed_{0}, rolled_back_{0}, one_phase_{0},
      read_only_{0}, heuristic_{0}, unknown_{0}, pending_branches_{0};
  LatencyHistogram commit_latency_;
};

}  // namespace xatm::internal

#endif  // XATM_SRC_COORDINATOR_H_
