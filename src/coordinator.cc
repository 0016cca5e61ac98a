#include "coordinator.h"

#include <algorithm>
#include <utility>

#include "crash_points.h"
#include "logging.h"

namespace xatm::internal {
namespace {

constexpr std::uint32_t kMaxBranches = 65536;  // the bqual holds a 16-bit index
constexpr std::chrono::milliseconds kMaxTimeout{0xFFFFFFFFLL};

std::string no_vote_reason(const TransactionState& tx) {
  for (const Branch& branch : tx.branches) {
    if (branch.state == BranchState::kPrepared || branch.read_only || branch.last_code == XA_OK) {
      continue;  // voted yes, or was never asked because another branch had voted no
    }
    std::string reason = "data source '" + *branch.data_source + "' voted no (" +
                         xa_code_name(branch.last_code);
    if (!branch.detail.empty()) reason += ": " + branch.detail;
    return reason + ")";
  }
  return "a branch voted no";
}

// The Outcome kind when the decision was `commit` (or rollback), from what every branch became.
Outcome::Kind classify(const TransactionState& tx, bool decided_commit) {
  bool hazard = false, mixed = false, against = false, with_decision = false;
  for (const Branch& branch : tx.branches) {
    if (branch.state == BranchState::kHeuristic) {
      hazard |= branch.heuristic_code == XA_HEURHAZ;
      mixed |= branch.heuristic_code == XA_HEURMIX;
      against |= branch.heuristic_code == (decided_commit ? XA_HEURRB : XA_HEURCOM);
    } else if (!branch.read_only) {
      with_decision |= branch.state == (decided_commit ? BranchState::kCommitted
                                                       : BranchState::kRolledBack);
    }
  }
  if (hazard) return Outcome::Kind::kHeuristicHazard;
  if (mixed || (against && with_decision)) return Outcome::Kind::kHeuristicMixed;
  if (against) {
    return decided_commit ? Outcome::Kind::kHeuristicRollback : Outcome::Kind::kHeuristicCommit;
  }
  return decided_commit ? Outcome::Kind::kCommitted : Outcome::Kind::kRolledBack;
}

bool all_confirmed(const TransactionState& tx) {
  for (const Branch& branch : tx.branches) {
    if (branch.state != BranchState::kCommitted) return false;
  }
  return true;
}

CommitRecord decision_of(const TransactionState& tx) {
  CommitRecord record{tx.global, {}};
  record.branches.reserve(tx.branches.size());
  for (const Branch& branch : tx.branches) {
    if (branch.state == BranchState::kPrepared) {
      record.branches.push_back({*branch.data_source, branch.xid});
    }
  }
  return record;
}

}  // namespace

Coordinator::Coordinator(Options options, std::unique_ptr<DecisionLog> log)
    : options_(std::move(options)),
      retry_{options_.phase2_retry_window, options_.phase2_retry_backoff,
             options_.phase2_retry_backoff_max},
      log_(std::move(log)) {}

Coordinator::~Coordinator() {
  {
    std::lock_guard lock(recovery_mutex_);
    stopping_ = true;
  }
  recovery_wakeup_.notify_all();
  if (recovery_thread_.joinable()) recovery_thread_.join();
}

Status Coordinator::add(std::unique_ptr<Resource> resource) {
  if (started_) return failed_precondition_error("data sources must be added before start()");
  if (resource == nullptr) return invalid_argument_error("add(): null resource");
  const std::string name = resource->name();
  if (name.empty()) return invalid_argument_error("add(): a data source needs a name");
  auto pool = std::make_unique<ConnectionPool>(*resource, options_.max_idle_connections);
  auto [it, inserted] = data_sources_.try_emplace(name, DataSource{std::move(resource), std::move(pool)});
  if (!inserted) return already_exists_error("data source '" + name + "' is already added");
  return Status();
}

Status Coordinator::validate_options() const {
  XATM_RETURN_IF_ERROR(validate_node_name(options_.node_name).with_context("Options::node_name"));
  if (log_ == nullptr && options_.log_dir.empty()) {
    return invalid_argument_error("Options::log_dir is empty: the decision log needs a directory");
  }
  if (options_.default_timeout <= std::chrono::milliseconds::zero() ||
      options_.default_timeout > kMaxTimeout) {
    return invalid_argument_error("Options::default_timeout must be between 1 ms and 2^32-1 ms");
  }
  return Status();
}

Status Coordinator::start() {
  if (started_) return failed_precondition_error("start() was already called");
  XATM_RETURN_IF_ERROR(validate_options());
  if (log_ == nullptr) {
    Result<std::unique_ptr<DecisionLog>> opened =
        open_file_log({.dir = options_.log_dir, .node_name = options_.node_name});
    if (!opened.ok()) return opened.status();
    log_ = std::move(*opened);
  }
  // Everything of this node begun before now belongs to an incarnation that is down: this one
  // holds the log lock. It is resolved before any new work can start.
  started_at_ = std::chrono::system_clock::now();
  run_recovery_pass();
  // Sequence numbers start at the current time in microseconds, so XIDs stay unique across
  // restarts of this node even within the same millisecond.
  sequence_ = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch()).count());
  workers_ = std::make_unique<WorkerPool>(options_.phase_threads);
  started_ = true;
  if (options_.recovery_interval > std::chrono::milliseconds::zero()) {
    recovery_thread_ = std::thread([this] { recovery_loop(); });
  }
  return Status();
}

