#include "tm/enlistment.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace xatm::internal {
namespace {

constexpr std::uint32_t kMaxBranches = 65536;  // the bqual holds a 16-bit index

}  // namespace

Result<XaConnection*> enlist(TransactionState& tx, DataSources& sources, std::string_view name) {
  // Built only for an error message, as it hex-encodes the XID.
  const auto where = [&tx] { return "transaction " + tx.global.to_string(); };
  if (tx.outcome) return aborted_error(where() + " has ended");
  if (tx.timed_out) return aborted_error(where() + " " + *tx.timed_out);
  if (tx.rollback_only_reason) {
    return aborted_error(where() + " is rollback-only: " + *tx.rollback_only_reason);
  }
  if (tx.past_deadline()) {  // the caller marks it timed out first; this is a safety net
    tx.rollback_only_reason = "deadline exceeded";
    return aborted_error(where() + " passed its deadline; it can only roll back");
  }
  for (Branch& branch : tx.branches) {
    if (*branch.data_source == name) return branch.connection.get();
  }
  DataSources::Source source = sources.find(name);
  if (source.resource == nullptr) {
    return not_found_error("no data source named '" + std::string(name) + "'");
  }
  Xid xid = tx.global;
  Result<std::unique_ptr<XaConnection>> connection = source.pool->acquire();
  XaReply started{XAER_RMFAIL, ""};
  // An idle session may have died with its server since it was pooled: one more try on a fresh
  // session (the other idle ones likely died too), under a new bqual in case the first start
  // reached the server before the session died.
  for (int attempt = 0; attempt < 2 && connection.ok(); ++attempt) {
    if (tx.next_branch_index >= kMaxBranches) return failed_precondition_error(where() + ": too many branches");
    xid = tx.global.branch(static_cast<std::uint16_t>(tx.next_branch_index++),
                           (*connection)->branch_tag());
    started = (*connection)->start(xid);
    if (started.code != XAER_RMFAIL || attempt == 1) break;
    source.pool->discard_idle();
    connection = source.pool->acquire();
  }
  if (!connection.ok()) return connection.status().with_context("data source '" + *source.name + "'");
  if (!started.ok()) {
    // The session's state is unclear after a refused start: close it rather than pool it.
    std::string message = "data source '" + *source.name + "': xa_start of " + xid.to_string() +
                          " answered " + xa_code_name(started.code) +
                          (started.detail.empty() ? "" : " (" + started.detail + ")");
    if (started.code == XAER_RMFAIL) return unavailable_error(std::move(message));
    if (started.code == XAER_DUPID) return already_exists_error(std::move(message));
    return failed_precondition_error(std::move(message));
  }
  tx.branches.emplace_back(source.name, source.resource, source.pool, std::move(xid),
                           std::move(*connection));
  return tx.branches.back().connection.get();
}

}  // namespace xatm::internal
