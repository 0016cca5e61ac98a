// xa_bench_fake: N global transactions over fake data sources (xatm::fake, no database I/O),
// for counting the TM's own instructions per transaction with callgrind (docs/performance.md):
//
//   xa_bench_fake N [branches=2] [log_dir]
//
// Run it for two N and divide the difference in instructions by the difference in N, which
// removes start-up costs. The decision log is the real file log (its fdatasync is a system
// call, which callgrind does not count as instructions).
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "xatm/fake/fake_resource.h"
#include "xatm/transaction_manager.h"

#ifndef XATM_BENCH_DIR
#define XATM_BENCH_DIR "xa_bench_fake.d"
#endif

int main(int argc, char** argv) {
  const long count = argc > 1 ? std::atol(argv[1]) : 1000;
  const int branches = argc > 2 ? std::atoi(argv[2]) : 2;
  const std::string log_dir = argc > 3 ? argv[3] : XATM_BENCH_DIR;
  std::filesystem::remove_all(log_dir);
  std::vector<std::shared_ptr<xatm::fake::FakeResource>> fakes;
  xatm::TransactionManager tm({.node_name = "xabenchfake", .log_dir = log_dir});
  for (int i = 0; i < branches; ++i) {
    fakes.push_back(std::make_shared<xatm::fake::FakeResource>("fake" + std::to_string(i)));
    if (!tm.add(fakes.back()->make_handle()).ok()) return 1;
  }
  if (xatm::Status status = tm.start(); !status.ok()) { std::cerr << status.to_string() << "\n"; return 1; }
  long committed = 0;
  for (long n = 0; n < count; ++n) {
    xatm::Result<xatm::Transaction> tx = tm.begin();
    if (!tx.ok()) return 1;
    for (int i = 0; i < branches; ++i) {
      if (!tx->enlist("fake" + std::to_string(i)).ok()) return 1;
    }
    if (tx->commit().committed()) ++committed;
    if (n % 256 == 255) for (auto& fake : fakes) fake->clear_calls();  // keep the fakes' record small
  }
  std::cout << "xa_bench_fake: transactions=" << count << " committed=" << committed << " branches=" << branches << "\n";
  return committed == count ? 0 : 1;
}
