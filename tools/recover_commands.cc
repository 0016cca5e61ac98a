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
  bool lock_held = false;  // false only with --force beside a live TM

  std::unique_ptr<Recoverer> recoverer(std::chrono::seconds grace) {
    std::vector<Resource*> resources;
    for (auto& source : config.data_sources) resources.push_back(source.get());
    RecoveryOptions options{.node_name = config.node_name, .grace = grace};
    // Holding the lock proves that no TM of this node runs: all its XIDs are of dead incarnations.
    if (lock_held) options.owner_down_before = std::chrono::system_clock::now();
    return std::make_unique<Recoverer>(*log, std::move(resources), std::move(options));
  }
};

Result<Workspace> open_workspace(const RecoveryCommand& command, std::ostream& err) {
  Result<ToolConfig> config = load_tool_config(command.config_path);
  if (!config.ok()) return config.status();
  Workspace workspace{std::move(*config), nullptr, true};
  Result<std::unique_ptr<DecisionLog>> log =
      open_file_log({.dir = workspace.config.log_dir, .node_name = workspace.config.node_name});
  if (log.ok()) {
    workspace.log = std::move(*log);
    return workspace;
  }
  if (log.status().code() != StatusCode::kFailedPrecondition || !command.force) {
    if (log.status().code() == StatusCode::kFailedPrecondition) {
      return failed_precondition_error(log.status().message() +
                                       "; stop the application first (or use --force to act beside it, "
                                       "reading the log only)");
    }
    return log.status();
  }
  Result<std::unique_ptr<DecisionLog>> snapshot =
      open_log_snapshot(workspace.config.log_dir, workspace.config.node_name);
  if (!snapshot.ok()) return snapshot.status();
  err << "xatm-recover: warning: a live transaction manager holds " << workspace.config.log_dir
      << "; --force: the log is only read, nothing is presumed aborted before its deadline\n";
  workspace.log = std::move(*snapshot);
  workspace.lock_held = false;
  return workspace;
}

int fail(const Status& status, std::ostream& err) {
  err << "xatm-recover: " << status.to_string() << "\n";
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound: return kExitUsage;
    default: return kExitProblem;
  }
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
    out << ": " << b.reason << "\n";
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
                        {"action", std::string(in_doubt_action_name(b.action))}, {"reason", b.reason}});
  }
  for (const HeuristicRecord& h : report.heuristics) {
    heuristics.push_back({{"data_source", h.branch.data_source}, {"xid", h.branch.xid.to_string()},
                          {"code", xa_code_name(h.xa_code)}});
  }
  nlohmann::json root = {{"branches", branches}, {"heuristics", heuristics},
                         {"problems", report.problems}, {"decisions_open", report.decisions_open}};
  out << root.dump(2) << "\n";
}

}  // namespace

int run_list_command(const RecoveryCommand& command, std::ostream& out, std::ostream& err) {
  Result<Workspace> workspace = open_workspace(command, err);
  if (!workspace.ok()) return fail(workspace.status(), err);
  RecoveryReport report = workspace->recoverer(command.grace)->scan();
  if (command.json) {
    print_json(report, out);
  } else {
    print_table(report, /*carried_out=*/false, out);
  }
  return report.needs_attention() ? kExitProblem : kExitOk;
}

int run_run_command(const RecoveryCommand& command, std::ostream& out, std::ostream& err) {
  Result<Workspace> workspace = open_workspace(command, err);
  if (!workspace.ok()) return fail(workspace.status(), err);
  std::unique_ptr<Recoverer> recoverer = workspace->recoverer(command.grace);
  if (command.dry_run) {
    out << "dry run: nothing is changed\n";
    print_table(recoverer->scan(), /*carried_out=*/false, out);
    return kExitOk;
  }
  RecoveryReport report = recoverer->run();
  print_table(report, /*carried_out=*/true, out);
  return report.needs_attention() ? kExitProblem : kExitOk;
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
  Result<Workspace> workspace = open_workspace(command, err);
  if (!workspace.ok()) return fail(workspace.status(), err);
  std::unique_ptr<Recoverer> recoverer = workspace->recoverer(command.grace);
  Result<RecoveryReport> report = verb == "commit"     ? recoverer->commit(*xid)
                                  : verb == "rollback" ? recoverer->rollback(*xid)
                                                       : recoverer->forget(*xid);
  if (!report.ok()) return fail(report.status(), err);
  print_table(*report, /*carried_out=*/true, out);
  return report->needs_attention() ? kExitProblem : kExitOk;
}

}  // namespace xatm::tools
