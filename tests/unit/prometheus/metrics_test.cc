// xatm::prometheus (src/prometheus): what register_metrics() puts on a prometheus::Registry,
// read back with Registry::Collect() after transactions over the fake resource managers.
#include "xatm/prometheus/metrics.h"

#include <gtest/gtest.h>
#include <prometheus/client_metric.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "coordinator_fixture.h"

namespace xatm::testing {
namespace {

using std::chrono::milliseconds;
namespace prom = ::prometheus;
using Labels = std::map<std::string, std::string>;

// The samples of one scrape, looked up by metric name and a subset of the labels.
class Scrape {
 public:
  explicit Scrape(const prom::Registry& registry) : families_(registry.Collect()) {}

  // The one metric named `name` that has every label of `labels`; null when there is none.
  // Fails the test when several match.
  const prom::ClientMetric* find(const std::string& name, const Labels& labels) const {
    const prom::ClientMetric* found = nullptr;
    for (const prom::MetricFamily& family : families_) {
      if (family.name != name) continue;
      for (const prom::ClientMetric& metric : family.metric) {
        if (!has_labels(metric, labels)) continue;
        EXPECT_EQ(found, nullptr) << "several metrics " << name << " match";
        found = &metric;
      }
    }
    return found;
  }

  double counter(const std::string& name, const Labels& labels) const {
    const prom::ClientMetric* metric = find(name, labels);
    EXPECT_NE(metric, nullptr) << name;
    return metric != nullptr ? metric->counter.value : std::nan("");
  }
  double gauge(const std::string& name, const Labels& labels) const {
    const prom::ClientMetric* metric = find(name, labels);
    EXPECT_NE(metric, nullptr) << name;
    return metric != nullptr ? metric->gauge.value : std::nan("");
  }
  prom::ClientMetric::Histogram histogram(const std::string& name, const Labels& labels) const {
    const prom::ClientMetric* metric = find(name, labels);
    EXPECT_NE(metric, nullptr) << name;
    return metric != nullptr ? metric->histogram : prom::ClientMetric::Histogram{};
  }
  // Every metric of any family that carries label node=`node`.
  int count_of_node(const std::string& node) const {
    int count = 0;
    for (const prom::MetricFamily& family : families_) {
      for (const prom::ClientMetric& metric : family.metric)
        count += has_labels(metric, {{"node", node}});
    }
    return count;
  }

 private:
  static bool has_labels(const prom::ClientMetric& metric, const Labels& labels) {
    for (const auto& [name, value] : labels) {
      bool has = false;
      for (const prom::ClientMetric::Label& label : metric.label) {
        has = has || (label.name == name && label.value == value);
      }
      if (!has) return false;
    }
    return true;
  }

  std::vector<prom::MetricFamily> families_;
};

class PrometheusMetricsTest : public CoordinatorTest {
 protected:
  // The fixture's TM, with metrics registered before start() (refreshed only when asked).
  void SetUp() override {
    auto log = std::make_unique<RecordingLog>();
    log_ = log.get();
    tm_ = std::make_unique<TransactionManager>(test_options(), std::move(log));
    for (const auto& rm : {a_, b_, c_}) ASSERT_TRUE(tm_->add(rm->make_handle()).ok());
    Result<prometheus::Metrics> metrics = prometheus::register_metrics(
        *tm_, registry_, {.refresh_interval = milliseconds(0)});  // node: the TM's, "test-node"
    ASSERT_TRUE(metrics.ok()) << metrics.status().to_string();
    metrics_.emplace(std::move(*metrics));
    ASSERT_TRUE(tm_->start().ok());
  }

  Scrape scrape() {
    metrics_->refresh();
    return Scrape(registry_);
  }

