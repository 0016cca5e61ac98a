#include "xatm/prometheus/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/labels.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "xatm/observer.h"

namespace xatm::prometheus {
namespace {

namespace prom = ::prometheus;

constexpr std::array kPaths = {CommitPath::kRollback, CommitPath::kEmpty, CommitPath::kOnePhase,
                               CommitPath::kTwoPhase, CommitPath::kDecisionBranch};
enum Phase : std::size_t { kPrepare, kDecision, kCommit, kPhaseCount };
constexpr std::array<const char*, kPhaseCount> kPhaseNames = {"prepare", "decision", "commit"};

// A counter copied from one field of Stats. Counters with the same name are one family told
// apart by their `outcome` label (null: no such label).
struct CounterSpec {
  const char* name;
  const char* help;
  const char* outcome;
  std::uint64_t Stats::*field;
};

constexpr const char* kOutcomeHelp = "Global transactions ended, by outcome.";
constexpr std::array kCounters = {
    CounterSpec{"xatm_transactions_begun_total", "Global transactions begun.", nullptr,
                &Stats::begun},
    CounterSpec{"xatm_transactions_total", kOutcomeHelp, "committed", &Stats::committed},
    CounterSpec{"xatm_transactions_total", kOutcomeHelp, "rolled_back", &Stats::rolled_back},
    CounterSpec{"xatm_transactions_total", kOutcomeHelp, "heuristic", &Stats::heuristic},
    CounterSpec{"xatm_transactions_total", kOutcomeHelp, "unknown", &Stats::unknown},
    CounterSpec{"xatm_transactions_one_phase_total",
                "Transactions committed with one-phase commit (one branch, nothing logged).",
                nullptr, &Stats::one_phase},
    CounterSpec{"xatm_transactions_read_only_total",
                "Transactions committed without a decision record thanks to read-only votes.",
                nullptr, &Stats::read_only},
    CounterSpec{"xatm_transactions_timed_out_total",
                "Transactions rolled back because they passed their deadline before commit "
                "(also counted in outcome=\"rolled_back\").",
                nullptr, &Stats::timed_out},
    CounterSpec{"xatm_pending_branches_total",
                "Branches whose decided outcome a transaction left for recovery to finish.",
                nullptr, &Stats::pending_branches},
    CounterSpec{"xatm_recovered_branches_total", "In-doubt branches that recovery passes resolved.",
                nullptr, &Stats::recovered_branches},
};

// The steps a path takes (xatm/observer.h): only these get a phase histogram. A no vote keeps
// the path it took, so a rollback after prepare counts under two_phase or decision_branch.
bool takes_step(CommitPath path, Phase phase) {
  switch (path) {
    case CommitPath::kTwoPhase:
    case CommitPath::kDecisionBranch: return true;
    case CommitPath::kOnePhase: return phase == kCommit;
    case CommitPath::kRollback:
    case CommitPath::kEmpty: return false;
  }
  return false;
}

std::size_t path_index(CommitPath path) {
  return static_cast<std::size_t>(std::find(kPaths.begin(), kPaths.end(), path) - kPaths.begin());
}

// The histograms, shared by Metrics and the observer that the TransactionManager keeps (it may
// outlive Metrics: detaching makes it a no-op before the histograms leave the registry).
struct Histograms {
  std::shared_mutex mutex;  // shared to observe, exclusive to detach
  bool attached = true;     // guarded by mutex
  std::array<prom::Histogram*, kPaths.size()> total{};
  std::array<std::array<prom::Histogram*, kPhaseCount>, kPaths.size()> phase{};
};

class HistogramObserver final : public TransactionObserver {
 public:
  explicit HistogramObserver(std::shared_ptr<Histograms> histograms)
      : histograms_(std::move(histograms)) {}

  void ended(const EndedTransaction& transaction) noexcept override {
    std::shared_lock lock(histograms_->mutex);
    const std::size_t path = path_index(transaction.path);
    if (!histograms_->attached || path >= kPaths.size()) return;
    observe(histograms_->total[path], transaction.total);
    observe(histograms_->phase[path][kPrepare], transaction.prepare);
    observe(histograms_->phase[path][kDecision], transaction.decision);
    observe(histograms_->phase[path][kCommit], transaction.commit);
  }

 private:
  // A step that did not run has a zero duration: observing it would pull the low buckets down.
  static void observe(prom::Histogram* histogram, std::chrono::nanoseconds duration) {
    if (histogram != nullptr && duration.count() > 0) {
      histogram->Observe(std::chrono::duration<double>(duration).count());
    }
  }