bool Coordinator::in_flight(const Xid& global) const {
  std::lock_guard lock(in_flight_mutex_);
  return in_flight_.count(global) > 0;
}

RecoveryReport Coordinator::run_recovery_pass() {
  std::vector<Resource*> resources;
  for (auto& [name, source] : data_sources_) resources.push_back(source.resource.get());
  Recoverer recoverer(*log_, std::move(resources),
                      {.node_name = options_.node_name,
                       .grace = options_.recovery_grace,
                       .owner_down_before = started_at_,
                       .in_flight = [this](const Xid& global) { return in_flight(global); }});
  RecoveryReport report = recoverer.run();
  std::size_t resolved = 0;
  for (const InDoubtBranch& branch : report.branches) resolved += branch.resolved ? 1 : 0;
  if (!report.branches.empty() || report.decisions_done > 0 || report.needs_attention()) {
    XATM_LOG(info) << "node '" << options_.node_name << "' recovery: " << resolved << " of "
                   << report.branches.size() << " in-doubt branch(es) resolved, "
                   << report.decisions_done << " decision(s) closed, " << report.decisions_open
                   << " open";
  }
  for (const std::string& problem : report.problems) {
    XATM_LOG(warning) << "node '" << options_.node_name << "' recovery: " << problem;
  }
  return report;
}

Result<RecoveryReport> Coordinator::recover() {
  if (!started_) return failed_precondition_error("TransactionManager::start() has not succeeded");
  std::lock_guard lock(recovery_mutex_);
  return run_recovery_pass();
}

void Coordinator::recovery_loop() {
  std::unique_lock lock(recovery_mutex_);
  while (!recovery_wakeup_.wait_for(lock, options_.recovery_interval, [this] { return stopping_; })) {
    run_recovery_pass();
  }
}

Result<std::unique_ptr<TransactionState>> Coordinator::begin(
    std::optional<std::chrono::milliseconds> requested) {
  const std::chrono::milliseconds timeout = requested.value_or(options_.default_timeout);
  if (!started_) return failed_precondition_error("TransactionManager::start() has not succeeded");
  Status health = log_->health();
  if (!health.ok()) return failed_precondition_error("the decision log failed: " + health.to_string());
  if (timeout <= std::chrono::milliseconds::zero() || timeout > kMaxTimeout) {
    return invalid_argument_error("transaction timeout must be between 1 ms and 2^32-1 ms");
  }
  const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now());
  Result<Xid> global = make_global_xid({options_.node_name, now, timeout, ++sequence_});
  if (!global.ok()) return global.status();
  auto tx = std::make_unique<TransactionState>(this, std::move(*global), timeout, now);
  {
    std::lock_guard lock(in_flight_mutex_);
    in_flight_.insert(tx->global);
  }
  ++begun_;
  return tx;
}

