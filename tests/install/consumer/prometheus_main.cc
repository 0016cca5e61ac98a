// Uses the installed xatm::prometheus: registers a TransactionManager's metrics on a registry
// and finds them in a collection (built only when the installed xatm has the target).
#include <prometheus/registry.h>
#include <xatm/prometheus/metrics.h>
#include <xatm/transaction_manager.h>

#include <cstdio>
#include <string>

int main() {
  prometheus::Registry registry;
  xatm::TransactionManager tm({.node_name = "consumer-1", .log_dir = "unused-not-started"});
  xatm::Result<xatm::prometheus::Metrics> metrics =
      xatm::prometheus::register_metrics(tm, registry, {.node = "consumer-1"});
  if (!metrics.ok()) {
    std::printf("%s\n", metrics.status().to_string().c_str());
    return 1;
  }
  bool found = false;
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    found = found || family.name == "xatm_transactions_begun_total";
  }
  std::printf("xatm_transactions_begun_total %s\n", found ? "registered" : "MISSING");
  return found ? 0 : 1;
}
