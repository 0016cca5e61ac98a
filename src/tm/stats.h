// The counters behind TransactionManager::stats().
//
// Thread safety: every method may be called from any thread.
#ifndef XATM_SRC_TM_STATS_H_
#define XATM_SRC_TM_STATS_H_

#include <atomic>
#include <cstdint>

#include "xatm/outcome.h"
#include "xatm/transaction_manager.h"

namespace xatm::internal {

class StatsCounters {
 public:
  void begun() { ++begun_; }
  void one_phase() { ++one_phase_; }
  void read_only() { ++read_only_; }
  void timed_out() { ++timed_out_; }
  // A transaction ended with `outcome`, `pending` of its branches left to recovery.
  void ended(const Outcome& outcome, std::size_t pending);

  // The counters; the caller fills in the gauges.
  Stats snapshot() const;

 private:
  std::atomic<std::uint64_t> begun_{0}, committed_{0}, rolled_back_{0}, one_phase_{0},
      read_only_{0}, heuristic_{0}, unknown_{0}, timed_out_{0}, pending_branches_{0};
};

}  // namespace xatm::internal

#endif  // XATM_SRC_TM_STATS_H_
