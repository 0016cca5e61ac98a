#include "xatm/recovery.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "crash_points.h"
#include "logging.h"

namespace xatm {

// What one pass learned: a session per reachable data source, this node's prepared XIDs on
// each, and the decisions read after the data sources were asked.
struct Recoverer::Scan {
  std::map<std::string, std::unique_ptr<XaConnection>> sessions;
  std::set<std::string> unreachable;
  std::vector<CommitRecord> decisions;

  const CommitRecord* decision_for(const Xid& xid) const {
    for (const CommitRecord& decision : decisions) {
      if (decision.global.same_global(xid)) return &decision;
    }
    return nullptr;
  }
};

namespace {

bool is_rollback_code(int code) { return code >= XA_RBBASE && code <= XA_RBEND; }

std::string describe(const InDoubtBranch& branch) {
  return "data source '" + branch.data_source + "', branch " + branch.xid.to_string();
}

bool ours(const Xid& xid, const std::string& node_name) {
  if (xid.format_id() != kXatmFormatId) return false;
  Result<GtridInfo> info = decode_gtrid(xid);
  return info.ok() && info->node_name == node_name;
}

// A heuristic that agrees with a commit decision needs no operator.
bool unresolved_heuristic(const HeuristicRecord& record, const Xid& global) {
  return record.branch.xid.same_global(global) && record.xa_code != XA_HEURCOM;
}

// Records a heuristic answer; one that agrees with the action is forgotten on the RM at once.
void record_heuristic(DecisionLog& log, XaConnection& session, InDoubtBranch& branch,
                      int code, bool agrees) {
  XATM_LOG(error) << "recovery: heuristic outcome " << xa_code_name(code) << " on "
                  << describe(branch);
  Status logged = log.log_heuristic({{branch.data_source, branch.xid}, code});
  if (!logged.ok()) XATM_LOG(error) << "recovery: " << logged.to_string();
  if (!agrees) return;
  XaReply forgot = session.forget(branch.xid);
  if (!forgot.ok() && forgot.code != XAER_NOTA) {
    XATM_LOG(warning) << "recovery: xa_forget of " << describe(branch) << ": "
                      << xa_code_name(forgot.code);
  }
  branch.resolved = true;
}

void carry_out(DecisionLog& log, XaConnection& session, InDoubtBranch& branch) {
  const bool commit = branch.action == InDoubtBranch::Action::kCommit;
  XaReply reply = commit ? session.commit(branch.xid, /*one_phase=*/false)
                         : session.rollback(branch.xid);
  branch.result = reply.code;
  const int agreeing = commit ? XA_HEURCOM : XA_HEURRB;
  if (reply.code == XA_OK || reply.code == XAER_NOTA || (!commit && is_rollback_code(reply.code))) {
    // XAER_NOTA right after the branch was listed: another session finished it meanwhile.
    branch.resolved = true;
  } else if (reply.code == agreeing) {
    record_heuristic(log, session, branch, reply.code, /*agrees=*/true);
  } else if (reply.is_heuristic() || (commit && (reply.code == XAER_RMERR || is_rollback_code(reply.code)))) {
    record_heuristic(log, session, branch, reply.is_heuristic() ? reply.code : XA_HEURRB, false);
  } else {
    XATM_LOG(warning) << "recovery: " << (commit ? "commit" : "rollback") << " of "
                      << describe(branch) << " answered " << xa_code_name(reply.code)
                      << (reply.detail.empty() ? "" : " (" + reply.detail + ")")
                      << "; will retry";
  }
}

}  // namespace

bool RecoveryReport::needs_attention() const {
  if (!problems.empty() || decisions_open > 0) return true;
  for (const HeuristicRecord& record : heuristics) {
    if (record.xa_code != XA_HEURCOM) return true;
  }
  return std::any_of(branches.begin(), branches.end(),
                     [](const InDoubtBranch& branch) { return !branch.resolved; });
}

std::string_view in_doubt_action_name(InDoubtBranch::Action action) {
  switch (action) {
    case InDoubtBranch::Action::kCommit: return "commit";
    case InDoubtBranch::Action::kRollback: return "rollback";
    case InDoubtBranch::Action::kLeave: return "leave";
  }
  return "?";
}

Recoverer::Recoverer(DecisionLog& log, std::vector<Resource*> resources, RecoveryOptions options)
    : log_(log), resources_(std::move(resources)), options_(std::move(options)) {}

Recoverer::Scan Recoverer::collect(RecoveryReport& report) {
  Scan scan;
  for (Resource* resource : resources_) {
    const std::string& name = resource->name();
    Result<std::unique_ptr<XaConnection>> session = resource->connect();
    if (!session.ok()) {
      scan.unreachable.insert(name);
      report.problems.push_back("data source '" + name + "': " + session.status().to_string());
      continue;
    }
    XaConnection::Recovered recovered = (*session)->recover();
    if (!recovered.reply.ok()) {
      scan.unreachable.insert(name);
      report.problems.push_back("data source '" + name + "': xa_recover answered " +
                                xa_code_name(recovered.reply.code) + " " + recovered.reply.detail);
      continue;
    }
    for (const Xid& xid : recovered.xids) {
      if (ours(xid, options_.node_name)) report.branches.push_back({name, xid});
    }
    scan.sessions.emplace(name, std::move(*session));
  }
  // Read after asking the data sources: a decision appended before a branch was listed is seen.
  scan.decisions = log_.open_decisions();
  report.heuristics = log_.open_heuristics();
  for (const CommitRecord& decision : scan.decisions) {
    for (const DecisionBranch& branch : decision.branches) {
      const bool configured = std::any_of(resources_.begin(), resources_.end(),
                                          [&](Resource* r) { return r->name() == branch.data_source; });
      if (!configured) {
        report.problems.push_back("data source '" + branch.data_source + "' of decision " +
                                  decision.global.to_string() + " is not configured");
      }
    }
  }
  return scan;
}

void Recoverer::plan(Scan& scan, RecoveryReport& report) {
  const auto now = std::chrono::system_clock::now();
  const Status log_health = log_.health();
  for (InDoubtBranch& branch : report.branches) {
    using Action = InDoubtBranch::Action;
    branch.has_decision = scan.decision_for(branch.xid) != nullptr;
    GtridInfo info = decode_gtrid(branch.xid).value();  // ours() checked it
    if (options_.in_flight && options_.in_flight(branch.xid.global())) {
      // Even with a decision: the live phase 2 is committing it on the preparing session, and a
      // second committer would make that one read XAER_NOTA as a heuristic hazard.
      branch.reason = "in flight in this process";
    } else if (branch.has_decision) {
      branch.action = Action::kCommit;
      branch.reason = "COMMIT decision in the log";
    } else if (!log_health.ok()) {
      branch.reason = "the decision log is unhealthy, a COMMIT may be on disk: " + log_health.to_string();
    } else if (info.created < options_.owner_down_before) {
      branch.action = Action::kRollback;
      branch.reason = "no decision; the TM that began it is down";
    } else if (now > info.deadline() + options_.grace) {
      branch.action = Action::kRollback;
      branch.reason = "no decision; its deadline passed";
    } else {
      branch.reason = "no decision yet and its deadline has not passed: it may be in flight";
    }
  }
}

void Recoverer::execute(Scan& scan, RecoveryReport& report) {
  for (InDoubtBranch& branch : report.branches) {
    if (branch.action == InDoubtBranch::Action::kLeave) continue;
    std::unique_ptr<XaConnection>& session = scan.sessions.at(branch.data_source);
    if (session == nullptr || !session->usable()) {
      branch.result = XAER_RMFAIL;  // lost during this pass: the next pass tries again
      continue;
    }
    carry_out(log_, *session, branch);
    internal::crash_point(internal::kCrashRecoveryResolved);
    XATM_LOG(info) << "recovery: " << in_doubt_action_name(branch.action) << " " << describe(branch)
                   << " (" << branch.reason << "): " << xa_code_name(branch.result);
  }
}

// A decision is finished when every data source it names was asked, none of them still lists a
// branch of it, and no heuristic of it waits for the operator.
void Recoverer::close_finished_decisions(const Scan& scan, RecoveryReport& report) {
  for (const CommitRecord& decision : scan.decisions) {
    bool finished = std::none_of(report.branches.begin(), report.branches.end(), [&](const auto& b) {
      return b.xid.same_global(decision.global) && !b.resolved;
    });
    for (const DecisionBranch& branch : decision.branches) {
      finished = finished && scan.sessions.count(branch.data_source) > 0;
    }
    for (const HeuristicRecord& record : report.heuristics) {
      finished = finished && !unresolved_heuristic(record, decision.global);
    }
    if (finished && log_.log_done(decision.global).ok()) {
      ++report.decisions_done;
    } else {
      ++report.decisions_open;
    }
  }
  report.heuristics = log_.open_heuristics();
}

RecoveryReport Recoverer::scan() {
  RecoveryReport report;
  Scan scan = collect(report);
  plan(scan, report);
  report.decisions_open = scan.decisions.size();
  return report;
}

RecoveryReport Recoverer::run() {
  RecoveryReport report;
  Scan scan = collect(report);
  plan(scan, report);
  execute(scan, report);
  close_finished_decisions(scan, report);
  return report;
}

Result<RecoveryReport> Recoverer::commit(const Xid& xid) { return resolve_by_operator(xid, true); }

Result<RecoveryReport> Recoverer::rollback(const Xid& xid) {
  return resolve_by_operator(xid, false);
}

Result<RecoveryReport> Recoverer::resolve_by_operator(const Xid& xid, bool commit) {
  RecoveryReport report;
  Scan scan = collect(report);
  const bool whole = xid.bqual().empty();
  std::erase_if(report.branches, [&](const InDoubtBranch& b) {
    return whole ? !b.xid.same_global(xid) : b.xid != xid;
  });
  if (report.branches.empty()) {
    return not_found_error("no prepared branch of " + xid.to_string() + " on a reachable data source" +
                           (scan.unreachable.empty() ? "" : " (some data sources are unreachable)"));
  }
  const CommitRecord* decision = scan.decision_for(xid);
  if (!commit && decision != nullptr) {
    return failed_precondition_error("a COMMIT decision for " + decision->global.to_string() +
                                     " is in the log: its branches must be committed, not rolled back");
  }
  if (commit && decision == nullptr) {
    // Durable first: without it, presumed abort could roll back the rest of the transaction.
    CommitRecord record{xid.global(), {}};
    for (const InDoubtBranch& b : report.branches) record.branches.push_back({b.data_source, b.xid});
    XATM_RETURN_IF_ERROR(log_.log_commit(record).with_context("operator commit"));
    scan.decisions.push_back(record);
  }
  for (InDoubtBranch& branch : report.branches) {
    branch.has_decision = commit;
    branch.action = commit ? InDoubtBranch::Action::kCommit : InDoubtBranch::Action::kRollback;
    branch.reason = "operator decision";
  }
  execute(scan, report);
  close_finished_decisions(scan, report);
  return report;
}

Result<RecoveryReport> Recoverer::forget(const Xid& xid) {
  RecoveryReport report;
  Scan scan = collect(report);
  for (auto& [name, session] : scan.sessions) {
    for (const InDoubtBranch& branch : report.branches) {
      if (branch.data_source != name || !branch.xid.same_global(xid)) continue;
      XaReply reply = session->forget(branch.xid);
      XATM_LOG(info) << "recovery: forget " << describe(branch) << ": " << xa_code_name(reply.code);
    }
  }
  RecoveryReport after = run();  // whatever is left of it is resolved as usual
  const bool still_listed = std::any_of(after.branches.begin(), after.branches.end(), [&](const auto& b) {
    return b.xid.same_global(xid) && !b.resolved;
  });
  if (!still_listed && scan.unreachable.empty()) {
    // Closes the global's heuristic records (and its decision, if one is open).
    XATM_RETURN_IF_ERROR(log_.log_done(xid.global()).with_context("forget"));
    after.heuristics = log_.open_heuristics();
  }
  return after;
}

}  // namespace xatm