Result<XaConnection*> Coordinator::enlist(TransactionState& tx, std::string_view name) {
  // Built only for an error message, as it hex-encodes the XID.
  const auto where = [&tx] { return "transaction " + tx.global.to_string(); };
  if (tx.outcome) return aborted_error(where() + " has ended");
  if (tx.rollback_only_reason) {
    return aborted_error(where() + " is rollback-only: " + *tx.rollback_only_reason);
  }
  if (tx.past_deadline()) {
    tx.rollback_only_reason = "deadline exceeded";
    return deadline_exceeded_error(where() + " passed its deadline; it can only roll back");
  }
  for (Branch& branch : tx.branches) {
    if (*branch.data_source == name) return branch.connection.get();
  }
  auto source = data_sources_.find(name);
  if (source == data_sources_.end()) {
    return not_found_error("no data source named '" + std::string(name) + "'");
  }
  ConnectionPool& pool = *source->second.pool;
  Xid xid = tx.global;
  Result<std::unique_ptr<XaConnection>> connection = pool.acquire();
  XaReply started{XAER_RMFAIL, ""};
  // An idle session may have died with its server since it was pooled: one more try on a fresh
  // session (the other idle ones likely died too), under a new bqual in case the first start
  // reached the server before the session died.
  for (int attempt = 0; attempt < 2 && connection.ok(); ++attempt) {
    if (tx.next_branch_index >= kMaxBranches) return failed_precondition_error(where() + ": too many branches");
    xid = tx.global.branch(static_cast<std::uint16_t>(tx.next_branch_index++));
    started = (*connection)->start(xid);
    if (started.code != XAER_RMFAIL || attempt == 1) break;
    pool.discard_idle();
    connection = pool.acquire();
  }
  if (!connection.ok()) return connection.status().with_context("data source '" + source->first + "'");
  if (!started.ok()) {
    // The session's state is unclear after a refused start: close it rather than pool it.
    std::string message = "data source '" + source->first + "': xa_start of " + xid.to_string() +
                          " answered " + xa_code_name(started.code) +
                          (started.detail.empty() ? "" : " (" + started.detail + ")");
    if (started.code == XAER_RMFAIL) return unavailable_error(std::move(message));
    if (started.code == XAER_DUPID) return already_exists_error(std::move(message));
    return failed_precondition_error(std::move(message));
  }
  tx.branches.emplace_back(&source->first, &pool, std::move(xid), std::move(*connection));
  return tx.branches.back().connection.get();
}

void Coordinator::run_on_branches(TransactionState& tx, const std::function<void(Branch&)>& op) {
  workers_->run_all(tx.branches.size(), [&](std::size_t i) { op(tx.branches[i]); });
}

void Coordinator::run_phase(TransactionState& tx, const std::function<Sent(Branch&)>& send,
                            const std::function<void(Branch&)>& receive,
                            const std::function<void(Branch&)>& op) {
  std::vector<Branch*> awaited;
  std::vector<Branch*> others;
  for (Branch& branch : tx.branches) {
    const Sent sent = branch.connection != nullptr && branch.connection->splits_verbs()
                          ? send(branch)
                          : Sent::kNotSent;
    if (sent == Sent::kAwaiting) awaited.push_back(&branch);
    if (sent == Sent::kNotSent) others.push_back(&branch);
  }
  workers_->run_all(others.size(), [&](std::size_t i) { op(*others[i]); });
  for (Branch* branch : awaited) receive(*branch);
}

Outcome Coordinator::commit(TransactionState& tx) {
  if (tx.outcome) return *tx.outcome;
  const auto started = std::chrono::steady_clock::now();
  Outcome outcome;
  if (tx.rollback_only_reason) {
    outcome = roll_back_all(tx, "rollback-only: " + *tx.rollback_only_reason);
  } else if (tx.past_deadline()) {
    outcome = roll_back_all(tx, "deadline exceeded before commit");
  } else if (tx.branches.empty()) {
    outcome.kind = Outcome::Kind::kCommitted;
  } else if (tx.branches.size() == 1) {
    outcome = commit_one_phase(tx);
  } else {
    outcome = commit_two_phase(tx);
  }
  if (outcome.committed()) {
    commit_latency_.record(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                              started).count()));
  }
  return finish(tx, std::move(outcome));
}

Outcome Coordinator::rollback(TransactionState& tx, std::string reason) {
  if (tx.outcome) return *tx.outcome;
  return finish(tx, roll_back_all(tx, std::move(reason)));
}

Outcome Coordinator::commit_one_phase(TransactionState& tx) {
  Branch& branch = tx.branches.front();
  internal::commit_one_phase(branch, *log_);
  if (branch.state == BranchState::kEnded) return roll_back_all(tx, no_vote_reason(tx));
  if (branch.state == BranchState::kPending) {
    return {Outcome::Kind::kUnknown,
            "one-phase commit on data source '" + *branch.data_source + "' lost its answer (" +
                xa_code_name(branch.last_code) + "): the RM alone knows whether it committed",
            {}};
  }
  if (branch.state == BranchState::kCommitted) ++one_phase_;
  Outcome outcome{classify(tx, /*decided_commit=*/true), "", {}};
  if (branch.state == BranchState::kRolledBack) {
    outcome.kind = Outcome::Kind::kRolledBack;
    outcome.reason = no_vote_reason(tx);
  }
  return outcome;
}

