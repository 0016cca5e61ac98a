// MariaDB's detach window, opened on purpose and held open (docs/driver-mysql.md, "the detach
// window"): the session that prepared a branch goes away, the server detaches the branch, and
// gdb holds that session's thread right there, before InnoDB lets go of the transaction. An
// XA COMMIT from another session in this state answers OK and commits nothing (seen with
// MariaDB 10.11: the row stays unchanged, XA RECOVER no longer lists the XID, and the
// transaction stays prepared, holding its locks, until the server restarts).
//
// The finisher here is another Resource, as recovery in another process (a restarted TM, or
// xatm-recover) would be: it knows the preparing session only from the branch's XID.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <thread>

#include "driver_under_test.h"
#include "mysql_test_util.h"
#include "server_thread_hold.h"

namespace xatm::mysql::testing {
namespace {

using internal::MysqlConnection;

// MariaDB's THD::cleanup() calls backup_end() right after trans_xa_detach(), while the session
// is still in PROCESSLIST (COMMAND "Killed") and InnoDB still has its transaction attached.
constexpr const char* kAfterDetach = "backup_end";

pid_t mariadb_pid() {
  std::ifstream in(xatm::testing::test_setting("SERVERS_DIR") + "/mariadb/mysqld.pid");
  pid_t pid = 0;
  in >> pid;
  return pid;
}

std::int64_t sessions_with_id(std::uint64_t id, const std::string& command) {
  return query_plain("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = " +
                     std::to_string(id) + " AND COMMAND = '" + command + "'");
}

TEST(MysqlDetachWindowTest, ACommitFromAnotherProcessWaitsUntilThePreparingSessionHasEnded) {
  roll_back_leftovers();
  reset_table("detach_window", 1);
  std::unique_ptr<Resource> crashing = make_resource(test_data_source("window"));
  std::unique_ptr<MysqlConnection> preparer = open_session(*crashing);
  ASSERT_NE(preparer, nullptr);
  const Xid xid = tm_branch_xid(*preparer);
  ASSERT_EQ(preparer->start(xid).code, XA_OK);
  ASSERT_FALSE(run(preparer->sql_connection(), "UPDATE detach_window SET balance = 42 WHERE id = 1"));
  ASSERT_EQ(preparer->end(xid).code, XA_OK);
  ASSERT_EQ(preparer->prepare(xid).code, XA_OK);
  const std::uint64_t preparer_id = preparer->connection_id();

  const pid_t pid = mariadb_pid();
  ASSERT_GT(pid, 0) << "no mysqld.pid under XATM_TEST_SERVERS_DIR";
  Result<std::unique_ptr<ServerThreadHold>> hold = ServerThreadHold::attach(pid);
  ASSERT_TRUE(hold.ok()) << hold.status().to_string();
  ASSERT_TRUE((*hold)->arm(kAfterDetach).ok());
  preparer.reset();  // the client goes away: the server detaches the branch and ends the session
  const Status held = (*hold)->wait_until_held(std::chrono::seconds(10));
  ASSERT_TRUE(held.ok()) << held.to_string();
  // The window is open: the preparing session is still ending, and the branch is detached.
  ASSERT_EQ(sessions_with_id(preparer_id, "Killed"), 1) << "gdb held another session's thread";
  ASSERT_TRUE(is_listed(*crashing, xid));

  std::unique_ptr<Resource> recovery = make_resource(test_data_source("window"));
  std::unique_ptr<MysqlConnection> finisher = open_session(*recovery);
  ASSERT_NE(finisher, nullptr);
  std::atomic<bool> released{false};
  std::future<Status> releaser = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    released = true;
    return (*hold)->release();
  });
  const XaReply committed = retry_while_attached([&] { return finisher->commit(xid, false); });
  const bool answered_after_release = released;
  EXPECT_TRUE(releaser.get().ok());
  EXPECT_EQ(committed.code, XA_OK) << committed.detail;
  EXPECT_TRUE(answered_after_release) << "the commit did not wait for the preparing session";
  const std::int64_t balance = query_plain("SELECT balance FROM detach_window WHERE id = 1");
  EXPECT_EQ(balance, 42) << "XA COMMIT answered OK but committed nothing: the branch is lost";
  EXPECT_FALSE(is_listed(*recovery, xid));
  hold->reset();

  if (balance != 42) {
    // The lost transaction stays prepared, holding its row lock, until the server restarts.
    EXPECT_TRUE(xatm::testing::run_test_servers("restart mariadb").ok());
    roll_back_leftovers();
  }
}

}  // namespace
}  // namespace xatm::mysql::testing
