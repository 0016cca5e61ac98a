// The server's VERSION() and what it tells the driver: whether XA is safe on it, and whether
// XA RECOVER needs a privilege. Pure functions, testable without a server.
//
// Thread safety: value type and pure functions.
#ifndef XATM_DRIVERS_MYSQL_MYSQL_SERVER_VERSION_H_
#define XATM_DRIVERS_MYSQL_MYSQL_SERVER_VERSION_H_

#include <string>
#include <string_view>

#include "xatm/status.h"

namespace xatm::mysql::internal {

struct ServerVersion {
  bool mariadb = false;  // "...-MariaDB..." in VERSION(); anything else is MySQL's family
  int major = 0;
  int minor = 0;
  int patch = 0;
  std::string text;  // VERSION() as the server said it

  // True when this version is at least major.minor.patch.
  [[nodiscard]] bool at_least(int want_major, int want_minor, int want_patch) const;
};

// Parses VERSION(), e.g. "10.11.19-MariaDB-0+deb12u1", "8.0.36", "5.7.44-log",
// "5.5.5-10.4.1-MariaDB" (the old replication prefix is skipped). kInvalidArgument when it
// does not start with <major>.<minor>.<patch>.
Result<ServerVersion> parse_server_version(std::string_view text);

// OK when the server keeps a prepared branch across a disconnect of its session: MariaDB
// 10.5.2 (MDEV-742) and MySQL 5.7.7 (bug #12161) on. Older servers roll it back, which turns a
// TM's commit decision into a silent loss: kFailedPrecondition naming the version and why.
Status check_xa_support(const ServerVersion& version, std::string_view data_source);

// MySQL 8.0 and later need the XA_RECOVER_ADMIN privilege for XA RECOVER (WL#7194).
bool needs_xa_recover_admin(const ServerVersion& version);

}  // namespace xatm::mysql::internal

#endif  // XATM_DRIVERS_MYSQL_MYSQL_SERVER_VERSION_H_