  std::shared_ptr<Histograms> histograms_;
};

Status validate(const MetricsOptions& options) {
  if (options.node.size() > 64) {
    return invalid_argument_error("MetricsOptions::node is longer than 64 bytes");
  }
  for (const char* reserved : {"node", "outcome", "path", "phase"}) {
    if (options.labels.contains(reserved)) {
      return invalid_argument_error(std::string("MetricsOptions::labels: \"") + reserved +
                                    "\" is a label of xatm's own");
    }
  }
  if (std::adjacent_find(options.buckets.begin(), options.buckets.end(), std::greater_equal<>()) !=
      options.buckets.end()) {
    return invalid_argument_error("MetricsOptions::buckets must be strictly increasing");
  }
  if (options.refresh_interval.count() < 0) {
    return invalid_argument_error("MetricsOptions::refresh_interval must not be negative");
  }
  return Status::ok_status();
}

}  // namespace

// Thread safety: refresh() may run on any thread (serialized by refresh_mutex_); the rest runs
// on the thread that owns the Metrics.
class Metrics::Impl {
 public:
  Impl(TransactionManager& tm, MetricsOptions options);
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl();

  // Adds every metric of this node to `registry`. Throws what prometheus-cpp throws
  // (std::invalid_argument for a name or label it refuses); what was added stays listed in
  // removers_, so destroying *this undoes it.
  Status add_to(prom::Registry& registry);
  Status start_refresh_thread();
  void refresh();
  std::shared_ptr<Histograms> histograms() const { return histograms_; }

 private:
  struct CopiedCounter {
    prom::Counter* counter;
    std::uint64_t Stats::*field;
    std::uint64_t copied = 0;  // the field's value last added to counter
  };

  template <typename T, typename... Args>
  T* add(prom::Family<T>& family, const prom::Labels& labels, Args&&... args);
  prom::Labels labels_with(const char* name, const char* value) const;
  void add_histograms(prom::Registry& registry);
  void run_refresh_thread();

  TransactionManager& tm_;
  const MetricsOptions options_;
  const prom::Labels labels_;                    // node and options_.labels: on every metric
  std::vector<std::function<void()>> removers_;  // each takes one metric off the registry
  std::shared_ptr<Histograms> histograms_ = std::make_shared<Histograms>();

  std::mutex refresh_mutex_;
  std::vector<CopiedCounter> counters_;  // guarded by refresh_mutex_ (their `copied`)
  prom::Gauge* in_flight_ = nullptr;
  prom::Gauge* in_doubt_branches_ = nullptr;
  prom::Gauge* oldest_in_doubt_age_ = nullptr;

