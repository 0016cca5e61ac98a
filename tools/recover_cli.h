// The command line of xatm-recover (DESIGN §7): subcommands over library functions.
//
// Each subcommand is a small function that registers itself on the CLI11 app and, when chosen,
// runs one library call with the parsed arguments, writing to the given streams. To add one
// (list, run, commit, rollback, forget), write an add_<name>_command() next to
// add_log_commands() in recover_cli.cc and call it from run_recover_cli().
//
// Exit codes: kExitOk when the command succeeded (log verify: the log is clean or only has a
// torn tail a crash left); kExitProblem when it ran and found a problem (damage, an I/O error);
// kExitUsage for a usage error (bad arguments, a directory that is not a log directory).
//
// Thread safety: run_recover_cli may run concurrently with itself (it keeps no global state).
#ifndef XATM_TOOLS_RECOVER_CLI_H_
#define XATM_TOOLS_RECOVER_CLI_H_

#include <ostream>

namespace xatm::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitProblem = 1;
inline constexpr int kExitUsage = 2;

// Parses `argv` (argv[0] is the program name) and runs the chosen subcommand: its output goes
// to `out`, diagnostics and usage messages to `err`. Returns the exit code.
int run_recover_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace xatm::tools

#endif  // XATM_TOOLS_RECOVER_CLI_H_
