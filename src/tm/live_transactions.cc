#include "tm/live_transactions.h"

namespace xatm::internal {

void LiveTransactions::add(const std::shared_ptr<TransactionState>& tx) {
  std::lock_guard lock(mutex_);
  live_.emplace(tx->global, tx);
}

void LiveTransactions::remove(const Xid& global) {
  std::lock_guard lock(mutex_);
  live_.erase(global);
}

bool LiveTransactions::contains(const Xid& global) const {
  std::lock_guard lock(mutex_);
  return live_.count(global) > 0;
}

std::size_t LiveTransactions::size() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

std::vector<std::shared_ptr<TransactionState>> LiveTransactions::alive() const {
  std::vector<std::shared_ptr<TransactionState>> alive;
  std::lock_guard lock(mutex_);
  for (const auto& [global, state] : live_) {
    if (std::shared_ptr<TransactionState> tx = state.lock()) alive.push_back(std::move(tx));
  }
  return alive;
}

}  // namespace xatm::internal