Outcome Coordinator::commit_two_phase(TransactionState& tx) {
  std::atomic<bool> stop{false};
  run_phase(
      tx,
      [&](Branch& branch) {
        return send_end_and_prepare(branch, stop) ? Sent::kAwaiting : Sent::kDone;
      },
      [&](Branch& branch) { receive_vote(branch, stop); },
      [&](Branch& branch) { end_and_prepare(branch, stop); });
  if (stop) return roll_back_all(tx, no_vote_reason(tx));
  CommitRecord decision = decision_of(tx);
  if (decision.branches.empty()) {
    ++read_only_;
    return {Outcome::Kind::kCommitted, "", {}};  // every branch read-only: all finished
  }
  if (tx.past_deadline()) return roll_back_all(tx, "deadline exceeded before the decision");
  if (decision.branches.size() > 1) {
    crash_point(kCrashBeforeDecision);
    Status logged = log_->log_commit(decision);
    if (!logged.ok()) {
      // The record may or may not be on disk: rolling back could contradict a durable COMMIT.
      // The branches stay prepared for recovery, which reads the log and decides.
      return {Outcome::Kind::kUnknown, "the decision log failed: " + logged.to_string(), {}};
    }
    crash_point(kCrashAfterDecision);
  } else {
    ++read_only_;  // every other branch read-only: the lone writer commits without a record
  }
  run_phase(
      tx,
      [&](Branch& branch) {
        if (branch.state != BranchState::kPrepared) return Sent::kDone;
        return send_commit(branch) ? Sent::kAwaiting : Sent::kNotSent;
      },
      [&](Branch& branch) { receive_commit(branch, *log_, retry_); },
      [&](Branch& branch) {
        if (branch.state == BranchState::kPrepared) commit_prepared(branch, *log_, retry_);
      });
  crash_point(kCrashBeforeDone);
  if (decision.branches.size() == 1) return commit_lone_writer(tx, decision);
  if (all_confirmed(tx)) log_->log_done(tx.global).ignore_error();  // unforced, may be lost
  return {classify(tx, /*decided_commit=*/true), "", {}};
}

// The only prepared branch (the one `decision` names) was committed without a decision record.
// If its answer never came, writing `decision` now makes the outcome certain: the branch is
// committed or still prepared, and recovery will commit it.
Outcome Coordinator::commit_lone_writer(TransactionState& tx, const CommitRecord& decision) {
  const DecisionBranch& writer = decision.branches.front();
  const bool pending = std::any_of(tx.branches.begin(), tx.branches.end(), [&](const Branch& b) {
    return b.xid == writer.xid && b.state == BranchState::kPending;
  });
  if (!pending) return {classify(tx, /*decided_commit=*/true), "", {}};
  if (!tx.past_deadline() && log_->log_commit(decision).ok()) return {Outcome::Kind::kCommitted, "", {}};
  return {Outcome::Kind::kUnknown,
          "commit of the only writing branch on data source '" + writer.data_source +
              "' was not confirmed and no decision could be logged",
          {}};
}

Outcome Coordinator::roll_back_all(TransactionState& tx, std::string reason) {
  run_on_branches(tx, [&](Branch& branch) { rollback_branch(branch, *log_, retry_); });
  Outcome outcome{classify(tx, /*decided_commit=*/false), std::move(reason), {}};
  return outcome;
}

Outcome Coordinator::finish(TransactionState& tx, Outcome outcome) {
  outcome.branches.reserve(tx.branches.size());
  for (Branch& branch : tx.branches) {
    release_session(branch);
    const bool pending = branch.state == BranchState::kPending ||
                         branch.state == BranchState::kPrepared ||
                         branch.state == BranchState::kInDoubt;
    if (pending) ++pending_branches_;
    outcome.branches.push_back(
        {*branch.data_source, branch.xid, branch.last_code, branch.detail, pending});
  }
  switch (outcome.kind) {
    case Outcome::Kind::kCommitted: ++committed_; break;
    case Outcome::Kind::kRolledBack: ++rolled_back_; break;
    case Outcome::Kind::kUnknown: ++unknown_; break;
    default: ++heuristic_; break;
  }
  if (!outcome.committed() && !outcome.rolled_back()) {
    XATM_LOG(error) << "transaction " << tx.global.to_string() << ": " << outcome.to_string();
  }
  tx.outcome = outcome;
  {
    std::lock_guard lock(in_flight_mutex_);
    in_flight_.erase(tx.global);
  }
  return outcome;
}

Stats Coordinator::stats() const {
  Stats s;
  s.begun = begun_;
  s.committed = committed_;
  s.rolled_back = rolled_back_;
  s.one_phase = one_phase_;
  s.read_only = read_only_;
  s.heuristic = heuristic_;
  s.unknown = unknown_;
  s.pending_branches = pending_branches_;
  s.commit_p50_us = commit_latency_.percentile(0.50);
  s.commit_p99_us = commit_latency_.percentile(0.99);
  return s;
}

}  // namespace xatm::internal
