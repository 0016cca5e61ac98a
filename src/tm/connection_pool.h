// The idle sessions of one data source, kept for reuse by later transactions.
//
// Thread safety: acquire() and release() may be called from any thread; connecting happens
// outside the lock so that one slow server never blocks the pool of another.
#ifndef XATM_SRC_TM_CONNECTION_POOL_H_
#define XATM_SRC_TM_CONNECTION_POOL_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "xatm/driver/resource.h"
#include "xatm/status.h"

namespace xatm::internal {

class ConnectionPool {
 public:
  // `resource` must outlive the pool.
  ConnectionPool(Resource& resource, std::size_t max_idle);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // An idle session, or a new one from Resource::connect() (whose error is returned as is).
  Result<std::unique_ptr<XaConnection>> acquire();

  // Closes every idle session (after one of them turned out dead: a restarted server killed
  // them all).
  void discard_idle();

  // Gives a session back. REQUIRES: it carries no branch. Unusable sessions and those beyond
  // max_idle are closed.
  void release(std::unique_ptr<XaConnection> connection);

 private:
  Resource& resource_;
  const std::size_t max_idle_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<XaConnection>> idle_;  // guarded by mutex_
};

}  // namespace xatm::internal

#endif  // XATM_SRC_TM_CONNECTION_POOL_H_
