// A lock-free latency histogram with about 6% resolution (HDR-style: 16 sub-buckets per power
// of two above 64 µs, exact below), for the percentiles of TransactionManager::stats().
//
// Thread safety: record() and percentile() may be called concurrently from any thread.
#ifndef XATM_SRC_TM_LATENCY_HISTOGRAM_H_
#define XATM_SRC_TM_LATENCY_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace xatm::internal {

class LatencyHistogram {
 public:
  void record(std::uint64_t micros);
  // The smallest recorded value v such that `fraction` of the samples are <= v (within the
  // bucket resolution); 0 when empty. fraction in (0, 1].
  std::uint64_t percentile(double fraction) const;

 private:
  static constexpr std::size_t kExact = 64;
  static constexpr std::size_t kSubBuckets = 16;
  static constexpr std::size_t kBuckets = kExact + (64 - 6) * kSubBuckets;

  static std::size_t bucket_of(std::uint64_t micros);
  static std::uint64_t upper_bound_of(std::size_t bucket);

  std::array<std::atomic<std::uint64_t>, kBuckets> counts_{};
  std::atomic<std::uint64_t> total_{0};
};

}  // namespace xatm::internal

#endif  // XATM_SRC_TM_LATENCY_HISTOGRAM_H_
