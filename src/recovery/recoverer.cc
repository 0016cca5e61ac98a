#include "xatm/recovery.h"

#include <algorithm>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "heuristics.h"
#include "testing_hooks.h"
#include "xatm/driver/decision_table.h"
#include "xatm/driver/logging.h"

namespace xatm {

// What one pass learned: a session per reachable data source, this node's prepared XIDs on
// each, and what the log said after the data sources were asked.
struct Recoverer::Scan {
  std::map<std::string, std::unique_ptr<XaConnection>> sessions;
  std::set<std::string> unreachable;
  // Data sources holding an XID of xatm's formatID that does not decode, or listing a branch of
  // this node that they cannot finish: it may be one of this node's, so no decision naming such
  // a data source is closed.
  std::set<std::string> undecodable;
  std::vector<CommitRecord> decisions;
  // The log's health when `decisions` was read: a log that failed and came back since (the
  // PostgreSQL log heals) may have read a decision again that the list above lacks.
  Status log_health;
  std::chrono::system_clock::time_point log_birth;
  std::uint64_t sequence_limit = 0;
  // The node's rows in each data source's decision table (logging last resource), read before
  // the data sources were asked for their prepared XIDs: a 'C' row is written only after every
  // other branch of its transaction is prepared, so a row read here whose transaction has no
  // branch listed afterwards is finished.
  struct Table {
    std::string data_source;
    DecisionTable* table = nullptr;
    DecisionTableContents contents;
  };
  std::vector<Table> tables;
  std::vector<std::string> unreadable_tables;  // why a table could not be read

  const CommitRecord* decision_for(const Xid& xid) const {
    for (const CommitRecord& decision : decisions) {
      if (decision.global.same_global(xid)) return &decision;
    }
    return nullptr;
  }

  // True when every decision table of the node was read and holds a fence ('A') for the
  // transaction of `xid`: wherever its decision branch was, it can no longer commit.
  bool fenced_everywhere(const Xid& xid) const {
    if (tables.empty() || !unreadable_tables.empty()) return false;
    return std::all_of(tables.begin(), tables.end(), [&](const Table& table) {
      return std::any_of(table.contents.rows.begin(), table.contents.rows.end(), [&](const DecisionRow& row) {
        return row.outcome == 'A' && row.global.same_global(xid);
      });
    });
  }

