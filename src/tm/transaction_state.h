// The transaction manager's view of one global transaction and its branches.
//
// Thread safety: a TransactionState belongs to one Transaction, used by one thread at a time;
// every call of the Transaction holds `mu`, and so do the reaper when it ends a transaction past
// its deadline and the manager's destructor when it rolls back a transaction still active. During a phase, each Branch is touched by exactly one
// worker (run_all hands out indices).
#ifndef XATM_SRC_TM_TRANSACTION_STATE_H_
#define XATM_SRC_TM_TRANSACTION_STATE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tm/connection_pool.h"
#include "xatm/driver/resource.h"
#include "xatm/observer.h"
#include "xatm/transaction_manager.h"
#include "xatm/xid.h"

namespace xatm::internal {

class Manager;

enum class BranchState {
  kActive,     // xa_start succeeded; the application may be using the session
  kEnded,      // xa_end succeeded, not prepared
  kPrepared,   // voted yes: waits for the decision
  kInDoubt,    // prepare's or rollback's answer was lost: the branch may be prepared
  kCommitted,  // the RM confirmed commit (or a read-only vote finished it)
  kRolledBack, // the RM rolled it back, or it can no longer exist there
  kHeuristic,  // the RM completed it on its own; heuristic_code says how
  kPending,    // the decision could not be confirmed in time: left to recovery
};

struct Branch {
  Branch(const std::string* source, Resource* source_resource, ConnectionPool* source_pool,
         Xid branch_xid, std::unique_ptr<XaConnection> session)
      : data_source(source), resource(source_resource), pool(source_pool),
        xid(std::move(branch_xid)), connection(std::move(session)) {}

  const std::string* data_source = nullptr;  // owned by the manager's DataSources
  Resource* resource = nullptr;              // ditto
  ConnectionPool* pool = nullptr;            // ditto
  Xid xid;
  std::unique_ptr<XaConnection> connection;  // null once the session was lost or handed back
  BranchState state = BranchState::kActive;
  int last_code = 0;       // the RM's last answer
  std::string detail;      // what it said with it
  int heuristic_code = 0;  // XA_HEUR* when state == kHeuristic
  bool read_only = false;  // finished at phase 1 by an XA_RDONLY vote
  // The reaper ended the session on the server (the branch is rolled back there); the object
  // stays until the transaction ends, as the application may still hold it, and is never
  // pooled again.
  bool session_ended = false;
  bool reap_failed = false;  // the reaper could not end the session (and said so once)
};

struct TransactionState {
  TransactionState(Manager* owner, Xid global_xid, std::chrono::milliseconds timeout,
                   std::chrono::system_clock::time_point created)
      : manager(owner), global(std::move(global_xid)), timeout(timeout),
        deadline_wall(created + timeout), deadline(std::chrono::steady_clock::now() + timeout) {}

  std::mutex mu;
  Manager* manager = nullptr;  // guarded by mu; null once the manager is destroyed
  Xid global;
  std::chrono::milliseconds timeout;
  std::chrono::system_clock::time_point deadline_wall;
  std::chrono::steady_clock::time_point deadline;
  std::vector<Branch> branches;
  std::uint32_t next_branch_index = 0;  // never reused, even after a failed xa_start
  std::optional<std::string> rollback_only_reason;
  // Set by the reaper once the deadline passed (reaper.h): why the transaction rolled back.
  std::optional<std::string> timed_out;
  std::optional<Outcome> outcome;  // set once the transaction has ended
  // What the commit() or rollback() that ends it took, step by step, for the observers.
  EndedTransaction ending;

  bool past_deadline() const { return std::chrono::steady_clock::now() >= deadline; }
};

}  // namespace xatm::internal

#endif  // XATM_SRC_TM_TRANSACTION_STATE_H_
