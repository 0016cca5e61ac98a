#include "recover_cli.h"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "recover_commands.h"
#include "xatm/log_tools.h"
#include "xatm/status.h"

namespace xatm::tools {
namespace {

// What every subcommand writes to and reports through.
struct Context {
  std::ostream& out;
  std::ostream& err;
  int exit_code = kExitUsage;  // until a subcommand runs
};

// Runs `command` (dump_log or verify_log) on `dir`.
int run_log_command(const std::string& name,
                    const std::function<Status(const std::string&, std::ostream&)>& command,
                    const std::string& dir, Context& context) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    context.err << "xatm-recover log " << name << ": " << dir << " is not a directory\n";
    return kExitNotFound;
  }
  Status status = command(dir, context.out);
  context.out.flush();
  if (!status.ok())
    context.err << "xatm-recover log " << name << ": " << status.to_string() << "\n";
  return exit_code_for(status);
}

// `log dump DIR` and `log verify DIR`.
void add_log_commands(CLI::App& app, Context& context) {
  CLI::App* log = app.add_subcommand("log", "Read the decision log (without changing it)");
  log->require_subcommand(1);
  struct LogCommand {
    const char* name;
    const char* help;
    Status (*run)(const std::string&, std::ostream&);
  };
  static constexpr LogCommand kCommands[] = {
      {"dump", "Print every record with its file and offset, then the live decisions", dump_log},
      {"verify", "Check every segment; name the file and offset of any damage", verify_log},
  };
  for (const LogCommand& command : kCommands) {
    CLI::App* sub = log->add_subcommand(command.name, command.help);
    auto dir = std::make_shared<std::string>();
    sub->add_option("DIR", *dir, "The log directory")->required();
    sub->callback([&context, &command, dir] {
      context.exit_code = run_log_command(command.name, command.run, *dir, context);
    });
  }
}

// Options every recovery subcommand takes.
void add_common_options(CLI::App& sub, RecoveryCommand& command) {
  sub.add_option("--config", command.config_path,
                 "JSON file naming the node, its log directory and its data sources")
      ->required();
  sub.add_flag("--force", command.force,
               "Act although a live transaction manager holds the log lock (the log is only read)");
  sub.add_option("--node", command.node,
                 "Act for this node instead of the config's node_name (a database log: finish a "
                 "dead node's transactions from any machine)");
  sub.add_option("--grace-seconds", command.grace_seconds,
                 "How long past its deadline an undecided branch must be before it is presumed "
                 "aborted while its TM may be alive (1..2592000, default 30)");
}

// `list`, `run`, and the operator decisions `commit`, `rollback`, `forget`.
void add_recovery_commands(CLI::App& app, Context& context) {
  auto command = std::make_shared<RecoveryCommand>();
  CLI::App* list = app.add_subcommand(
      "list", "Show the in-doubt branches of this node per data source, their decision, and what "
              "`run` would do (exit 0: nothing in doubt, 1: something is)");
  add_common_options(*list, *command);
  list->add_flag("--json", command->json, "Machine-readable output");
  list->callback([&context, command] { context.exit_code = run_list_command(*command, context.out, context.err); });

  CLI::App* run = app.add_subcommand(
      "run", "Resolve everything that is safe to resolve (exit 0: all resolved, 1: something needs "
             "an operator or a later run)");
  add_common_options(*run, *command);
  run->add_flag("--dry-run", command->dry_run, "Print what would be done; change nothing");
  run->add_flag("--take-over", command->take_over,
                "With a database log: end the session of the node's owner (a paused or cut-off "
                "TM) and take the node over; only for a TM known to be stopped or paused");
  run->add_flag("--create-log", command->create_log,
                "Create a new, empty decision log when log_dir holds none (every branch prepared "
                "before it then needs an operator decision)");
  run->callback([&context, command] { context.exit_code = run_run_command(*command, context.out, context.err); });

  static constexpr const char* kOperatorVerbs[][2] = {
      {"commit", "Operator decision: log a COMMIT decision for XID's transaction, then commit its "
                 "prepared branches"},
      {"rollback", "Operator decision: roll back XID's prepared branches (refused when the log "
                   "holds a COMMIT decision)"},
      {"forget", "After a heuristic outcome was dealt with: forget it on the databases and close "
                 "its records in the log"}};
  for (const auto& [verb, help] : kOperatorVerbs) {
    CLI::App* sub = app.add_subcommand(verb, help);
    add_common_options(*sub, *command);
    sub->add_option("XID", command->xid,
                    "formatID:gtrid-hex:bqual-hex; an empty bqual means the whole transaction")
        ->required();
    sub->add_flag("--yes", command->yes, "Confirm the operator decision");
    if (std::string_view(verb) != "forget") {
      sub->add_flag("--create-log", command->create_log,
                    "Create a new, empty decision log when log_dir holds none");
    }
    const std::string name = verb;
    sub->callback([&context, command, name] {
      context.exit_code = run_operator_command(name, *command, context.out, context.err);
    });
  }
}

// What was wrong with the command line, without any value from it: an argument may be a
// password typed in the wrong place, and CLI11's own messages quote values. Only the messages
// made of option names and counts are passed through.
std::string describe_parse_error(const CLI::ParseError& error) {
  if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr ||
      dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr ||
      dynamic_cast<const CLI::RequiresError*>(&error) != nullptr ||
      dynamic_cast<const CLI::ExcludesError*>(&error) != nullptr) {
    return error.what();
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr) {
    return "unexpected argument (not shown: it may hold a secret)";
  }
  if (dynamic_cast<const CLI::ConversionError*>(&error) != nullptr ||
      dynamic_cast<const CLI::ValidationError*>(&error) != nullptr) {
    return "an option's value has the wrong form, e.g. not a number (not shown: it may hold a "
           "secret)";
  }
  return "the command line cannot be read (" + error.get_name() +
         "; arguments not shown: they may hold secrets)";
}

}  // namespace

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument: return kExitUsage;
    case StatusCode::kNotFound: return kExitNotFound;
    case StatusCode::kFailedPrecondition: return kExitRefused;
    case StatusCode::kDataLoss: return kExitDamaged;
    default: return kExitProblem;
  }
}

int run_recover_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  Context context{out, err};
  CLI::App app("xatm-recover: inspect and resolve what a crashed xatm transaction manager left",
               "xatm-recover");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("xatm-recover ") + XATM_VERSION,
                       "Print the version and exit");
  add_log_commands(app, context);
  add_recovery_commands(app, context);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::CallForVersion& version) {
    out << version.what() << "\n";
    return kExitOk;
  } catch (const CLI::ParseError& error) {
    err << "xatm-recover: " << describe_parse_error(error) << "\n"
        << "Run with --help for usage.\n";
    return kExitUsage;
  }
  return context.exit_code;
}

}  // namespace xatm::tools
