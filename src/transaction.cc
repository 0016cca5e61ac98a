#include <utility>

#include "coordinator.h"
#include "transaction_state.h"
#include "xatm/transaction_manager.h"

namespace xatm {

Transaction::Transaction(std::unique_ptr<internal::TransactionState> state)
    : state_(std::move(state)) {}

Transaction::Transaction(Transaction&&) noexcept = default;

Transaction& Transaction::operator=(Transaction&& other) noexcept {
  if (this != &other) {
    if (active()) rollback();
    state_ = std::move(other.state_);
  }
  return *this;
}

Transaction::~Transaction() {
  if (active()) rollback();
}

const Xid& Transaction::xid() const { return state_->global; }

std::chrono::system_clock::time_point Transaction::deadline() const {
  return state_->deadline_wall;
}

bool Transaction::active() const { return state_ != nullptr && !state_->outcome; }

Result<XaConnection*> Transaction::enlist(std::string_view data_source) {
  if (state_ == nullptr) return failed_precondition_error("enlist() on a moved-from Transaction");
  return state_->coordinator->enlist(*state_, data_source);
}

void Transaction::set_rollback_only(std::string reason) {
  if (state_ != nullptr && !state_->rollback_only_reason) {
    state_->rollback_only_reason = std::move(reason);
  }
}

Outcome Transaction::commit() {
  if (state_ == nullptr) return {Outcome::Kind::kUnknown, "commit() on a moved-from Transaction", {}};
  return state_->coordinator->commit(*state_);
}

Outcome Transaction::rollback() {
  if (state_ == nullptr) return {Outcome::Kind::kUnknown, "rollback() on a moved-from Transaction", {}};
  return state_->coordinator->rollback(*state_, "rolled back by the application");
}

}  // namespace xatm
