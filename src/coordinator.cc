#include "coordinator.h"

#include <algorithm>
#include <utility>

#include "crash_points.h"
#include "logging.h"

namespace xatm::internal {
namespace {

constexpr std::uint32_t kMaxBranches = 65536;  // the bqual holds a 16-bit index
constexpr std::chrono::milliseconds kMaxTimeout{0xFFFFFFFFLL};
// The longest retry window, backoff or recovery interval: longer ones are typing errors.
constexpr std::chrono::milliseconds kMaxDuration{24LL * 3600 * 1000};
constexpr std::uint64_t kMinSegmentBytes = 64 << 10;
constexpr std::uint64_t kMaxSegmentBytes = 1ULL << 30;
// Sequence numbers are reserved in the log this many at a time: one forced log write per
// million transactions, and a restart skips at most that many numbers.
constexpr std::uint64_t kSequenceBlock = 1 << 20;

Status check_duration(std::string_view field, std::chrono::milliseconds value,
                      std::chrono::milliseconds min, std::chrono::milliseconds max) {
  if (value >= min && value <= max) return Status();
  return invalid_argument_error("Options::" + std::string(field) + " of " +
                                std::to_string(value.count()) + " ms is outside " +
                                std::to_string(min.count()) + ".." + std::to_string(max.count()) +
                                " ms");
}

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

Coordinator::Coordinator(Options options, std::unique_ptr<DecisionLog> log, Clock clock)
    : options_(std::move(options)),
      retry_{options_.phase2_retry_window, options_.phase2_retry_backoff,
             options_.phase2_retry_backoff_max},
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::system_clock::now(); })),
      log_(std::move(log)) {}

Coordinator::~Coordinator() {
  {
    std::lock_guard lock(recovery_mutex_);
    stopping_ = true;
  }
  recovery_wakeup_.notify_all();
  if (recovery_thread_.joinable()) recovery_thread_.join();
  abandon_live_transactions();
}

// Each live transaction is rolled back under its own mutex, so a call in progress on another
// thread finishes first. After this no Transaction reaches the coordinator: its state has an
// outcome and no coordinator.
void Coordinator::abandon_live_transactions() {
  std::vector<std::shared_ptr<TransactionState>> live;
  {
    std::lock_guard lock(in_flight_mutex_);
    for (const auto& [global, state] : in_flight_) {
      if (std::shared_ptr<TransactionState> tx = state.lock()) live.push_back(std::move(tx));
    }
  }
  for (const std::shared_ptr<TransactionState>& tx : live) {
    std::lock_guard lock(tx->mu);
    if (!tx->outcome) {
      XATM_LOG(warning) << "transaction " << tx->global.to_string()
                        << " was still active when its TransactionManager was destroyed: rolled back";
      rollback(*tx, "the TransactionManager was destroyed while the transaction was active");
    }
    tx->coordinator = nullptr;
  }
}

Status Coordinator::add(std::unique_ptr<Resource> resource) {
  if (started_) return failed_precondition_error("data sources must be added before start()");
  if (resource == nullptr) return invalid_argument_error("add(): null resource");
  const std::string name = resource->name();
  XATM_RETURN_IF_ERROR(validate_data_source_name(name).with_context("add()"));
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
  using std::chrono::milliseconds;
  const milliseconds zero{0};
  XATM_RETURN_IF_ERROR(check_duration("phase2_retry_window", options_.phase2_retry_window, zero, kMaxDuration));
  XATM_RETURN_IF_ERROR(check_duration("phase2_retry_backoff", options_.phase2_retry_backoff, milliseconds(1), kMaxDuration));
  XATM_RETURN_IF_ERROR(check_duration("phase2_retry_backoff_max", options_.phase2_retry_backoff_max,
                                      options_.phase2_retry_backoff, kMaxDuration));
  XATM_RETURN_IF_ERROR(check_duration("recovery_interval", options_.recovery_interval, zero, kMaxDuration));
  XATM_RETURN_IF_ERROR(check_duration("recovery_grace", options_.recovery_grace, kMinRecoveryGrace,
                                      kMaxRecoveryGrace));
  if (options_.log_segment_bytes < kMinSegmentBytes || options_.log_segment_bytes > kMaxSegmentBytes) {
    return invalid_argument_error("Options::log_segment_bytes of " +
                                  std::to_string(options_.log_segment_bytes) + " is outside " +
                                  std::to_string(kMinSegmentBytes) + ".." +
                                  std::to_string(kMaxSegmentBytes));
  }
  return Status();
}

