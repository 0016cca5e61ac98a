#include "tm/manager.h"

#include <utility>
#include <vector>

#include "tm/enlistment.h"
#include "xatm/driver/logging.h"

namespace xatm::internal {
namespace {

// The longest retry window, backoff or recovery interval: longer ones are typing errors.
constexpr std::chrono::milliseconds kMaxDuration{24LL * 3600 * 1000};
constexpr std::uint64_t kMinSegmentBytes = 64 << 10;
constexpr std::uint64_t kMaxSegmentBytes = 1ULL << 30;
// How often the reaper looks for transactions past their deadline: locks held by one are
// released within this (plus ending its sessions) of the deadline.
constexpr std::chrono::milliseconds kReaperInterval{100};

Status check_duration(std::string_view field, std::chrono::milliseconds value,
                      std::chrono::milliseconds min, std::chrono::milliseconds max) {
  if (value >= min && value <= max) return Status();
  return invalid_argument_error("Options::" + std::string(field) + " of " +
                                std::to_string(value.count()) + " ms is outside " +
                                std::to_string(min.count()) + ".." + std::to_string(max.count()) +
                                " ms");
}

Status check_timeout(std::string_view what, std::chrono::milliseconds timeout) {
  if (timeout > std::chrono::milliseconds::zero() && timeout <= kMaxTransactionTimeout) return Status();
  return invalid_argument_error(std::string(what) + " must be between 1 ms and 2^32-1 ms");
}

}  // namespace

Manager::Manager(Options options, std::unique_ptr<DecisionLog> log, WallClock clock)
    : options_(std::move(options)),
      clock_(clock ? std::move(clock) : WallClock([] { return std::chrono::system_clock::now(); })),
      log_(std::move(log)),
      data_sources_(options_.max_idle_connections) {}

Manager::~Manager() {
  recovery_for_stats_ = nullptr;
  recovery_.reset();  // no pass runs while the transactions are taken apart
  reaper_.reset();
  abandon_live();
}

// Each live transaction is rolled back under its own mutex, so a call in progress on another
// thread finishes first. After this no Transaction reaches the manager: its state has an
// outcome and no manager.
void Manager::abandon_live() {
  for (const std::shared_ptr<TransactionState>& tx : live_.alive()) {
    std::lock_guard lock(tx->mu);
    if (!tx->outcome) {
      XATM_LOG(warning) << "transaction " << tx->global.to_string()
                        << " was still active when its TransactionManager was destroyed: rolled back";
      rollback(*tx, "the TransactionManager was destroyed while the transaction was active");
    }
    tx->manager = nullptr;
  }
}

Status Manager::add(std::unique_ptr<Resource> resource) {
  if (started_) return failed_precondition_error("data sources must be added before start()");
  return data_sources_.add(std::move(resource));
}

Status Manager::validate_options() const {
  XATM_RETURN_IF_ERROR(validate_node_name(options_.node_name).with_context("Options::node_name"));
  if (log_ == nullptr && options_.log_dir.empty()) {
    return invalid_argument_error("Options::log_dir is empty: the decision log needs a directory");
  }
  XATM_RETURN_IF_ERROR(check_timeout("Options::default_timeout", options_.default_timeout));
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

Status Manager::open_log() {
  Result<bool> exists = file_log_exists(options_.log_dir);
  if (!exists.ok()) return exists.status().with_context("Options::log_dir");
  if (!*exists && !options_.create_log_if_missing) {
    // A new log knows no decision of the past: make sure there is none to know.
    Result<std::vector<InDoubtBranch>> prepared =
        find_prepared_branches(data_sources_.resources(), options_.node_name);
    const std::string refusal = "decision log directory " + options_.log_dir + " holds no log";
    if (!prepared.ok()) {
      return Status(prepared.status().code(),
                    refusal + ", and whether a data source holds a prepared branch of node '" +
                        options_.node_name + "' cannot be told: " + prepared.status().message() +
                        ". Check log_dir; set Options::create_log_if_missing (or run `xatm-recover run "
                        "--create-log` with the same config) to create a log anyway");
    }
    if (!prepared->empty()) {
      const InDoubtBranch& first = prepared->front();
      return failed_precondition_error(
          refusal + ", but " + std::to_string(prepared->size()) + " prepared branch(es) of node '" +
          options_.node_name + "' wait for a decision (the first: data source '" +
          first.data_source + "', " + first.xid.to_string() +
          "). Is log_dir the directory this node always used, and is it mounted? If the log is "
          "truly lost, set Options::create_log_if_missing (or run `xatm-recover run --create-log` "
          "with the same config): those branches then need an operator (xatm-recover "
          "commit|rollback), never a guess");
    }
  }
  Result<std::unique_ptr<DecisionLog>> opened =
      open_file_log({.dir = options_.log_dir, .create_if_missing = true,
                     .node_name = options_.node_name, .max_segment_bytes = options_.log_segment_bytes});
  if (!opened.ok()) return opened.status();
  log_ = std::move(*opened);
  return Status();
}

Status Manager::create_decision_tables() {
  for (Resource* resource : data_sources_.resources()) {
    DecisionTable* table = resource->decision_table();
    if (table == nullptr) continue;
    // Before any transaction can decide in it, and before recovery reads it (the node's birth
    // row there tells recovery which transactions the table can know).
    Status created = table->create_if_missing(options_.node_name, clock_());
    if (!created.ok()) {
      return Status(created.code(), "start(): decision table " + table->name() + " of data source '" +
                                        resource->name() + "': " + created.message());
    }
  }
  return Status();
}

// Fail fast (DESIGN §12): a data source whose configuration its server refuses (a wrong password,
// a missing database, max_prepared_transactions = 0, a missing privilege: the drivers answer
// kInvalidArgument or kFailedPrecondition) fails start() naming it, before anything is opened.
// One that cannot be reached (kUnavailable, or anything else) only warns: recovery's background
// pass and the first transaction that uses it try again. The checked session is closed: the
// pools fill with the sessions transactions open.
Status Manager::check_data_sources() {
  for (Resource* resource : data_sources_.resources()) {
    Result<std::unique_ptr<XaConnection>> session = resource->connect();
    if (session.ok()) continue;
    const Status& error = session.status();
    if (error.code() == StatusCode::kInvalidArgument || error.code() == StatusCode::kFailedPrecondition) {
      const bool named = error.message().find("'" + resource->name() + "'") != std::string::npos;
      return Status(error.code(), "start(): " + (named ? "" : "data source '" + resource->name() + "': ") +
                                      error.message());
    }
    XATM_LOG(warning) << "start(): data source '" << resource->name()
                      << "' cannot be reached now; recovery and the first transaction that uses it "
                         "will try again: "
                      << error.to_string();
  }
  return Status();
}

Status Manager::start() {
  if (started_) return failed_precondition_error("start() was already called");
  XATM_RETURN_IF_ERROR(validate_options());
  XATM_RETURN_IF_ERROR(check_data_sources());
  if (log_ == nullptr) XATM_RETURN_IF_ERROR(open_log());
  // Every sequence number below the first of this incarnation was issued by one that is down:
  // this one holds the log.
  xids_ = std::make_unique<XidGenerator>(options_.node_name, clock_, *log_);
  Result<std::uint64_t> first_sequence = xids_->start();
  if (!first_sequence.ok()) return first_sequence.status();
  XATM_RETURN_IF_ERROR(create_decision_tables());
  workers_ = std::make_unique<WorkerPool>(options_.phase_threads);
  coordinator_ = std::make_unique<Coordinator>(
      *log_, *workers_,
      RetryPolicy{options_.phase2_retry_window, options_.phase2_retry_backoff,
                  options_.phase2_retry_backoff_max},
      stats_, live_, options_.node_name, observers_);
  recovery_ = std::make_unique<BackgroundRecovery>(
      *log_, data_sources_.resources(),
      RecoveryOptions{.node_name = options_.node_name,
                      .grace = options_.recovery_grace,
                      .owner_down_below_sequence = *first_sequence,
                      .in_flight = [this](const Xid& global) { return live_.contains(global); },
                      .clock = clock_});
  recovery_for_stats_ = recovery_.get();
  // What earlier incarnations left in doubt is resolved before any new work can start.
  recovery_->run_pass();
  started_ = true;
  recovery_->start(options_.recovery_interval);
  reaper_ = std::make_unique<Reaper>(live_, stats_, kReaperInterval);
  return Status();
}

Status Manager::add_observer(std::shared_ptr<TransactionObserver> observer) {
  if (started_) return failed_precondition_error("observers must be added before start()");
  if (observer == nullptr) return invalid_argument_error("add_observer() was given no observer");
  observers_.push_back(std::move(observer));
  return Status();
}

Stats Manager::stats() const {
  Stats stats = stats_.snapshot();
  stats.in_flight = live_.size();
  if (const BackgroundRecovery* recovery = recovery_for_stats_.load()) {
    const InDoubtSummary in_doubt = recovery->in_doubt();
    stats.recovered_branches = in_doubt.resolved_total;
    stats.in_doubt_branches = in_doubt.branches;
    stats.oldest_in_doubt_created = in_doubt.oldest_created;
  }
  return stats;
}

Result<std::shared_ptr<TransactionState>> Manager::begin(
    std::optional<std::chrono::milliseconds> requested) {
  const std::chrono::milliseconds timeout = requested.value_or(options_.default_timeout);
  if (!started_) return failed_precondition_error("TransactionManager::start() has not succeeded");
  Status health = log_->health();
  if (!health.ok()) return failed_precondition_error("the decision log failed: " + health.to_string());
  XATM_RETURN_IF_ERROR(check_timeout("transaction timeout", timeout));
  Result<XidGenerator::Next> xid = xids_->next(timeout);
  if (!xid.ok()) return xid.status();
  auto tx = std::make_shared<TransactionState>(this, std::move(xid->global), timeout, xid->created);
  live_.add(tx);
  stats_.begun();
  return tx;
}

Result<XaConnection*> Manager::enlist(TransactionState& tx, std::string_view data_source) {
  // The same answer whether or not the reaper has been by yet.
  if (!tx.outcome && tx.past_deadline()) mark_timed_out(tx, stats_);
  return internal::enlist(tx, data_sources_, data_source);
}

Result<RecoveryReport> Manager::recover() {
  if (!started_) return failed_precondition_error("TransactionManager::start() has not succeeded");
  return recovery_->run_pass();
}

}  // namespace xatm::internal
