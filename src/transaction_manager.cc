#include "xatm/transaction_manager.h"

#include <utility>

#include "coordinator.h"
#include "transaction_state.h"

namespace xatm {

TransactionManager::TransactionManager(Options options)
    : coordinator_(std::make_unique<internal::Coordinator>(std::move(options), nullptr)) {}

TransactionManager::TransactionManager(Options options, std::unique_ptr<DecisionLog> log)
    : coordinator_(std::make_unique<internal::Coordinator>(std::move(options), std::move(log))) {}

TransactionManager::~TransactionManager() = default;

Status TransactionManager::add(std::unique_ptr<Resource> resource) {
  return coordinator_->add(std::move(resource));
}

Status TransactionManager::start() { return coordinator_->start(); }

Result<Transaction> TransactionManager::begin() { return begin_with(std::nullopt); }

Result<Transaction> TransactionManager::begin(std::chrono::milliseconds timeout) {
  return begin_with(timeout);
}

Result<Transaction> TransactionManager::begin_with(std::optional<std::chrono::milliseconds> timeout) {
  Result<std::shared_ptr<internal::TransactionState>> state = coordinator_->begin(timeout);
  if (!state.ok()) return state.status();
  return Transaction(std::move(*state));
}

Stats TransactionManager::stats() const { return coordinator_->stats(); }

Result<RecoveryReport> TransactionManager::recover() { return coordinator_->recover(); }

DecisionLog& TransactionManager::decision_log() { return coordinator_->decision_log(); }

}  // namespace xatm
