// What the sessions of one MySQL data source share: the server sessions currently open, and
// the sessions that left (were closed or lost) while they held a branch that may be prepared.
//
// MariaDB keeps a prepared branch attached to the session that prepared it. While that session
// lives (a lost client connection can leave it alive on the server: a "zombie"), every other
// session gets 1397 for the XID although XA RECOVER lists it (docs/driver-mysql.md). And while the
// server tears that session down there is a short window in which XA COMMIT from another
// session answers OK without committing anything (MariaDB 10.11: the branch is marked detached
// before InnoDB lets go of its transaction, and XA COMMIT of a detached branch ignores the
// engine's "not found"; the transaction stays prepared, invisible until the next restart).
//
// So when one of the driver's sessions leaves while holding a branch, it records the session's
// CONNECTION_ID() here. Whoever finishes the branch later first waits until the server is done
// with that session, and KILLs it when it is a zombie.
//
// Thread safety: every method may be called from any thread (internal mutex).
#ifndef XATM_DRIVERS_MYSQL_MYSQL_SESSION_REGISTRY_H_
#define XATM_DRIVERS_MYSQL_MYSQL_SESSION_REGISTRY_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "xatm/xid.h"

namespace xatm::mysql::internal {

class SessionRegistry {
 public:
  // How a session holding a branch left.
  enum class Departure {
    kClosed,  // the driver closed it: the server is tearing it down right now
    kLost,    // the connection failed: the server may keep it (a zombie) until it notices
  };
  struct Holder {
    std::uint64_t connection_id = 0;
    Departure departure = Departure::kLost;
  };

  SessionRegistry(std::string data_source, std::string user)
      : data_source_(std::move(data_source)), user_(std::move(user)) {}

  const std::string& data_source() const { return data_source_; }
  const std::string& user() const { return user_; }

  // A session with this CONNECTION_ID() was opened / closed by this data source.
  void opened(std::uint64_t connection_id);
  void closed(std::uint64_t connection_id);
  // True while one of this data source's sessions has this id.
  bool is_open(std::uint64_t connection_id) const;

  // The session `connection_id` left while holding `xid` (prepared, or its prepare, commit or
  // rollback in flight).
  void holder_left(const Xid& xid, std::uint64_t connection_id, Departure departure);
  // The session recorded for `xid`, if any.
  std::optional<Holder> holder_of(const Xid& xid) const;
  // The server is done with the session recorded for `xid`: forget it.
  void forget_holder(const Xid& xid);

 private:
  const std::string data_source_;
  const std::string user_;
  mutable std::mutex mutex_;
  std::multiset<std::uint64_t> open_;  // guarded by mutex_
  std::map<Xid, Holder> holders_;      // guarded by mutex_
};

}  // namespace xatm::mysql::internal

#endif  // XATM_DRIVERS_MYSQL_MYSQL_SESSION_REGISTRY_H_
