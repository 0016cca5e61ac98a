#include "recover_commands.h"

#include <iomanip>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "recover_cli.h"
#include "tool_config.h"
#include "xatm/decision_log.h"
#include "xatm/log_tools.h"
#include "xatm/recovery.h"

namespace xatm::tools {
namespace {

// Everything a recovery subcommand works on.
struct Workspace {
  ToolConfig config;
  std::unique_ptr<DecisionLog> log;
  bool lock_held = false;  // no TM of this node runs: every XID the log issued is of a dead one
  std::chrono::milliseconds grace{0};

  std::unique_ptr<Recoverer> recoverer() {
    std::vector<Resource*> resources;
    for (auto& source : config.data_sources) resources.push_back(source.get());
    RecoveryOptions options{.node_name = config.node_name, .grace = grace};
    if (lock_held) options.owner_down_below_sequence = log->sequence_limit();
    return std::make_unique<Recoverer>(*log, std::move(resources), std::move(options));
  }
};

// --grace-seconds: checked here, in seconds, before it is converted (a huge value would
// overflow into a negative grace), then as RecoveryOptions.
Result<std::chrono::milliseconds> grace_of(const RecoveryCommand& command) {
  const std::int64_t min = kMinRecoveryGrace.count() / 1000, max = kMaxRecoveryGrace.count() / 1000;
  if (command.grace_seconds < min || command.grace_seconds > max) {
    return invalid_argument_error("--grace-seconds " + std::to_string(command.grace_seconds) +
                                  " is outside " + std::to_string(min) + ".." + std::to_string(max) +
                                  ": a shorter grace could roll back a transaction whose COMMIT is "
                                  "on its way to the log");
  }
  return std::chrono::milliseconds(command.grace_seconds * 1000);
}

Status no_log(const ToolConfig& config, const Status& status) {
  if (config.database_log) {
    return not_found_error(status.message() + ". Nothing was created: check the node name and "
                           "config.log (another database or table?); `run` creates the tables");
  }
  return not_found_error(status.message() +
                         ". Nothing was created: check log_dir in the config (a wrong, empty or "
                         "unmounted directory would make every earlier commit decision missing). "
                         "If the log of node '" + config.node_name +
                         "' is truly lost, `run --create-log` starts a new one; every branch "
                         "prepared before it then needs an operator decision");
}

Result<Workspace> load(const RecoveryCommand& command) {
  Result<std::chrono::milliseconds> grace = grace_of(command);
  if (!grace.ok()) return grace.status();
  Result<ToolConfig> config = load_tool_config(command.config_path);
  if (!config.ok()) return config.status();
  if (!command.node.empty()) {
    XATM_RETURN_IF_ERROR(validate_node_name(command.node).with_context("--node"));
    config->node_name = command.node;
  }
  if (command.take_over && !config->database_log) {
    return invalid_argument_error("--take-over needs a database log (config.log): a file log's node "
                                  "is taken over by opening its directory where it is mounted");
  }
  return Workspace{std::move(*config), nullptr, false, *grace};
}

// The log read only, whoever holds it.
Result<LogSnapshot> read_log(const ToolConfig& config) {
  if (config.database_log) return config.database_log->read(config.node_name);
  return open_log_snapshot(config.log_dir, config.node_name);
}

// The log opened as a TM opens it.
Result<std::unique_ptr<DecisionLog>> open_log(const ToolConfig& config, const RecoveryCommand& command) {
  if (config.database_log) return config.database_log->open(config.node_name, command.take_over);
  return open_file_log(
      {.dir = config.log_dir, .create_if_missing = command.create_log, .node_name = config.node_name});
}

// For list and run --dry-run: read only, whoever holds the lock.
Result<Workspace> open_read_only(const RecoveryCommand& command) {
  Result<Workspace> workspace = load(command);
  if (!workspace.ok()) return workspace.status();
  Result<LogSnapshot> snapshot = read_log(workspace->config);
  if (!snapshot.ok()) {
    if (snapshot.status().code() == StatusCode::kNotFound) return no_log(workspace->config, snapshot.status());
    return snapshot.status();
  }
  workspace->log = std::move(snapshot->log);
  workspace->lock_held = snapshot->locked;
  return workspace;
}

// For the commands that act: the log opened as a TM opens it, or read only beside a live TM
// with --force.
Result<Workspace> open_for_action(const RecoveryCommand& command, std::ostream& err) {
  Result<Workspace> workspace = load(command);
  if (!workspace.ok()) return workspace.status();
  const ToolConfig& config = workspace->config;
  Result<std::unique_ptr<DecisionLog>> log = open_log(config, command);
  if (log.ok()) {
    workspace->log = std::move(*log);
    workspace->lock_held = true;
    return workspace;
  }
  if (log.status().code() == StatusCode::kNotFound) return no_log(config, log.status());
  if (log.status().code() != StatusCode::kFailedPrecondition) return log.status();
  if (!command.force) {
    return failed_precondition_error(log.status().message() +
                                     "; stop the application first (or use --force to act beside it, "
                                     "reading the log only)");
  }
  Result<LogSnapshot> snapshot = read_log(config);
  if (!snapshot.ok()) return snapshot.status();
  err << "xatm-recover: warning: a live transaction manager holds "
      << (config.database_log ? config.database_log->description : config.log_dir)
      << "; --force: the log is only read, nothing is presumed aborted before its deadline\n";
  workspace->log = std::move(snapshot->log);
  workspace->lock_held = snapshot->locked;
  return workspace;
}

int fail(const Status& status, std::ostream& err) {
  err << "xatm-recover: " << status.to_string() << "\n";
  return exit_code_for(status);
}

std::string decision_name(const InDoubtBranch& branch) { return branch.has_decision ? "commit" : "none"; }

void print_table(const RecoveryReport& report, bool carried_out, std::ostream& out) {
  if (report.branches.empty()) out << "no in-doubt branch of this node\n";
  for (const InDoubtBranch& b : report.branches) {
    out << std::left << std::setw(14) << b.data_source << " " << b.xid.to_string() << "\n"
        << "    decision " << decision_name(b) << ", action " << in_doubt_action_name(b.action);
    if (carried_out && b.action != InDoubtBranch::Action::kLeave) {
      out << " -> " << (b.resolved ? "done" : "NOT DONE") << " (" << xa_code_name(b.result) << ")";
    }
    out << (b.needs_operator ? ", NEEDS AN OPERATOR" : "") << ": " << b.reason << "\n";
  }
  for (const HeuristicRecord& h : report.heuristics) {
    out << "heuristic " << xa_code_name(h.xa_code) << " on data source '" << h.branch.data_source
        << "', branch " << h.branch.xid.to_string() << "\n";
  }
  for (const std::string& problem : report.problems) out << "problem: " << problem << "\n";
  out << "decisions: " << report.decisions_done << " closed, " << report.decisions_open << " open\n";
}

void print_json(const RecoveryReport& report, std::ostream& out) {
  nlohmann::json branches = nlohmann::json::array(), heuristics = nlohmann::json::array();
  for (const InDoubtBranch& b : report.branches) {
    branches.push_back({{"data_source", b.data_source}, {"xid", b.xid.to_string()},
                        {"decision", decision_name(b)},
                        {"action", std::string(in_doubt_action_name(b.action))},
                        {"needs_operator", b.needs_operator}, {"reason", b.reason}});
  }
  for (const HeuristicRecord& h : report.heuristics) {
    heuristics.push_back({{"data_source", h.branch.data_source}, {"xid", h.branch.xid.to_string()},
                          {"code", xa_code_name(h.xa_code)}});
  }
  nlohmann::json root = {{"branches", branches}, {"heuristics", heuristics},
                         {"problems", report.problems}, {"decisions_open", report.decisions_open}};
  out << root.dump(2) << "\n";
}

int report_exit_code(const RecoveryReport& report) {
  return report.needs_attention() ? kExitProblem : kExitOk;
}

}  // namespace

int run_list_command(const RecoveryCommand& command, std::ostream& out, std::ostream& err) {
  Result<Workspace> workspace = open_read_only(command);
  if (!workspace.ok()) return fail(workspace.status(), err);
  RecoveryReport report = workspace->recoverer()->scan();
  if (command.json) {
    print_json(report, out);
  } else {
    print_table(report, /*carried_out=*/false, out);
  }
  return report_exit_code(report);
}

int run_run_command(const RecoveryCommand& command, std::ostream& out, std::ostream& err) {
  if (command.dry_run) {
    Result<Workspace> workspace = open_read_only(command);
    if (!workspace.ok()) return fail(workspace.status(), err);
    out << "dry run: nothing is changed\n";
    RecoveryReport plan = workspace->recoverer()->scan();
    print_table(plan, /*carried_out=*/false, out);
    // As `run` would: something in doubt is not a success.
    return report_exit_code(plan);
  }
  Result<Workspace> workspace = open_for_action(command, err);
  if (!workspace.ok()) return fail(workspace.status(), err);
  RecoveryReport report = workspace->recoverer()->run();
  print_table(report, /*carried_out=*/true, out);
  return report_exit_code(report);
}

int run_operator_command(const std::string& verb, const RecoveryCommand& command, std::ostream& out,
                         std::ostream& err) {
  Result<Xid> xid = Xid::parse(command.xid);
  if (!xid.ok()) return fail(xid.status(), err);
  if (!command.yes) {
    err << "xatm-recover " << verb << ": an operator decision; add --yes to confirm it for "
        << xid->to_string() << "\n";
    return kExitUsage;
  }
  Result<Workspace> workspace = open_for_action(command, err);
  if (!workspace.ok()) return fail(workspace.status(), err);
  std::unique_ptr<Recoverer> recoverer = workspace->recoverer();
  if (verb == "forget") {
    Result<RecoveryReport> forgotten = recoverer->forget(*xid);
    if (!forgotten.ok()) return fail(forgotten.status(), err);
    for (const InDoubtBranch& b : forgotten->branches) {
      out << "forgot: data source '" << b.data_source << "', branch " << b.xid.to_string() << ": "
          << b.reason << "\n";
    }
    return kExitOk;
  }
  Result<RecoveryReport> report = verb == "commit" ? recoverer->commit(*xid) : recoverer->rollback(*xid);
  if (!report.ok()) return fail(report.status(), err);
  print_table(*report, /*carried_out=*/true, out);
  return report_exit_code(*report);
}

}  // namespace xatm::tools
