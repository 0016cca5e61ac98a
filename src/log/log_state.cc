#include "log/log_state.h"

#include <utility>

namespace xatm::internal {

LogState::Match LogState::match(const CommitRecord& record) const {
  auto found = commit_sequence_.find(record.global);
  if (found == commit_sequence_.end()) return Match::kNone;
  return commits_.at(found->second) == record ? Match::kIdentical : Match::kConflict;
}

bool LogState::contains(const HeuristicRecord& record) const {
  for (const auto& [sequence, live] : heuristics_) {
    if (live == record) return true;
  }
  return false;
}

void LogState::add_commit(CommitRecord record) {
  std::uint64_t sequence = next_sequence_++;
  commit_sequence_[record.global] = sequence;
  commits_.emplace(sequence, std::move(record));
}

void LogState::add_heuristic(HeuristicRecord record) {
  heuristics_.emplace(next_sequence_++, std::move(record));
}

void LogState::mark_done(const Xid& global) {
  auto found = commit_sequence_.find(global);
  if (found != commit_sequence_.end()) {
    commits_.erase(found->second);
    commit_sequence_.erase(found);
  }
  std::erase_if(heuristics_, [&global](const auto& entry) {
    return entry.second.branch.xid.same_global(global);
  });
}

void LogState::forget(const DecisionBranch& branch) {
  std::erase_if(heuristics_, [&branch](const auto& entry) { return entry.second.branch == branch; });
}

Status LogState::replay(LogRecord record) {
  if (auto* commit = std::get_if<CommitRecord>(&record)) {
    switch (match(*commit)) {
      case Match::kNone: add_commit(std::move(*commit)); break;
      case Match::kIdentical: break;
      case Match::kConflict:
        return data_loss_error("COMMIT record for " + commit->global.to_string() +
                               " conflicts with an earlier live one");
    }
  } else if (const auto* done = std::get_if<DoneRecord>(&record)) {
    mark_done(done->global);
  } else if (auto* heuristic = std::get_if<HeuristicRecord>(&record)) {
    if (!contains(*heuristic)) add_heuristic(std::move(*heuristic));
  } else if (const auto* info = std::get_if<LogInfoRecord>(&record)) {
    if (info_ && info_->birth_micros != info->birth_micros) {
      return data_loss_error("LOG-INFO with birth " + std::to_string(info->birth_micros) +
                             " after one with birth " + std::to_string(info_->birth_micros) +
                             ": segments of two different logs are mixed in one directory");
    }
    if (!info_ || info->sequence_limit > info_->sequence_limit) info_ = *info;
  } else if (const auto* forgotten = std::get_if<ForgetRecord>(&record)) {
    forget(forgotten->branch);
  }
  return Status();
}

std::vector<CommitRecord> LogState::open_decisions() const {
  std::vector<CommitRecord> records;
  records.reserve(commits_.size());
  for (const auto& [sequence, record] : commits_) records.push_back(record);
  return records;
}

std::vector<LogRecord> LogState::live_records() const {
  std::vector<LogRecord> records;
  records.reserve(1 + commits_.size() + heuristics_.size());
  if (info_) records.emplace_back(*info_);
  for (const auto& [sequence, record] : commits_) records.emplace_back(record);
  for (const auto& [sequence, record] : heuristics_) records.emplace_back(record);
  return records;
}

std::vector<HeuristicRecord> LogState::open_heuristics() const {
  std::vector<HeuristicRecord> records;
  records.reserve(heuristics_.size());
  for (const auto& [sequence, record] : heuristics_) records.push_back(record);
  return records;
}

}  // namespace xatm::internal
