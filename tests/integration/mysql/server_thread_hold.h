// Holds one thread of a running database server at a function of the server's, with gdb in
// non-stop mode (the rest of the server keeps running), to open a race window on purpose and
// keep it open as long as a test needs. The function must be a dynamic symbol of the server
// binary (`nm -D`); MariaDB exports its functions for plugins.
//
// Needs gdb and the right to ptrace the server (root, or the server's user). Every failure is
// a Status naming what is missing: a test that needs the hold fails, it never skips.
//
// Thread safety: one thread at a time.
#ifndef XATM_TESTS_INTEGRATION_MYSQL_SERVER_THREAD_HOLD_H_
#define XATM_TESTS_INTEGRATION_MYSQL_SERVER_THREAD_HOLD_H_

#include <sys/types.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "xatm/status.h"

namespace xatm::mysql::testing {

class ServerThreadHold {
 public:
  // Attaches gdb to the server process `pid`, leaving all of its threads running.
  static Result<std::unique_ptr<ServerThreadHold>> attach(pid_t pid);
  // Lets every thread go on and detaches.
  ~ServerThreadHold();
  ServerThreadHold(const ServerThreadHold&) = delete;
  ServerThreadHold& operator=(const ServerThreadHold&) = delete;

  // The next thread that calls `function` (whichever it is) stops there; once.
  Status arm(const std::string& function);
  // Waits until a thread stopped at the armed function.
  Status wait_until_held(std::chrono::milliseconds timeout);
  // Lets the held thread go on.
  Status release();

 private:
  ServerThreadHold(FILE* gdb, std::string output_path) : gdb_(gdb), output_path_(std::move(output_path)) {}

  // Sends `commands`, then waits until gdb has run them (a marker echoed after them).
  Status run(const std::string& commands, std::chrono::milliseconds timeout);
  Status wait_for(const std::string& marker, std::chrono::milliseconds timeout);
  std::string output() const;

  FILE* gdb_;
  const std::string output_path_;
  int markers_ = 0;
};

}  // namespace xatm::mysql::testing

#endif  // XATM_TESTS_INTEGRATION_MYSQL_SERVER_THREAD_HOLD_H_