  // The table that holds `outcome` ('C' or 'A') for the transaction of `xid`, or null.
  const Table* table_with(const Xid& xid, char outcome) const {
    for (const Table& table : tables) {
      for (const DecisionRow& row : table.contents.rows) {
        if (row.outcome == outcome && row.global.same_global(xid)) return &table;
      }
    }
    return nullptr;
  }
};

namespace {

std::string describe(const InDoubtBranch& branch) {
  return "data source '" + branch.data_source + "', branch " + branch.xid.to_string();
}

// A prepared XID found on `data_source`, if recovery must look at it: one of this node's, or
// one of xatm's formatID that does not decode (whose node cannot be told).
std::optional<InDoubtBranch> in_doubt_branch(const std::string& data_source, const Xid& xid,
                                             const std::string& node_name) {
  if (xid.format_id() != kXatmFormatId) return std::nullopt;
  Result<GtridInfo> info = decode_gtrid(xid);
  if (info.ok() && info->node_name != node_name) return std::nullopt;
  InDoubtBranch branch{data_source, xid};
  if (!info.ok()) {
    // Written by another TM or a switch that encodes XIDs differently (hex text, say): its
    // decision cannot be looked up, and presuming abort could undo a commit.
    branch.needs_operator = true;
    branch.reason = "an XID of xatm's formatID that this version cannot decode (" +
                    info.status().message() +
                    "); find out which TM created it and decide with `xatm-recover commit|rollback`";
  }
  return branch;
}

// Whether every data source a decision row names among its waiting branches was asked in this
// pass: one that was not (left out of the configuration, say) may still hold a prepared branch
// that only this row can commit. Branches that cannot be read count as not asked.
bool all_named_were_asked(const std::string& branches,
                          const std::map<std::string, std::unique_ptr<XaConnection>>& sessions) {
  Result<std::vector<DecisionBranch>> named = parse_branches(branches);
  return named.ok() && std::all_of(named->begin(), named->end(), [&](const DecisionBranch& branch) {
           return sessions.count(branch.data_source) > 0;
         });
}

// A heuristic that agrees with a commit decision needs no operator.
bool unresolved_heuristic(const HeuristicRecord& record, const Xid& global) {
  return record.branch.xid.same_global(global) && record.xa_code != XA_HEURCOM;
}

// Records a heuristic answer; one that agrees with the action is forgotten on the RM at once.
void record_heuristic(DecisionLog& log, XaConnection& session, InDoubtBranch& branch,
                      int code, bool agrees) {
  internal::record_heuristic(log, branch.data_source, branch.xid, code, "recovery");
  if (!agrees) return;
  internal::forget_heuristic(session, branch.data_source, branch.xid, code, "recovery");
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

// How long past its transaction's deadline a fence row is kept (see erase_finished_rows).
constexpr std::chrono::hours kFenceLifetime{24};

std::string time_text(std::chrono::system_clock::time_point time) {
  return std::to_string(
             std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count()) +
         " ms since the epoch";
}

}  // namespace

Status validate_recovery_options(const RecoveryOptions& options) {
  XATM_RETURN_IF_ERROR(validate_node_name(options.node_name).with_context("RecoveryOptions::node_name"));
  if (options.grace < kMinRecoveryGrace || options.grace > kMaxRecoveryGrace) {
    return invalid_argument_error(
        "RecoveryOptions::grace of " + std::to_string(options.grace.count()) +
        " ms is outside " + std::to_string(kMinRecoveryGrace.count()) + ".." +
        std::to_string(kMaxRecoveryGrace.count()) +
        " ms: a shorter one could roll back a transaction whose COMMIT is on its way to the log");
  }
  return Status();
}

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

Result<std::vector<InDoubtBranch>> find_prepared_branches(const std::vector<Resource*>& resources,
                                                          const std::string& node_name) {
  std::vector<InDoubtBranch> found;
  for (Resource* resource : resources) {
    const std::string& name = resource->name();
    Result<std::unique_ptr<XaConnection>> session = resource->connect();
    if (!session.ok()) return session.status().with_context("data source '" + name + "'");
    XaConnection::Recovered recovered = (*session)->recover();
    if (!recovered.reply.ok()) {
      return unavailable_error("data source '" + name + "': xa_recover answered " +
                               xa_code_name(recovered.reply.code) + " " + recovered.reply.detail);
    }
    for (const Xid& xid : recovered.xids) {
      if (auto branch = in_doubt_branch(name, xid, node_name)) found.push_back(std::move(*branch));
    }
  }
  return found;
}

Recoverer::Recoverer(DecisionLog& log, std::vector<Resource*> resources, RecoveryOptions options)
    : log_(log), resources_(std::move(resources)), options_(std::move(options)),
      options_status_(validate_recovery_options(options_)) {}

std::chrono::system_clock::time_point Recoverer::now() const {
  return options_.clock ? options_.clock() : std::chrono::system_clock::now();
}

Recoverer::Scan Recoverer::collect(RecoveryReport& report) {
  Scan scan;
  for (Resource* resource : resources_) {
    DecisionTable* table = resource->decision_table();
    if (table == nullptr) continue;
    Result<DecisionTableContents> contents = table->read(options_.node_name);
    if (!contents.ok()) {
      const std::string problem = "decision table " + table->name() + " of data source '" +
                                  resource->name() + "': " + contents.status().to_string();
      scan.unreadable_tables.push_back(problem);
      report.problems.push_back(problem);
      continue;
    }
    scan.tables.push_back({resource->name(), table, std::move(*contents)});
  }
  // Branches a data source lists but cannot finish (another database of the same server,
  // another owner, a form that does not decode), judged once every data source was asked.
  std::vector<std::pair<std::string, XaConnection::Unusable>> unusable;
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
      std::optional<InDoubtBranch> branch = in_doubt_branch(name, xid, options_.node_name);
      if (!branch) continue;
      if (branch->needs_operator) scan.undecodable.insert(name);
      report.branches.push_back(std::move(*branch));
    }
    for (XaConnection::Unusable& entry : recovered.unusable) {
      if (entry.format_id == kXatmFormatId) unusable.emplace_back(name, std::move(entry));
    }
    scan.sessions.emplace(name, std::move(*session));
  }
  // One of this node's branches that only another configured data source can finish is that
  // data source's; any other may be this one's (its conninfo names the wrong database, say),
  // so "no branch left here" cannot be concluded: no decision naming it is closed.
  for (const auto& item : unusable) {
    const std::string& name = item.first;
    const XaConnection::Unusable& entry = item.second;  // a name, not a binding: lambdas take it
    if (entry.xid) {
      if (!in_doubt_branch(name, *entry.xid, options_.node_name)) continue;  // another node's
      const bool listed = std::any_of(report.branches.begin(), report.branches.end(),
                                      [&](const InDoubtBranch& b) { return b.xid == *entry.xid; });
      if (listed) continue;
    }
    scan.undecodable.insert(name);
    report.problems.push_back("data source '" + name + "': prepared transaction '" + entry.text +
                              "' may be one of this node's but cannot be finished here (" + entry.why +
                              "); no decision naming '" + name + "' is closed until it is gone: check "
                              "the data source's settings, or finish it by hand");
  }
  // Read after asking the data sources: a decision appended before a branch was listed is seen.
  scan.log_health = log_.health();
  scan.decisions = log_.open_decisions();
  scan.log_birth = log_.birth();
  scan.sequence_limit = log_.sequence_limit();
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
  if (!options_status_.ok()) report.problems.push_back("recovery options: " + options_status_.message());
  return scan;
}

