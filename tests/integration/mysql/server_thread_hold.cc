#include "server_thread_hold.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace xatm::mysql::testing {
namespace {

constexpr const char* kHeld = "XATM-HELD";
constexpr std::chrono::milliseconds kCommandTimeout{20'000};

// The part of gdb's output worth showing in a failure.
std::string tail(const std::string& text) {
  constexpr std::size_t kShown = 1500;
  return text.size() <= kShown ? text : "..." + text.substr(text.size() - kShown);
}

// gdb's answers that mean the hold cannot work.
std::string refusal_in(const std::string& text) {
  for (const char* refusal : {"ptrace: Operation not permitted", "Could not attach",
                              "not defined", "No symbol table", "Cannot insert breakpoint",
                              "No such process"}) {
    if (text.find(refusal) != std::string::npos) return refusal;
  }
  return "";
}

}  // namespace

Result<std::unique_ptr<ServerThreadHold>> ServerThreadHold::attach(pid_t pid) {
  char path[] = "/tmp/xatm-gdb-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return unavailable_error("cannot create a file for gdb's output");
  close(fd);
  // -nx: no init file; non-stop must be set before attaching.
  const std::string command = "gdb -q -nx > " + std::string(path) + " 2>&1";
  FILE* gdb = popen(command.c_str(), "w");  // NOLINT(cert-env33-c): a test helper
  if (gdb == nullptr) return unavailable_error("cannot start gdb (install the gdb package)");
  std::unique_ptr<ServerThreadHold> hold(new ServerThreadHold(gdb, path));
  XATM_RETURN_IF_ERROR(hold->run("set pagination off\nset confirm off\nset non-stop on\n"
                                 "attach " + std::to_string(pid) + "\ncontinue -a &\n",
                                 kCommandTimeout));
  // Every thread running again, whatever attach stopped.
  XATM_RETURN_IF_ERROR(hold->run("thread apply all -s -q continue &\n", kCommandTimeout));
  return hold;
}

ServerThreadHold::~ServerThreadHold() {
  std::fputs("continue -a &\ndetach\nquit\n", gdb_);
  std::fflush(gdb_);
  pclose(gdb_);
  unlink(output_path_.c_str());
}

Status ServerThreadHold::arm(const std::string& function) {
  return run("break " + function + "\ncommands\nsilent\necho " + kHeld + "\\n\ndisable\nend\n",
             kCommandTimeout);
}

Status ServerThreadHold::wait_until_held(std::chrono::milliseconds timeout) {
  return wait_for(kHeld, timeout);
}

Status ServerThreadHold::release() { return run("continue -a &\n", kCommandTimeout); }

Status ServerThreadHold::run(const std::string& commands, std::chrono::milliseconds timeout) {
  const std::string marker = "XATM-DONE-" + std::to_string(++markers_);
  const std::string text = commands + "echo " + marker + "\\n\n";
  if (std::fputs(text.c_str(), gdb_) < 0 || std::fflush(gdb_) != 0) {
    return unavailable_error("gdb is gone: " + tail(output()));
  }
  XATM_RETURN_IF_ERROR(wait_for(marker, timeout));
  if (std::string refusal = refusal_in(output()); !refusal.empty()) {
    return failed_precondition_error("gdb: " + refusal + ": " + tail(output()));
  }
  return Status();
}

Status ServerThreadHold::wait_for(const std::string& marker, std::chrono::milliseconds timeout) {
  const auto give_up_at = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string text = output();
    if (text.find(marker + "\n") != std::string::npos) return Status();
    if (std::string refusal = refusal_in(text); !refusal.empty()) {
      return failed_precondition_error("gdb: " + refusal + ": " + tail(text));
    }
    if (std::chrono::steady_clock::now() >= give_up_at) {
      return deadline_exceeded_error("gdb did not print " + marker + ": " + tail(text));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string ServerThreadHold::output() const {
  std::ifstream in(output_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace xatm::mysql::testing