Status Coordinator::open_log() {
  Result<bool> exists = file_log_exists(options_.log_dir);
  if (!exists.ok()) return exists.status().with_context("Options::log_dir");
  if (!*exists && !options_.create_log_if_missing) {
    // A new log knows no decision of the past: make sure there is none to know.
    std::vector<Resource*> resources;
    for (auto& [name, source] : data_sources_) resources.push_back(source.resource.get());
    Result<std::vector<InDoubtBranch>> prepared = find_prepared_branches(resources, options_.node_name);
    const std::string refusal = "decision log directory " + options_.log_dir + " holds no log";
    if (!prepared.ok()) {
      return Status(prepared.status().code(),
                    refusal + ", and whether a data source holds a prepared branch of node '" +
                        options_.node_name + "' cannot be told: " + prepared.status().message() +
                        ". Check log_dir; set Options::create_log_if_missing to create a log anyway");
    }
    if (!prepared->empty()) {
      const InDoubtBranch& first = prepared->front();
      return failed_precondition_error(
          refusal + ", but " + std::to_string(prepared->size()) + " prepared branch(es) of node '" +
          options_.node_name + "' wait for a decision (the first: data source '" +
          first.data_source + "', " + first.xid.to_string() +
          "). Is log_dir the directory this node always used, and is it mounted? If the log is "
          "truly lost, set Options::create_log_if_missing: those branches then need an operator "
          "(xatm-recover commit|rollback), never a guess");
    }
  }
  Result<std::unique_ptr<DecisionLog>> opened =
      open_file_log({.dir = options_.log_dir, .create_if_missing = true,
                     .node_name = options_.node_name, .max_segment_bytes = options_.log_segment_bytes});
  if (!opened.ok()) return opened.status();
  log_ = std::move(*opened);
  return Status();
}

Result<std::uint64_t> Coordinator::next_sequence() {
  std::lock_guard lock(sequence_mutex_);
  if (next_sequence_ == sequence_limit_) {
    if (sequence_limit_ > UINT64_MAX - kSequenceBlock) {
      return failed_precondition_error("the XID sequence numbers of node '" + options_.node_name +
                                       "' are used up");
    }
    XATM_RETURN_IF_ERROR(log_->reserve_sequences(sequence_limit_ + kSequenceBlock)
                             .with_context("reserving XID sequence numbers in the decision log"));
    sequence_limit_ += kSequenceBlock;
  }
  return next_sequence_++;
}

Status Coordinator::start() {
  if (started_) return failed_precondition_error("start() was already called");
  XATM_RETURN_IF_ERROR(validate_options());
  if (log_ == nullptr) XATM_RETURN_IF_ERROR(open_log());
  // Every sequence number below the log's limit was issued by an incarnation that is down: this
  // one holds the log lock. Its own numbers start there, reserved durably before any is used,
  // so XIDs stay unique across restarts whatever the wall clock does.
  first_sequence_ = log_->sequence_limit();
  if (first_sequence_ > UINT64_MAX - kSequenceBlock) {
    return failed_precondition_error("the XID sequence numbers of node '" + options_.node_name +
                                     "' are used up");
  }
  XATM_RETURN_IF_ERROR(log_->reserve_sequences(first_sequence_ + kSequenceBlock)
                           .with_context("reserving XID sequence numbers in the decision log"));
  next_sequence_ = first_sequence_;
  sequence_limit_ = first_sequence_ + kSequenceBlock;
  // What earlier incarnations left in doubt is resolved before any new work can start.
  run_recovery_pass();
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
                       .owner_down_below_sequence = first_sequence_,
                       .in_flight = [this](const Xid& global) { return in_flight(global); },
                       .clock = clock_});
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

Result<std::shared_ptr<TransactionState>> Coordinator::begin(
    std::optional<std::chrono::milliseconds> requested) {
  const std::chrono::milliseconds timeout = requested.value_or(options_.default_timeout);
  if (!started_) return failed_precondition_error("TransactionManager::start() has not succeeded");
  Status health = log_->health();
  if (!health.ok()) return failed_precondition_error("the decision log failed: " + health.to_string());
  if (timeout <= std::chrono::milliseconds::zero() || timeout > kMaxTimeout) {
    return invalid_argument_error("transaction timeout must be between 1 ms and 2^32-1 ms");
  }
  const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(clock_());
  Result<std::uint64_t> sequence = next_sequence();
  if (!sequence.ok()) return sequence.status();
  Result<Xid> global = make_global_xid({options_.node_name, now, timeout, *sequence});
  if (!global.ok()) return global.status();
  auto tx = std::make_shared<TransactionState>(this, std::move(*global), timeout, now);
  {
    std::lock_guard lock(in_flight_mutex_);
    in_flight_.emplace(tx->global, tx);
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
