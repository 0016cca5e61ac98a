#include "mysql_session_registry.h"

namespace xatm::mysql::internal {
namespace {

// Enough for every branch a burst of departed sessions can leave behind; beyond it entries are
// dropped (an entry only makes finishing the branch safer and quicker).
constexpr std::size_t kMaxHolders = 1024;

}  // namespace

void SessionRegistry::opened(std::uint64_t connection_id) {
  std::lock_guard lock(mutex_);
  open_.insert(connection_id);
}

void SessionRegistry::closed(std::uint64_t connection_id) {
  std::lock_guard lock(mutex_);
  if (auto it = open_.find(connection_id); it != open_.end()) open_.erase(it);
}

bool SessionRegistry::is_open(std::uint64_t connection_id) const {
  std::lock_guard lock(mutex_);
  return open_.contains(connection_id);
}

void SessionRegistry::holder_left(const Xid& xid, std::uint64_t connection_id,
                                  Departure departure) {
  std::lock_guard lock(mutex_);
  if (holders_.size() >= kMaxHolders) holders_.erase(holders_.begin());
  holders_[xid] = Holder{connection_id, departure};
}

std::optional<SessionRegistry::Holder> SessionRegistry::holder_of(const Xid& xid) const {
  std::lock_guard lock(mutex_);
  auto it = holders_.find(xid);
  if (it == holders_.end()) return std::nullopt;
  return it->second;
}

void SessionRegistry::forget_holder(const Xid& xid) {
  std::lock_guard lock(mutex_);
  holders_.erase(xid);
}

}  // namespace xatm::mysql::internal
