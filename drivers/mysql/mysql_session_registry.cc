#include "mysql_session_registry.h"

namespace xatm::mysql::internal {

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

}  // namespace xatm::mysql::internal