// Why a branch without a decision must be left for an operator, or "" when recovery may judge
// it by the rules of presumed abort.
std::string Recoverer::unprovable_abort(const Scan& scan, const GtridInfo& info) const {
  for (const Scan::Table& table : scan.tables) {
    const auto& born = table.contents.born;
    if (born && info.created >= *born) continue;
    return "created (" + time_text(info.created) + ") before this node first used decision table " +
           table.table->name() + " of data source '" + table.data_source + "' (" +
           (born ? time_text(*born) : std::string("never")) +
           "): its decision may be in another table. Check the data source's decision_table; then "
           "decide with `xatm-recover commit|rollback`";
  }
  if (info.created < scan.log_birth) {
    return "created (" + time_text(info.created) + ") before this decision log was born (" +
           time_text(scan.log_birth) +
           "): its decision may be in another log. Check that log_dir is the directory this node "
           "always used (not a new, empty or unmounted one); then decide with `xatm-recover "
           "commit|rollback`";
  }
  if (info.sequence >= scan.sequence_limit) {
    return "sequence number " + std::to_string(info.sequence) +
           " was never issued under this decision log (its limit is " +
           std::to_string(scan.sequence_limit) +
           "): another TM with this node name, or another log directory, created it; find it, "
           "then decide with `xatm-recover commit|rollback`";
  }
  return "";
}

