#include <utility>

#include "tm/manager.h"
#include "tm/transaction_state.h"
#include "xatm/transaction_manager.h"

namespace xatm {
namespace {

// What a moved-from Transaction answers: a usage error, never an in-doubt `unknown`.
Outcome moved_from(std::string_view call) {
  return {Outcome::Kind::kUsageError,
          std::string(call) + " on a moved-from Transaction, which holds no transaction", {}};
}

// The XID of no transaction: formatID 0 is never xatm's.
const Xid& no_xid() {
  static const Xid xid = Xid::make(0, std::vector<std::uint8_t>{0}, {}).value();
  return xid;
}

}  // namespace

Transaction::Transaction(std::shared_ptr<internal::TransactionState> state)
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

const Xid& Transaction::xid() const { return state_ != nullptr ? state_->global : no_xid(); }

std::chrono::system_clock::time_point Transaction::deadline() const {
  return state_ != nullptr ? state_->deadline_wall : std::chrono::system_clock::time_point();
}

bool Transaction::active() const {
  if (state_ == nullptr) return false;
  std::lock_guard lock(state_->mu);
  return !state_->outcome;
}

Result<XaConnection*> Transaction::enlist(std::string_view data_source) {
  if (state_ == nullptr) return failed_precondition_error("enlist() on a moved-from Transaction");
  std::lock_guard lock(state_->mu);
  if (state_->manager == nullptr) {
    return aborted_error("transaction " + state_->global.to_string() + " has ended: " +
                         state_->outcome->to_string());
  }
  return state_->manager->enlist(*state_, data_source);
}

void Transaction::set_rollback_only(std::string reason) {
  if (state_ == nullptr) return;
  std::lock_guard lock(state_->mu);
  if (!state_->rollback_only_reason) state_->rollback_only_reason = std::move(reason);
}

bool Transaction::rollback_only() const {
  if (state_ == nullptr) return false;
  std::lock_guard lock(state_->mu);
  return state_->rollback_only_reason.has_value() || state_->timed_out.has_value();
}

Outcome Transaction::commit() {
  if (state_ == nullptr) return moved_from("commit()");
  std::lock_guard lock(state_->mu);
  if (state_->manager == nullptr) return *state_->outcome;
  return state_->manager->commit(*state_);
}

Outcome Transaction::rollback() {
  if (state_ == nullptr) return moved_from("rollback()");
  std::lock_guard lock(state_->mu);
  if (state_->manager == nullptr) return *state_->outcome;
  return state_->manager->rollback(*state_, "rolled back by the application");
}

}  // namespace xatm
