#include "xatm/transaction_manager.h"

#include <utility>

#include "tm/manager.h"
#include "tm/transaction_state.h"

namespace xatm {

TransactionManager::TransactionManager(Options options)
    : manager_(std::make_unique<internal::Manager>(std::move(options), nullptr)) {}

TransactionManager::TransactionManager(Options options, std::unique_ptr<DecisionLog> log)
    : manager_(std::make_unique<internal::Manager>(std::move(options), std::move(log))) {}

TransactionManager::~TransactionManager() = default;

Status TransactionManager::add(std::unique_ptr<Resource> resource) {
  return manager_->add(std::move(resource));
}

Status TransactionManager::start() { return manager_->start(); }

Result<Transaction> TransactionManager::begin() { return begin_with(std::nullopt); }

Result<Transaction> TransactionManager::begin(std::chrono::milliseconds timeout) {
  return begin_with(timeout);
}

Result<Transaction> TransactionManager::begin_with(std::optional<std::chrono::milliseconds> timeout) {
  Result<std::shared_ptr<internal::TransactionState>> state = manager_->begin(timeout);
  if (!state.ok()) return state.status();
  return Transaction(std::move(*state));
}

Stats TransactionManager::stats() const { return manager_->stats(); }

const std::string& TransactionManager::node_name() const { return manager_->node_name(); }

Status TransactionManager::add_observer(std::shared_ptr<TransactionObserver> observer) {
  return manager_->add_observer(std::move(observer));
}

Result<RecoveryReport> TransactionManager::recover() { return manager_->recover(); }

DecisionLog& TransactionManager::decision_log() { return manager_->decision_log(); }

}  // namespace xatm