  prom::Registry registry_;  // declared first: outlives the TM (fixture) and the metrics
  std::optional<prometheus::Metrics> metrics_;
};

TEST_F(PrometheusMetricsTest, CountersFollowEveryOutcome) {
  EXPECT_TRUE(begin_on({"a", "b"}).commit().committed());  // two-phase
  EXPECT_TRUE(begin_on({"a"}).commit().committed());       // one-phase
  EXPECT_TRUE(begin_on({}).commit().committed());          // nothing enlisted
  b_->script(Verb::kPrepare, {.code = XA_RDONLY});
  EXPECT_TRUE(begin_on({"a", "b"}).commit().committed());  // b read-only: a commits unlogged
  EXPECT_TRUE(begin_on({"a", "b"}).rollback().rolled_back());
  b_->script(Verb::kPrepare, {.code = XA_RBDEADLOCK});
  EXPECT_TRUE(begin_on({"a", "b"}).commit().rolled_back());  // a no vote
  b_->script(Verb::kCommit, {.code = XAER_NOTA});
  EXPECT_EQ(begin_on({"a", "b"}).commit().kind, Outcome::Kind::kHeuristicHazard);
  a_->script(Verb::kCommitOnePhase, {.code = XAER_RMFAIL, .applied = true});
  EXPECT_EQ(begin_on({"a"}).commit().kind, Outcome::Kind::kUnknown);
  b_->script_always(Verb::kCommit, {.code = XAER_RMFAIL});
  Outcome left = begin_on({"a", "b"}).commit();  // b's commit never confirmed: for recovery
  EXPECT_TRUE(left.committed() && left.pending()) << left.to_string();
  Transaction open = begin_on({"c"});

  const Scrape now = scrape();
  const Labels node = {{"node", "test-node"}};
  auto outcome = [](const char* kind) { return Labels{{"node", "test-node"}, {"outcome", kind}}; };
  EXPECT_EQ(now.counter("xatm_transactions_begun_total", node), 10);
  EXPECT_EQ(now.counter("xatm_transactions_total", outcome("committed")), 5);
  EXPECT_EQ(now.counter("xatm_transactions_total", outcome("rolled_back")), 2);
  EXPECT_EQ(now.counter("xatm_transactions_total", outcome("heuristic")), 1);
  EXPECT_EQ(now.counter("xatm_transactions_total", outcome("unknown")), 1);
  EXPECT_EQ(now.counter("xatm_transactions_one_phase_total", node), 1);
  EXPECT_EQ(now.counter("xatm_transactions_read_only_total", node), 1);
  EXPECT_EQ(now.counter("xatm_transactions_timed_out_total", node), 0);
  // The never-confirmed commit and the one-phase commit whose answer was lost, at least.
  const Stats stats = tm_->stats();
  EXPECT_GE(stats.pending_branches, 2u);
  EXPECT_EQ(now.counter("xatm_pending_branches_total", node),
            static_cast<double>(stats.pending_branches));
  EXPECT_EQ(now.counter("xatm_recovered_branches_total", node), 0);
  EXPECT_EQ(now.gauge("xatm_transactions_in_flight", node), 1);
  EXPECT_EQ(now.gauge("xatm_in_doubt_branches", node), 0);
  EXPECT_EQ(now.gauge("xatm_oldest_in_doubt_age_seconds", node), 0);

  EXPECT_TRUE(open.commit().committed());
  const Scrape later = scrape();
  EXPECT_EQ(later.counter("xatm_transactions_total", outcome("committed")), 6);
  EXPECT_EQ(later.gauge("xatm_transactions_in_flight", node), 0);
}

TEST_F(PrometheusMetricsTest, HistogramsCountEachPathAndOnlyTheStepsThatRan) {
  b_->script(Verb::kPrepare, {.delay = milliseconds(20)});
  EXPECT_TRUE(begin_on({"a", "b"}).commit().committed());  // prepare >= 20 ms
  EXPECT_TRUE(begin_on({"a", "b"}).commit().committed());
  b_->script(Verb::kPrepare, {.code = XA_RBDEADLOCK});
  EXPECT_TRUE(begin_on({"a", "b"}).commit().rolled_back());  // prepare ran, no decision, no commit
  EXPECT_TRUE(begin_on({"a"}).commit().committed());
  EXPECT_TRUE(begin_on({"a", "b"}).rollback().rolled_back());

  const Scrape now = scrape();
  auto path = [](const char* name) { return Labels{{"node", "test-node"}, {"path", name}}; };
  auto step = [](const char* name, const char* phase) {
    return Labels{{"node", "test-node"}, {"path", name}, {"phase", phase}};
  };
  const auto two_phase = now.histogram("xatm_commit_duration_seconds", path("two_phase"));
  EXPECT_EQ(two_phase.sample_count, 3u);
  EXPECT_GE(two_phase.sample_sum, 0.020);
  ASSERT_FALSE(two_phase.bucket.empty());
  EXPECT_TRUE(std::isinf(two_phase.bucket.back().upper_bound));
  EXPECT_EQ(two_phase.bucket.back().cumulative_count, 3u);
  EXPECT_EQ(now.histogram("xatm_commit_duration_seconds", path("one_phase")).sample_count, 1u);
  EXPECT_EQ(now.histogram("xatm_commit_duration_seconds", path("rollback")).sample_count, 1u);
  EXPECT_EQ(now.histogram("xatm_commit_duration_seconds", path("empty")).sample_count, 0u);
  EXPECT_EQ(now.histogram("xatm_commit_duration_seconds", path("decision_branch")).sample_count,
            0u);

  const auto prepare = now.histogram("xatm_phase_duration_seconds", step("two_phase", "prepare"));
  EXPECT_EQ(prepare.sample_count, 3u);
  // The 20 ms prepare is above the 10 ms bucket (the bucket list is the default one).
  for (const prom::ClientMetric::Bucket& bucket : prepare.bucket) {
    if (bucket.upper_bound == 0.01) {
      EXPECT_LE(bucket.cumulative_count, 2u);
    }
  }
  EXPECT_EQ(
      now.histogram("xatm_phase_duration_seconds", step("two_phase", "decision")).sample_count, 2u);
  EXPECT_EQ(now.histogram("xatm_phase_duration_seconds", step("two_phase", "commit")).sample_count,
            2u);
  EXPECT_EQ(now.histogram("xatm_phase_duration_seconds", step("one_phase", "commit")).sample_count,
            1u);
  // Steps a path never takes have no series.
  EXPECT_EQ(now.find("xatm_phase_duration_seconds", step("one_phase", "prepare")), nullptr);
  EXPECT_EQ(now.find("xatm_phase_duration_seconds", step("rollback", "commit")), nullptr);
  EXPECT_EQ(now.find("xatm_phase_duration_seconds", step("empty", "commit")), nullptr);
}

TEST_F(PrometheusMetricsTest, InDoubtGaugesShowTheOldestBranchLeftByRecovery) {
  // Prepared branches of this node with a 60 s timeout and no decision logged. The one created
  // 5 s ago may still be in flight, so the recovery pass leaves it in doubt; the one created an
  // hour ago is long past its deadline and grace: presumed aborted, rolled back.
  const auto now_ms = std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now());
  const auto branch_created = [](auto created, std::uint64_t sequence) {
    return make_global_xid({"test-node", created, std::chrono::seconds(60), sequence})->branch(0);
  };
  a_->prepare_detached(branch_created(now_ms - std::chrono::seconds(5), 1ULL << 40));
  a_->prepare_detached(branch_created(now_ms - std::chrono::hours(1), (1ULL << 40) + 1));
  ASSERT_TRUE(tm_->recover().ok());

