// What the sessions of one MySQL data source share: the ids of the server sessions currently
// open, so that the driver never KILLs a session of its own that is still in use (a departed
// session that held a branch is found through the branch's XID, mysql_branch_tag.h).
//
// Thread safety: every method may be called from any thread (internal mutex).
#ifndef XATM_DRIVERS_MYSQL_MYSQL_SESSION_REGISTRY_H_
#define XATM_DRIVERS_MYSQL_MYSQL_SESSION_REGISTRY_H_

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace xatm::mysql::internal {

class SessionRegistry {
 public:
  SessionRegistry(std::string data_source, std::string user)
      : data_source_(std::move(data_source)), user_(std::move(user)) {}

  const std::string& data_source() const { return data_source_; }
  const std::string& user() const { return user_; }

  // A session with this CONNECTION_ID() was opened / closed by this data source.
  void opened(std::uint64_t connection_id);
  void closed(std::uint64_t connection_id);
  // True while one of this data source's sessions has this id.
  bool is_open(std::uint64_t connection_id) const;

 private:
  const std::string data_source_;
  const std::string user_;
  mutable std::mutex mutex_;
  std::multiset<std::uint64_t> open_;  // guarded by mutex_
};

}  // namespace xatm::mysql::internal

#endif  // XATM_DRIVERS_MYSQL_MYSQL_SESSION_REGISTRY_H_
