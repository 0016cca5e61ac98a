// The live content of the decision log, kept in memory: the log's LOG-INFO, COMMIT records
// without a DONE and HEURISTIC records whose global transaction has no DONE (nor a FORGET of
// their own), each in log order.
//
// Recovery builds it by replaying every segment; FileLog updates it after each append and
// writes it into every new segment.
//
// Thread safety: none; FileLog's mutex guards it.
#ifndef XATM_SRC_LOG_LOG_STATE_H_
#define XATM_SRC_LOG_LOG_STATE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "log/log_record.h"
#include "xatm/decision_log.h"
#include "xatm/status.h"
#include "xatm/xid.h"

namespace xatm::internal {

class LogState {
 public:
  // How a COMMIT record compares with the live decision for its global transaction.
  enum class Match { kNone, kIdentical, kConflict };

  [[nodiscard]] Match match(const CommitRecord& record) const;
  [[nodiscard]] bool contains(const HeuristicRecord& record) const;

  // REQUIRES: match(record) == kNone.
  void add_commit(CommitRecord record);
  // REQUIRES: !contains(record).
  void add_heuristic(HeuristicRecord record);
  // Forgets the decision and the heuristics of global transaction `global`.
  void mark_done(const Xid& global);
  // Forgets the heuristics of `branch`.
  void forget(const DecisionBranch& branch);

  // Replays a record read from the log. A record identical to a live one is skipped: segments
  // overlap after a crash during rotation, when both the old segment and the copy carried into
  // the new one are still there. A COMMIT record that conflicts with a live decision for the
  // same global transaction is kDataLoss (the reason only; the caller names file and offset),
  // and so is a LOG-INFO with another birth than an earlier one (segments of two logs mixed).
  // Of several LOG-INFO records the highest sequence limit is in force.
  // By value: a caller done with its record moves it in rather than have it copied.
  Status replay(LogRecord record);

  [[nodiscard]] std::vector<CommitRecord> open_decisions() const;
  [[nodiscard]] std::vector<HeuristicRecord> open_heuristics() const;
  // The LOG-INFO in force; nullopt when no LOG-INFO was read (a format-version-1 log, or one
  // whose creation was cut short).
  [[nodiscard]] const std::optional<LogInfoRecord>& info() const { return info_; }
  void set_info(LogInfoRecord info) { info_ = info; }
  // What a new segment must start with: the LOG-INFO, then the live COMMIT and HEURISTIC
  // records in log order.
  [[nodiscard]] std::vector<LogRecord> live_records() const;

 private:
  std::uint64_t next_sequence_ = 0;
  // Log order is the order of the sequence numbers.
  std::map<std::uint64_t, CommitRecord> commits_;
  std::map<Xid, std::uint64_t> commit_sequence_;  // global xid -> key in commits_
  std::map<std::uint64_t, HeuristicRecord> heuristics_;
  std::optional<LogInfoRecord> info_;
};

}  // namespace xatm::internal

#endif  // XATM_SRC_LOG_LOG_STATE_H_
