#include "tm/connection_pool.h"

#include <utility>

namespace xatm::internal {

ConnectionPool::ConnectionPool(Resource& resource, std::size_t max_idle)
    : resource_(resource), max_idle_(max_idle) {}

Result<std::unique_ptr<XaConnection>> ConnectionPool::acquire() {
  {
    std::lock_guard lock(mutex_);
    while (!idle_.empty()) {
      std::unique_ptr<XaConnection> connection = std::move(idle_.back());
      idle_.pop_back();
      if (connection->usable()) return connection;
    }
  }
  return resource_.connect();
}

void ConnectionPool::discard_idle() {
  std::vector<std::unique_ptr<XaConnection>> dead;  // closed outside the lock
  std::lock_guard lock(mutex_);
  dead.swap(idle_);
}

void ConnectionPool::release(std::unique_ptr<XaConnection> connection) {
  if (connection == nullptr || !connection->usable()) return;
  std::unique_ptr<XaConnection> surplus;  // closed outside the lock: closing may do I/O
  std::lock_guard lock(mutex_);
  if (idle_.size() < max_idle_) {
    idle_.push_back(std::move(connection));
  } else {
    surplus = std::move(connection);
  }
}

}  // namespace xatm::internal
