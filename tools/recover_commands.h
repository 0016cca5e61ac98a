// The recovery subcommands of xatm-recover (docs/recovery.md): list, run, commit, rollback,
// forget. Each reads the config file, opens the node's decision log and runs the recovery
// library (xatm/recovery.h), writing a report to `out`.
//
// The log: `list` and `run --dry-run` only read it (xatm/log_tools.h: nothing is created or
// changed; the directory lock is held if it is free). The others open it like a
// TransactionManager, taking its lock; with `force`, beside a live TM that holds it, they read
// it only. None of them creates a log unless `create_log` says so: a mistyped or unmounted
// log_dir is an error, never a new empty log in which every commit decision is missing.
//
// Exit codes as recover_cli.h.
#ifndef XATM_TOOLS_RECOVER_COMMANDS_H_
#define XATM_TOOLS_RECOVER_COMMANDS_H_

#include <cstdint>
#include <ostream>
#include <string>

namespace xatm::tools {

struct RecoveryCommand {
  std::string config_path;
  bool json = false;        // list: machine-readable output
  bool dry_run = false;     // run: print the plan, change nothing
  bool yes = false;         // commit/rollback/forget: the operator confirmed
  bool force = false;       // act although a live TM holds the log lock (read-only log)
  bool create_log = false;  // run/commit/rollback: create a log when log_dir holds none
  std::int64_t grace_seconds = 30;  // RecoveryOptions::grace, validated before use
  std::string xid;          // commit/rollback/forget: the XID's text form
  std::string node;         // --node: act for this node instead of the config's node_name
  bool take_over = false;   // --take-over: a database log's live owner is ended first
};

int run_list_command(const RecoveryCommand& command, std::ostream& out, std::ostream& err);
int run_run_command(const RecoveryCommand& command, std::ostream& out, std::ostream& err);
// `verb` is "commit", "rollback" or "forget".
int run_operator_command(const std::string& verb, const RecoveryCommand& command, std::ostream& out,
                         std::ostream& err);

}  // namespace xatm::tools

#endif  // XATM_TOOLS_RECOVER_COMMANDS_H_