  const Scrape now = scrape();
  const Labels node = {{"node", "test-node"}};
  EXPECT_EQ(now.counter("xatm_recovered_branches_total", node), 1);
  EXPECT_EQ(now.gauge("xatm_in_doubt_branches", node), 1);
  const double age = now.gauge("xatm_oldest_in_doubt_age_seconds", node);
  EXPECT_GE(age, 5.0);
  EXPECT_LT(age, 60.0);
}

TEST_F(PrometheusMetricsTest, TimedOutTransactionsAreCounted) {
  Transaction tx = begin_on({"a"}, milliseconds(100));
  const Xid branch = tx.xid().branch(0);
  for (int i = 0; i < 400 && a_->rolled_back().count(branch) == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_EQ(a_->rolled_back().count(branch), 1u) << "the reaper did not roll it back in 2 s";
  EXPECT_TRUE(tx.commit().rolled_back());

  const Scrape now = scrape();
  EXPECT_EQ(now.counter("xatm_transactions_timed_out_total", {{"node", "test-node"}}), 1);
  EXPECT_EQ(
      now.counter("xatm_transactions_total", {{"node", "test-node"}, {"outcome", "rolled_back"}}),
      1);
}

TEST_F(PrometheusMetricsTest, DestroyingTheMetricsTakesThisNodeOffTheRegistry) {
  EXPECT_TRUE(begin_on({"a", "b"}).commit().committed());
  EXPECT_GT(scrape().count_of_node("test-node"), 20);
  metrics_.reset();
  EXPECT_EQ(Scrape(registry_).count_of_node("test-node"), 0);
  // The TM keeps the observer, now detached: transactions go on.
  EXPECT_TRUE(begin_on({"a", "b"}).commit().committed());
  EXPECT_EQ(Scrape(registry_).count_of_node("test-node"), 0);
}

TEST_F(PrometheusMetricsTest, RegisteringAfterStartFailsAndLeavesNothing) {
  prom::Registry other;
  Result<prometheus::Metrics> late =
      prometheus::register_metrics(*tm_, other, {.node = "test-node"});
  EXPECT_EQ(late.status().code(), StatusCode::kFailedPrecondition) << late.status().to_string();
  EXPECT_EQ(Scrape(other).count_of_node("test-node"), 0);
}

TEST(PrometheusMetricsOptionsTest, TwoNodesShareARegistryAndANodeRegistersOnce) {
  prom::Registry registry;
  TransactionManager first({.node_name = "first"}), second({.node_name = "second"});
  TransactionManager again({.node_name = "first"});
  Result<prometheus::Metrics> one =
      prometheus::register_metrics(first, registry, {.node = "first"});
  Result<prometheus::Metrics> two =
      prometheus::register_metrics(second, registry, {.node = "second"});
  ASSERT_TRUE(one.ok()) << one.status().to_string();
  ASSERT_TRUE(two.ok()) << two.status().to_string();
  Result<prometheus::Metrics> twice =
      prometheus::register_metrics(again, registry, {.node = "first"});
  EXPECT_EQ(twice.status().code(), StatusCode::kAlreadyExists) << twice.status().to_string();
  // The same node with another label set is another series.
  Result<prometheus::Metrics> labelled = prometheus::register_metrics(
      again, registry, {.node = "first", .labels = {{"service", "orders"}}});
  EXPECT_TRUE(labelled.ok()) << labelled.status().to_string();

  const Scrape now{registry};
  EXPECT_EQ(
      now.counter("xatm_transactions_begun_total", {{"node", "first"}, {"service", "orders"}}), 0);
  EXPECT_EQ(now.counter("xatm_transactions_begun_total", {{"node", "second"}}), 0);
  EXPECT_EQ(now.count_of_node("first"), now.count_of_node("second") * 2);
}

TEST(PrometheusMetricsOptionsTest, BadOptionsAndRefusedNamesAreInvalidArguments) {
  prom::Registry registry;
  TransactionManager tm({.node_name = "n"});
  auto code = [&](prometheus::MetricsOptions options) {
    return prometheus::register_metrics(tm, registry, std::move(options)).status().code();
  };
  EXPECT_EQ(code({.node = std::string(65, 'n')}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({.node = "n", .labels = {{"path", "x"}}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({.node = "n", .labels = {{"bad-name", "x"}}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({.node = "n", .buckets = {0.1, 0.1}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({.node = "n", .refresh_interval = milliseconds(-1)}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Scrape(registry).count_of_node("n"), 0) << "a refused registration leaves nothing";

  // One of xatm's names taken by a metric of another type.
  prom::Registry taken;
  prom::BuildGauge().Name("xatm_transactions_begun_total").Help("not xatm's").Register(taken);
  Result<prometheus::Metrics> refused = prometheus::register_metrics(tm, taken, {.node = "n"});
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << refused.status().to_string();
  EXPECT_EQ(Scrape(taken).count_of_node("n"), 0);
}

TEST(PrometheusMetricsOptionsTest, TheRefreshThreadCopiesTheStats) {
  prom::Registry registry;
  auto rm = std::make_shared<fake::FakeResource>("a");
  Options options;
  options.node_name = "refreshed";
  options.recovery_interval = milliseconds(0);
  TransactionManager tm(options, std::make_unique<RecordingLog>());
  ASSERT_TRUE(tm.add(rm->make_handle()).ok());
  Result<prometheus::Metrics> metrics = prometheus::register_metrics(
      tm, registry, {.node = "refreshed", .refresh_interval = milliseconds(500)});
  ASSERT_TRUE(metrics.ok()) << metrics.status().to_string();
  ASSERT_TRUE(tm.start().ok());

  Result<Transaction> tx = tm.begin();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(tx->enlist("a").ok());
  EXPECT_TRUE(tx->commit().committed());
  const Labels committed = {{"node", "refreshed"}, {"outcome", "committed"}};
  double seen = 0;
  for (int i = 0; i < 150 && seen == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(20));
    seen = Scrape(registry).counter("xatm_transactions_total", committed);
  }
  EXPECT_EQ(seen, 1) << "the refresh thread did not copy the stats within 3 s";
}

}  // namespace
}  // namespace xatm::testing
