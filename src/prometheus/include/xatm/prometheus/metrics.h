// xatm::prometheus: a TransactionManager's counters, gauges and latency histograms on the
// application's prometheus-cpp registry (the optional target, CMake option XATM_WITH_PROMETHEUS).
//
//   auto registry = std::make_shared<prometheus::Registry>();
//   xatm::TransactionManager tm({.node_name = "orders-1", .log_dir = "/var/lib/orders/xatm"});
//   ... tm.add(...) ...
//   xatm::Result<xatm::prometheus::Metrics> metrics =
//       xatm::prometheus::register_metrics(tm, *registry);  // label node="orders-1"
//   XATM_RETURN_IF_ERROR(tm.start());
//   prometheus::Exposer exposer("127.0.0.1:9464");  // prometheus-cpp's pull target
//   exposer.RegisterCollectable(registry);
//
// docs/user-guide.md ("Metrics") lists every metric. Counters and gauges are copied from
// tm.stats() by a background thread every MetricsOptions::refresh_interval (prometheus-cpp 1.0
// has no scrape-time callback on a Registry); the histograms are fed by a TransactionObserver as
// each transaction ends. Every metric carries the label node="<the TM's node name>", so the TMs
// of one process can share a registry.
//
// This header does not include prometheus-cpp: prometheus::Registry is forward-declared, and an
// application that creates one includes <prometheus/registry.h> itself.
//
// Thread safety: register_metrics() may be called from any thread; Metrics::refresh() too,
// concurrently with the refresh thread and with ended transactions.
#ifndef XATM_PROMETHEUS_METRICS_H_
#define XATM_PROMETHEUS_METRICS_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "xatm/status.h"
#include "xatm/transaction_manager.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace xatm::prometheus {

struct MetricsOptions {
  // The value of the `node` label on every metric; empty: the TM's node_name(). At most 64 bytes.
  std::string node;
  // More labels for every metric, e.g. {{"service", "orders"}}. Their names must be valid
  // Prometheus label names and must not be "node", "outcome", "path" or "phase".
  std::map<std::string, std::string> labels;
  // Upper bounds in seconds of the histograms' buckets, strictly increasing (+Inf is implied).
  // The default spans 100 µs (a one-phase commit on a local socket) to 10 s (a stuck branch).
  std::vector<double> buckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
  // How often the background thread copies tm.stats() into the counters and gauges; a scrape
  // sees values at most this old. Zero starts no thread: only Metrics::refresh() updates them.
  std::chrono::milliseconds refresh_interval{1'000};
};

// What register_metrics() put on the registry. Move-only; a moved-from Metrics does nothing.
//
// Lifetime: the TransactionManager and the registry must outlive it. Destroying it stops the
// refresh thread, turns the observer that the TM keeps into a no-op, and removes this node's
// metrics from the registry (the metric families stay, possibly shared with other nodes).
class Metrics {
 public:
  Metrics(Metrics&&) noexcept;
  Metrics& operator=(Metrics&&) noexcept;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;
  ~Metrics();

  // Copies tm.stats() into the counters and gauges now, e.g. right before an application
  // scrapes its own registry, or in tests with refresh_interval zero.
  void refresh();

 private:
  class Impl;  // metrics.cc
  friend Result<Metrics> register_metrics(TransactionManager& tm, ::prometheus::Registry& registry,
                                          MetricsOptions options);
  explicit Metrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Registers the metrics of `tm` on `registry` and adds their TransactionObserver to `tm`, so it
// must be called before tm.start(). The counters start at tm.stats()'s values.
//
// Errors: kFailedPrecondition when tm has started (TransactionManager::add_observer);
// kInvalidArgument for a too long node, a bad label or bucket list, or when the
// registry refuses a name (one of xatm's names already used by a metric of another type, or by
// any family when the registry was made with InsertBehavior::Throw: the TMs of one process share
// families only on a registry with the default InsertBehavior::Merge); kAlreadyExists when this
// registry already has the metrics of a node with the same name and labels.
Result<Metrics> register_metrics(TransactionManager& tm, ::prometheus::Registry& registry,
                                 MetricsOptions options = {});

}  // namespace xatm::prometheus

#endif  // XATM_PROMETHEUS_METRICS_H_
