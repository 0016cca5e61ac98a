#include "tm/latency_histogram.h"

#include <bit>
#include <cmath>

namespace xatm::internal {

std::size_t LatencyHistogram::bucket_of(std::uint64_t micros) {
  if (micros < kExact) return micros;
  const int msb = std::bit_width(micros) - 1;  // >= 6
  const std::uint64_t sub = (micros >> (msb - 4)) & (kSubBuckets - 1);
  return kExact + static_cast<std::size_t>(msb - 6) * kSubBuckets + sub;
}

std::uint64_t LatencyHistogram::upper_bound_of(std::size_t bucket) {
  if (bucket < kExact) return bucket;
  const std::size_t msb = (bucket - kExact) / kSubBuckets + 6;
  const std::uint64_t sub = (bucket - kExact) % kSubBuckets;
  const std::uint64_t base = std::uint64_t{1} << msb;
  const std::uint64_t step = base / kSubBuckets;
  return base + (sub + 1) * step - 1;
}

void LatencyHistogram::record(std::uint64_t micros) {
  counts_[bucket_of(micros)].fetch_add(1, std::memory_order_relaxed);
  total_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t LatencyHistogram::percentile(double fraction) const {
  const std::uint64_t total = total_.load(std::memory_order_relaxed);
  if (total == 0) return 0;
  const auto wanted = static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(total)));
  std::uint64_t seen = 0;
  for (std::size_t bucket = 0; bucket < kBuckets; ++bucket) {
    seen += counts_[bucket].load(std::memory_order_relaxed);
    if (seen >= wanted) return upper_bound_of(bucket);
  }
  return upper_bound_of(kBuckets - 1);
}

}  // namespace xatm::internal
