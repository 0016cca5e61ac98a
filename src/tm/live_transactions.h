// The transactions begun and not yet ended: recovery leaves them alone (their own phase 2 is
// finishing them), and the TransactionManager's destructor rolls back those a Transaction
// still holds.
//
// Thread safety: every method may be called from any thread.
#ifndef XATM_SRC_TM_LIVE_TRANSACTIONS_H_
#define XATM_SRC_TM_LIVE_TRANSACTIONS_H_

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "tm/transaction_state.h"
#include "xatm/xid.h"

namespace xatm::internal {

class LiveTransactions {
 public:
  void add(const std::shared_ptr<TransactionState>& tx);
  void remove(const Xid& global);
  bool contains(const Xid& global) const;
  std::size_t size() const;
  // Those whose Transaction still exists.
  std::vector<std::shared_ptr<TransactionState>> alive() const;

 private:
  mutable std::mutex mutex_;
  // Weak: a Transaction owns its state.
  std::map<Xid, std::weak_ptr<TransactionState>> live_;  // guarded by mutex_
};

}  // namespace xatm::internal

#endif  // XATM_SRC_TM_LIVE_TRANSACTIONS_H_