  std::mutex stop_mutex_;
  std::condition_variable stop_signal_;
  bool stop_ = false;  // guarded by stop_mutex_
  std::thread refresher_;
};

Metrics::Impl::Impl(TransactionManager& tm, MetricsOptions options)
    : tm_(tm), options_(std::move(options)), labels_([this] {
        prom::Labels labels(options_.labels.begin(), options_.labels.end());
        labels.emplace("node", options_.node);
        return labels;
      }()) {}

Metrics::Impl::~Impl() {
  {
    std::lock_guard lock(stop_mutex_);
    stop_ = true;
  }
  stop_signal_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  {
    // After this no ended() touches a histogram, so they can leave the registry.
    std::unique_lock lock(histograms_->mutex);
    histograms_->attached = false;
  }
  for (const std::function<void()>& remove : removers_) remove();
}

template <typename T, typename... Args>
T* Metrics::Impl::add(prom::Family<T>& family, const prom::Labels& labels, Args&&... args) {
  T& metric = family.Add(labels, std::forward<Args>(args)...);
  removers_.emplace_back([&family, &metric] { family.Remove(&metric); });
  return &metric;
}

prom::Labels Metrics::Impl::labels_with(const char* name, const char* value) const {
  prom::Labels labels = labels_;
  labels.emplace(name, value);
  return labels;
}

Status Metrics::Impl::add_to(prom::Registry& registry) {
  std::map<std::string, prom::Family<prom::Counter>*> families;
  for (const CounterSpec& spec : kCounters) {
    const prom::Labels labels =
        spec.outcome != nullptr ? labels_with("outcome", spec.outcome) : labels_;
    prom::Family<prom::Counter>*& family = families[spec.name];
    if (family == nullptr) {
      family = &prom::BuildCounter().Name(spec.name).Help(spec.help).Register(registry);
    }
    // A family is shared by every node on this registry; its metric for these labels is not.
    if (family->Has(labels)) {
      return already_exists_error("the registry already has xatm's metrics of node '" +
                                  options_.node + "' with these labels");
    }
    counters_.push_back({.counter = add(*family, labels), .field = spec.field});
  }
  auto gauge = [&](const char* name, const char* help) {
    return add(prom::BuildGauge().Name(name).Help(help).Register(registry), labels_);
  };
  in_flight_ = gauge("xatm_transactions_in_flight", "Global transactions begun and not ended.");
  in_doubt_branches_ = gauge("xatm_in_doubt_branches",
                             "Prepared branches of this node that the last recovery pass left "
                             "unresolved.");
  oldest_in_doubt_age_ = gauge("xatm_oldest_in_doubt_age_seconds",
                               "Age of the transaction of the oldest in-doubt branch (0: none).");
  add_histograms(registry);
  return Status::ok_status();
}

void Metrics::Impl::add_histograms(prom::Registry& registry) {
  auto& total = prom::BuildHistogram()
                    .Name("xatm_commit_duration_seconds")
                    .Help("Time commit() or rollback() took, by commit path.")
                    .Register(registry);
  auto& phase = prom::BuildHistogram()
                    .Name("xatm_phase_duration_seconds")
                    .Help(
                        "Time each step of commit() took (prepare, decision, commit), by "
                        "commit path; a step that did not run is not observed.")
                    .Register(registry);
  // Every series exists from the start (at zero), so a rate() never sees one appear.
  for (std::size_t p = 0; p < kPaths.size(); ++p) {
    const std::string path(commit_path_name(kPaths[p]));
    const prom::Labels labels = labels_with("path", path.c_str());
    histograms_->total[p] = add(total, labels, options_.buckets);
    for (std::size_t s = 0; s < kPhaseCount; ++s) {
      if (!takes_step(kPaths[p], static_cast<Phase>(s))) continue;
      prom::Labels phase_labels = labels;
      phase_labels.emplace("phase", kPhaseNames[s]);
      histograms_->phase[p][s] = add(phase, phase_labels, options_.buckets);
    }
  }
}

void Metrics::Impl::refresh() {
  std::lock_guard lock(refresh_mutex_);
  // Read under the lock: two refreshes must not apply their copies out of order.
  const Stats stats = tm_.stats();
  for (CopiedCounter& copied : counters_) {
    const std::uint64_t now = stats.*copied.field;
    if (now > copied.copied) {
      copied.counter->Increment(static_cast<double>(now - copied.copied));
      copied.copied = now;
    }
  }
  in_flight_->Set(static_cast<double>(stats.in_flight));
  in_doubt_branches_->Set(static_cast<double>(stats.in_doubt_branches));
  double age = 0;
  if (stats.oldest_in_doubt_created.has_value()) {
    const auto since = std::chrono::system_clock::now() - *stats.oldest_in_doubt_created;
    age = std::max(0.0, std::chrono::duration<double>(since).count());
  }
  oldest_in_doubt_age_->Set(age);
}

Status Metrics::Impl::start_refresh_thread() {
  if (options_.refresh_interval.count() == 0) return Status::ok_status();
  try {
    refresher_ = std::thread([this] { run_refresh_thread(); });
  } catch (const std::system_error& e) {
    return unavailable_error(std::string("cannot start the metrics refresh thread: ") + e.what());
  }
  return Status::ok_status();
}

void Metrics::Impl::run_refresh_thread() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_signal_.wait_for(lock, options_.refresh_interval, [this] { return stop_; })) {
    lock.unlock();
    refresh();
    lock.lock();
  }
}

Metrics::Metrics(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Metrics::Metrics(Metrics&&) noexcept = default;
Metrics& Metrics::operator=(Metrics&&) noexcept = default;
Metrics::~Metrics() = default;

void Metrics::refresh() {
  if (impl_ != nullptr) impl_->refresh();
}

Result<Metrics> register_metrics(TransactionManager& tm, ::prometheus::Registry& registry,
                                 MetricsOptions options) {
  if (options.node.empty()) options.node = tm.node_name();
  XATM_RETURN_IF_ERROR(validate(options));
  auto impl = std::make_unique<Metrics::Impl>(tm, std::move(options));
  try {
    XATM_RETURN_IF_ERROR(impl->add_to(registry));
  } catch (const std::invalid_argument& e) {
    return invalid_argument_error(std::string("prometheus registry: ") + e.what());
  } catch (const std::exception& e) {
    return internal_error(std::string("prometheus registry: ") + e.what());
  }
  // Registered last: when tm has started already this fails, and destroying impl undoes the rest.
  XATM_RETURN_IF_ERROR(tm.add_observer(std::make_shared<HistogramObserver>(impl->histograms())));
  impl->refresh();
  XATM_RETURN_IF_ERROR(impl->start_refresh_thread());
  return Metrics(std::move(impl));
}

}  // namespace xatm::prometheus
