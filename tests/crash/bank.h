// The accounts the crash tests move money between: `kAccounts` rows in MariaDB and as many in
// PostgreSQL, reached over plain (non-XA) connections to set them up and to check the
// invariants: the sum of all balances never changes, no branch of the test's node is left
// prepared on either server, and the ledgers agree with each other and with what the
// application was told (ledger.h).
#ifndef XATM_TESTS_CRASH_BANK_H_
#define XATM_TESTS_CRASH_BANK_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "xatm/status.h"

namespace xatm::crash {

inline constexpr int kAccounts = 8;
inline constexpr std::int64_t kOpeningBalance = 1000;
inline constexpr std::int64_t kExpectedTotal = 2 * kAccounts * kOpeningBalance;

// Where the servers are: the XATM_TEST_* settings of scripts/test-servers.sh env.
struct ServerSettings {
  std::string mysql_socket, mysql_user, mysql_password, mysql_database;
  std::string pg_conninfo;

  // From the environment; kInvalidArgument naming the first missing variable.
  static Result<ServerSettings> from_environment();
};

class Bank {
 public:
  static Result<std::unique_ptr<Bank>> open(const ServerSettings& settings);
  virtual ~Bank() = default;

  // Drops and recreates both tables with the opening balances.
  virtual Status reset() = 0;
  // SUM(balance) over both databases (committed data only).
  virtual Result<std::int64_t> total() = 0;
  // How many prepared branches of `node_name` (xatm's formatID) each server lists.
  virtual Result<int> prepared_of_node(const std::string& node_name) = 0;
  // The committed ledger rows of each database: transfer id -> the number of databases the
  // transfer wrote (2 for a transfer across both, 1 for one inside a single database).
  struct Ledgers {
    std::map<std::int64_t, int> mariadb, postgresql;
  };
  virtual Result<Ledgers> ledgers() = 0;
};

}  // namespace xatm::crash

#endif  // XATM_TESTS_CRASH_BANK_H_
