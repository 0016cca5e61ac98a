// The reaper (docs/protocol.md, "Timeouts"): a thread that rolls back every transaction past its
// deadline, even while the application's thread is stuck in a statement. It cannot touch the
// branch's session (the application may be using it, and database connections are not
// thread-safe), so it asks another session of the same data source to end it on the server:
// the statement is cancelled, the branch rolled back and its locks released at once. The
// application's next call on the transaction answers kAborted naming the timeout.
//
// A transaction inside commit() or rollback() (or enlisting) is left to that call, which holds
// its mutex and applies the deadline rule itself; a branch whose driver cannot end sessions
// (an adopted xa_switch_t) rolls back at the transaction's next call.
//
// Thread safety: construction and destruction from one thread; the reaper's own thread takes
// each transaction's mutex (try_lock) and never blocks on one.
#ifndef XATM_SRC_TM_REAPER_H_
#define XATM_SRC_TM_REAPER_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tm/live_transactions.h"
#include "tm/stats.h"
#include "tm/transaction_state.h"

namespace xatm::internal {

// Marks `tx` timed out (TransactionState::timed_out, counted once): from now on it can only roll
// back, and every call names the timeout. REQUIRES: tx.mu held.
void mark_timed_out(TransactionState& tx, StatsCounters& stats);

class Reaper {
 public:
  // Looks at the live transactions every `interval`. `live` and `stats` must outlive it.
  Reaper(LiveTransactions& live, StatsCounters& stats, std::chrono::milliseconds interval);
  // Stops the thread (after the pass it may be running).
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

 private:
  void run(std::chrono::milliseconds interval);
  void pass();
  // REQUIRES: tx.mu held, tx active and past its deadline.
  void reap(TransactionState& tx);

  LiveTransactions& live_;
  StatsCounters& stats_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace xatm::internal

#endif  // XATM_SRC_TM_REAPER_H_