void Recoverer::plan(Scan& scan, RecoveryReport& report) {
  const auto now = this->now();
  // Unhealthy when the decisions were read, or now: either way the list may lack a durable COMMIT.
  const Status log_health = scan.log_health.ok() ? log_.health() : scan.log_health;
  for (InDoubtBranch& branch : report.branches) {
    using Action = InDoubtBranch::Action;
    if (branch.needs_operator) continue;  // undecodable: its reason is set
    const Scan::Table* committed_in = scan.table_with(branch.xid, 'C');
    branch.has_decision = scan.decision_for(branch.xid) != nullptr || committed_in != nullptr;
    GtridInfo info = decode_gtrid(branch.xid).value();  // in_doubt_branch() checked it
    if (options_.in_flight && options_.in_flight(branch.xid.global())) {
      // Even with a decision: the live phase 2 is committing it on the preparing session, and a
      // second committer would make that one read XAER_NOTA as a heuristic hazard.
      branch.reason = "in flight in this process";
    } else if (branch.has_decision) {
      branch.action = Action::kCommit;
      branch.reason = committed_in == nullptr
                          ? "COMMIT decision in the log"
                          : "COMMIT decision in decision table " + committed_in->table->name() +
                                " of data source '" + committed_in->data_source + "'";
    } else if (!log_health.ok()) {
      branch.reason = "the decision log is unhealthy, a COMMIT may be on disk: " + log_health.to_string();
    } else if (!scan.unreadable_tables.empty()) {
      branch.reason = "a COMMIT may be in a decision table that cannot be read: " +
                      scan.unreadable_tables.front();
    } else if (scan.fenced_everywhere(branch.xid)) {
      branch.action = Action::kRollback;
      branch.reason = "fenced earlier in every decision table of the node: no commit can land";
    } else if (!options_status_.ok()) {
      branch.reason = "invalid recovery options: " + options_status_.message();
    } else if (std::string why = unprovable_abort(scan, info); !why.empty()) {
      branch.needs_operator = true;
      branch.reason = "no decision in this log, but " + why;
    } else if (info.sequence < options_.owner_down_below_sequence) {
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
    XATM_CRASH_POINT(kCrashRecoveryResolved);
    XATM_LOG(info) << "recovery: " << in_doubt_action_name(branch.action) << " " << describe(branch)
                   << " (" << branch.reason << "): " << xa_code_name(branch.result);
  }
}

// A decision is finished when every data source it names was asked, none of them still lists a
// branch of it or an XID it cannot decode, and no heuristic of it waits for the operator.
void Recoverer::close_finished_decisions(const Scan& scan, RecoveryReport& report) {
  for (const CommitRecord& decision : scan.decisions) {
    bool finished = std::none_of(report.branches.begin(), report.branches.end(), [&](const auto& b) {
      return b.xid.same_global(decision.global) && !b.resolved;
    });
    for (const DecisionBranch& branch : decision.branches) {
      finished = finished && scan.sessions.count(branch.data_source) > 0 &&
                 scan.undecodable.count(branch.data_source) == 0;
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
  fence_presumed_aborts(scan, report);
  execute(scan, report);
  close_finished_decisions(scan, report);
  erase_finished_rows(scan, report);
  return report;
}

void Recoverer::fence_presumed_aborts(Scan& scan, RecoveryReport& report) {
  if (scan.tables.empty()) return;
  std::map<Xid, std::string> settled;  // transaction -> "" (fenced) or why it commits / stays
  for (const InDoubtBranch& branch : report.branches) {
    if (branch.action != InDoubtBranch::Action::kRollback || settled.count(branch.xid.global())) continue;
    std::string verdict;
    for (const Scan::Table& table : scan.tables) {
      Result<char> fenced = table.table->fence(branch.xid.global(), options_.node_name);
      const std::string where = "decision table " + table.table->name() + " of data source '" +
                                table.data_source + "'";
      if (!fenced.ok()) {
        verdict = "leave:the fence in " + where + " failed, a commit may still land there: " +
                  fenced.status().to_string();
        break;
      }
      if (*fenced == 'C') {
        verdict = "commit:COMMIT decision in " + where + " (found by the fence)";
        break;
      }
    }
    settled.emplace(branch.xid.global(), verdict);
  }
  for (InDoubtBranch& branch : report.branches) {
    auto it = settled.find(branch.xid.global());
    if (it == settled.end() || it->second.empty()) continue;
    const bool commit = it->second.starts_with("commit:");
    branch.action = commit ? InDoubtBranch::Action::kCommit : InDoubtBranch::Action::kLeave;
    branch.has_decision = commit;
    branch.reason = it->second.substr(it->second.find(':') + 1);
  }
}

void Recoverer::erase_finished_rows(const Scan& scan, const RecoveryReport& report) {
  // A transaction is finished everywhere when every data source was asked, none holds an XID
  // it cannot decode, and no branch of it is left.
  if (!scan.unreachable.empty() || !scan.undecodable.empty()) return;
  const auto now = this->now();
  for (const Scan::Table& table : scan.tables) {
    std::vector<Xid> finished;
    for (const DecisionRow& row : table.contents.rows) {
      const bool left = std::any_of(report.branches.begin(), report.branches.end(), [&](const auto& b) {
        return b.xid.same_global(row.global) && !b.resolved;
      });
      if (left) continue;
      if (row.outcome == 'C' && !all_named_were_asked(row.branches, scan.sessions)) continue;
      if (row.outcome == 'A') {
        // A fence must outlive any commit that could still be on its way to the table.
        Result<GtridInfo> info = decode_gtrid(row.global);
        if (!info.ok() || now < info->deadline() + kFenceLifetime) continue;
      }
      finished.push_back(row.global);
    }
    Status erased = table.table->erase(finished);
    if (!erased.ok()) XATM_LOG(warning) << "recovery: " << erased.to_string();
  }
}

Result<RecoveryReport> Recoverer::commit(const Xid& xid) { return resolve_by_operator(xid, true); }

Result<RecoveryReport> Recoverer::rollback(const Xid& xid) {
  return resolve_by_operator(xid, false);
}

// What the decision tables say against an operator's decision: a COMMIT there forbids a
// rollback, a fence there forbids a commit (its decision branch, or the rest of the transaction,
// was rolled back). A rollback first fences every table, so that no commit can land later.
Status Recoverer::check_decision_tables(Scan& scan, const Xid& xid, bool commit) {
  if (!scan.unreadable_tables.empty()) {
    return unavailable_error("cannot tell what the decision tables say: " + scan.unreadable_tables.front());
  }
  auto where = [](const Scan::Table& table) {
    return "decision table " + table.table->name() + " of data source '" + table.data_source + "'";
  };
  if (commit) {
    const Scan::Table* fenced = scan.table_with(xid, 'A');
    if (fenced == nullptr) return Status();
    return failed_precondition_error(
        where(*fenced) + " holds a fence for " + xid.global().to_string() +
        ": the transaction was rolled back there (or presumed aborted); committing the rest would "
        "split it");
  }
  for (const Scan::Table& table : scan.tables) {
    Result<char> fenced = table.table->fence(xid.global(), options_.node_name);
    if (!fenced.ok()) return fenced.status().with_context("rollback: fence in " + where(table));
    if (*fenced == 'C') {
      return failed_precondition_error("a COMMIT decision for " + xid.global().to_string() + " is in " +
                                       where(table) + ": its branches must be committed, not rolled back");
    }
  }
  return Status();
}

// An operator rollback is refused while the transaction might still commit: a live TM could
// log its COMMIT after the rollback, and the branches would end apart.
Status Recoverer::check_not_in_flight(const InDoubtBranch& branch) const {
  if (options_.in_flight && options_.in_flight(branch.xid.global())) {
    return failed_precondition_error(describe(branch) + " is in flight in this process");
  }
  Result<GtridInfo> info = decode_gtrid(branch.xid);
  if (!info.ok()) return Status();  // not one of ours that can be judged: the operator decides
  if (info->sequence < options_.owner_down_below_sequence) return Status();
  const auto until = info->deadline() + std::max(options_.grace, kMinRecoveryGrace);
  if (now() > until) return Status();
  return failed_precondition_error(
      describe(branch) + " may still be in flight: its TM is not provably down (the log lock is "
      "held by a live TM) and its deadline plus the grace ends at " + time_text(until) +
      "; stop the application or wait until then");
}

Result<RecoveryReport> Recoverer::resolve_by_operator(const Xid& xid, bool commit) {
  RecoveryReport report;
  Scan scan = collect(report);
  const bool whole = xid.bqual().empty();
  // The transaction's branches that the operator did not name (they named one branch): they
  // keep its decision open until they are finished too.
  std::vector<InDoubtBranch> unnamed;
  for (const InDoubtBranch& b : report.branches) {
    if (whole || !b.xid.same_global(xid) || b.xid == xid) continue;
    unnamed.push_back(b);
    unnamed.back().action = InDoubtBranch::Action::kLeave;
    unnamed.back().reason = "another branch of the transaction was named";
  }
  std::erase_if(report.branches, [&](const InDoubtBranch& b) {
    return whole ? !b.xid.same_global(xid) : b.xid != xid;
  });
  if (report.branches.empty()) {
    Result<GtridInfo> info = decode_gtrid(xid);
    if (info.ok() && info->node_name != options_.node_name) {
      return invalid_argument_error(xid.to_string() + " is a transaction of node '" + info->node_name +
                                    "', not of this node '" + options_.node_name +
                                    "': decide it with that node's configuration (its node name and log)");
    }
    if (!scan.unreachable.empty()) {
      // Not "nothing to do": the branch may be on the data source that did not answer.
      std::string names;
      for (const std::string& name : scan.unreachable) names += (names.empty() ? "'" : ", '") + name + "'";
      return unavailable_error("no prepared branch of " + xid.to_string() +
                               " on the reachable data sources; unreachable: " + names);
    }
    return not_found_error("no prepared branch of " + xid.to_string() + " on any data source");
  }
  const CommitRecord* decision = scan.decision_for(xid);
  if (!commit && decision != nullptr) {
    return failed_precondition_error("a COMMIT decision for " + decision->global.to_string() +
                                     " is in the log: its branches must be committed, not rolled back");
  }
  if (!commit) {
    for (const InDoubtBranch& branch : report.branches) XATM_RETURN_IF_ERROR(check_not_in_flight(branch));
  }
  XATM_RETURN_IF_ERROR(check_decision_tables(scan, xid, commit));
  const bool decided_in_table = scan.table_with(xid, 'C') != nullptr;
  if (commit && decision == nullptr && !decided_in_table) {
    // Durable first: without it, presumed abort could roll back the rest of the transaction.
    // The decision is the whole transaction's, and stays open until every configured data
    // source was asked and holds no branch of it: a data source where no branch was found (it
    // may be unreachable now, or the operator named one branch) is named with the global XID.
    CommitRecord record{xid.global(), {}};
    for (const InDoubtBranch& b : report.branches) record.branches.push_back({b.data_source, b.xid});
    for (const Resource* resource : resources_) {
      const bool named = std::any_of(record.branches.begin(), record.branches.end(),
                                     [&](const DecisionBranch& b) { return b.data_source == resource->name(); });
      if (!named) record.branches.push_back({resource->name(), xid.global()});
    }
    XATM_RETURN_IF_ERROR(log_.log_commit(record).with_context("operator commit"));
    scan.decisions.push_back(record);
  }
  for (InDoubtBranch& branch : report.branches) {
    branch.has_decision = commit;
    branch.action = commit ? InDoubtBranch::Action::kCommit : InDoubtBranch::Action::kRollback;
    branch.reason = "operator decision";
    branch.needs_operator = false;
  }
  execute(scan, report);
  // Only this transaction's decision may be closed here, and only its heuristics reported.
  std::erase_if(scan.decisions, [&](const CommitRecord& d) { return !d.global.same_global(xid); });
  report.branches.insert(report.branches.end(), unnamed.begin(), unnamed.end());
  close_finished_decisions(scan, report);
  std::erase_if(report.heuristics, [&](const HeuristicRecord& h) { return !h.branch.xid.same_global(xid); });
  return report;
}

Result<RecoveryReport> Recoverer::forget(const Xid& xid) {
  const bool whole = xid.bqual().empty();
  std::vector<HeuristicRecord> named;
  for (HeuristicRecord& record : log_.open_heuristics()) {
    const bool matches = whole ? record.branch.xid.same_global(xid) : record.branch.xid == xid;
    if (matches) named.push_back(std::move(record));
  }
  if (named.empty()) {
    return not_found_error("the log holds no open heuristic outcome of " + xid.to_string() +
                           ": nothing to forget (a branch in doubt is resolved with `commit` or "
                           "`rollback`, not `forget`)");
  }
  RecoveryReport report;
  for (const HeuristicRecord& record : named) {
    auto resource = std::find_if(resources_.begin(), resources_.end(), [&](Resource* r) {
      return r->name() == record.branch.data_source;
    });
    if (resource == resources_.end()) {
      return failed_precondition_error("data source '" + record.branch.data_source + "' of " +
                                       record.branch.xid.to_string() + " is not configured");
    }
    Result<std::unique_ptr<XaConnection>> session = (*resource)->connect();
    if (!session.ok()) {
      return session.status().with_context("forget: data source '" + record.branch.data_source + "'");
    }
    XaReply reply = (*session)->forget(record.branch.xid);
    // XAER_NOTA: the RM keeps no record of it (neither MariaDB nor PostgreSQL ever does).
    if (!reply.ok() && reply.code != XAER_NOTA) {
      return unavailable_error("forget: xa_forget of " + record.branch.xid.to_string() + " on '" +
                               record.branch.data_source + "' answered " +
                               xa_code_name(reply.code) + "; nothing was closed");
    }
    XATM_RETURN_IF_ERROR(log_.log_forget(record.branch).with_context("forget"));
    XATM_LOG(info) << "recovery: forgot the heuristic outcome " << xa_code_name(record.xa_code)
                   << " of data source '" << record.branch.data_source << "', branch "
                   << record.branch.xid.to_string();
    InDoubtBranch forgotten{record.branch.data_source, record.branch.xid};
    forgotten.result = reply.code;
    forgotten.resolved = true;
    forgotten.reason = "heuristic outcome " + xa_code_name(record.xa_code) + " forgotten";
    report.branches.push_back(std::move(forgotten));
  }
  report.heuristics = log_.open_heuristics();
  return report;
}

}  // namespace xatm
