#include "tm/xid_generator.h"

#include <limits>

namespace xatm::internal {

Status XidGenerator::reserve_next_block_locked() {
  if (limit_ > std::numeric_limits<std::uint64_t>::max() - kBlock) {
    return failed_precondition_error("the XID sequence numbers of node '" + node_name_ +
                                     "' are used up");
  }
  XATM_RETURN_IF_ERROR(log_.reserve_sequences(limit_ + kBlock)
                           .with_context("reserving XID sequence numbers in the decision log"));
  limit_ += kBlock;
  return Status();
}

Result<std::uint64_t> XidGenerator::start() {
  std::lock_guard lock(mutex_);
  next_ = limit_ = log_.sequence_limit();
  XATM_RETURN_IF_ERROR(reserve_next_block_locked());
  return next_;
}

Result<XidGenerator::Next> XidGenerator::next(std::chrono::milliseconds timeout) {
  const auto created = std::chrono::time_point_cast<std::chrono::milliseconds>(clock_());
  std::uint64_t sequence = 0;
  {
    std::lock_guard lock(mutex_);
    if (next_ == limit_) XATM_RETURN_IF_ERROR(reserve_next_block_locked());
    sequence = next_++;
  }
  Result<Xid> global = make_global_xid({node_name_, created, timeout, sequence});
  if (!global.ok()) return global.status();
  return Next{std::move(global).value(), created};
}

}  // namespace xatm::internal
