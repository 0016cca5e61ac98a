// The command line of xatm-recover (docs/recovery.md): subcommands over library functions.
//
// Each subcommand is a small function that registers itself on the CLI11 app and, when chosen,
// runs one library call with the parsed arguments, writing to the given streams. To add one
// (list, run, commit, rollback, forget), write an add_<name>_command() next to
// add_log_commands() in recover_cli.cc and call it from run_recover_cli().
//
// Exit codes (docs/recovery.md, "Exit codes"), each with one meaning:
//   0 kExitOk        the command did what it was asked, and nothing it looked at is in doubt
//                    (log verify: the log is clean or only has a torn tail a crash left)
//   1 kExitProblem   something is left in doubt, needs an operator, or failed for a reason a
//                    later run may not have (a data source unreachable, an I/O error)
//   2 kExitUsage     the command line or the config file is wrong; nothing was done
//   3 kExitNotFound  what the command names does not exist (an XID with nothing in doubt or no
//                    heuristic outcome to forget, a log_dir that holds no decision log, which
//                    is never created unless --create-log says so); nothing was done
//   4 kExitRefused   refused for safety; nothing was done (the log locked by a live TM, a
//                    rollback against a COMMIT decision or of a transaction that may still be
//                    in flight)
//   5 kExitDamaged   the decision log is damaged: run `xatm-recover log verify`
//
// Thread safety: run_recover_cli may run concurrently with itself (it keeps no global state).
#ifndef XATM_TOOLS_RECOVER_CLI_H_
#define XATM_TOOLS_RECOVER_CLI_H_

#include <ostream>

#include "xatm/status.h"

namespace xatm::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitProblem = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotFound = 3;
inline constexpr int kExitRefused = 4;
inline constexpr int kExitDamaged = 5;

// The exit code for an error of a subcommand (kExitOk for OK).
int exit_code_for(const Status& status);

// Parses `argv` (argv[0] is the program name) and runs the chosen subcommand: its output goes
// to `out`, diagnostics and usage messages to `err`. Returns the exit code.
int run_recover_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace xatm::tools

#endif  // XATM_TOOLS_RECOVER_CLI_H_
