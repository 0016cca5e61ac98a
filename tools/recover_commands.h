// The recovery subcommands of xatm-recover (docs/recovery.md): list, run, commit, rollback,
// forget. Each reads the config file, opens the node's decision log (taking its lock, like a
// TransactionManager; with `force`, beside a live TM that holds it: the log is then only read),
// runs the recovery library (xatm/recovery.h) and writes a report to `out`.
//
// Exit codes as recover_cli.h: kExitOk when nothing is left in doubt (or the operator decision
// was carried out completely), kExitProblem when something needs an operator or a later run,
// kExitUsage for usage and configuration errors.
#ifndef XATM_TOOLS_RECOVER_COMMANDS_H_
#define XATM_TOOLS_RECOVER_COMMANDS_H_

#include <chrono>
#include <ostream>
#include <string>

namespace xatm::tools {

struct RecoveryCommand {
  std::string config_path;
  bool json = false;        // list: machine-readable output
  bool dry_run = false;     // run: print the plan, change nothing
  bool yes = false;         // commit/rollback/forget: the operator confirmed
  bool force = false;       // act although a live TM holds the log lock (read-only log)
  std::chrono::seconds grace{30};  // RecoveryOptions::grace
  std::string xid;          // commit/rollback/forget: the XID's text form
};

int run_list_command(const RecoveryCommand& command, std::ostream& out, std::ostream& err);
int run_run_command(const RecoveryCommand& command, std::ostream& out, std::ostream& err);
// `verb` is "commit", "rollback" or "forget".
int run_operator_command(const std::string& verb, const RecoveryCommand& command, std::ostream& out,
                         std::ostream& err);

}  // namespace xatm::tools

#endif  // XATM_TOOLS_RECOVER_COMMANDS_H_
