// A DecisionLog test double that keeps records in memory, stamps each append with the fakes'
// global event sequence (so tests can order appends against XA calls), and can fail appends.
#ifndef XATM_TESTS_UNIT_RECORDING_LOG_H_
#define XATM_TESTS_UNIT_RECORDING_LOG_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <utility>
#include <string>
#include <vector>

#include "xatm/decision_log.h"
#include "xatm/fake/fake_resource.h"

namespace xatm::testing {

class RecordingLog : public DecisionLog {
 public:
  struct Event {
    std::string type;  // "commit", "done", "heuristic", "forget"
    std::string xid;
    int code = 0;
    std::uint64_t sequence = 0;
  };

  Status log_commit(const CommitRecord& record) override {
    std::lock_guard lock(mutex_);
    if (!fail_commits_.ok()) {
      health_ = fail_commits_;  // sticky, like the file log after a failed sync
      return fail_commits_;
    }
    events_.push_back({"commit", record.global.to_string(), 0, fake::next_event_sequence()});
    open_.push_back(record);
    return Status();
  }
  Status log_done(const Xid& global) override {
    std::lock_guard lock(mutex_);
    events_.push_back({"done", global.to_string(), 0, fake::next_event_sequence()});
    std::erase_if(open_, [&](const CommitRecord& r) { return r.global == global; });
    return Status();
  }
  Status log_heuristic(const HeuristicRecord& record) override {
    std::lock_guard lock(mutex_);
    events_.push_back(
        {"heuristic", record.branch.xid.to_string(), record.xa_code, fake::next_event_sequence()});
    heuristics_.push_back(record);
    return Status();
  }
  Status log_forget(const DecisionBranch& branch) override {
    std::lock_guard lock(mutex_);
    events_.push_back({"forget", branch.xid.to_string(), 0, fake::next_event_sequence()});
    std::erase_if(heuristics_, [&](const HeuristicRecord& r) { return r.branch == branch; });
    return Status();
  }
  // Not recorded as events: tests of the protocol look at decisions.
  Status reserve_sequences(std::uint64_t limit) override {
    std::lock_guard lock(mutex_);
    if (!fail_commits_.ok()) return fail_commits_;
    sequence_limit_ = std::max(sequence_limit_, limit);
    return Status();
  }
  std::chrono::system_clock::time_point birth() const override {
    std::lock_guard lock(mutex_);
    return birth_;
  }
  std::uint64_t sequence_limit() const override {
    std::lock_guard lock(mutex_);
    return sequence_limit_;
  }
  void set_birth(std::chrono::system_clock::time_point birth) {
    std::lock_guard lock(mutex_);
    birth_ = birth;
  }
  std::vector<CommitRecord> open_decisions() const override {
    std::lock_guard lock(mutex_);
    return open_;
  }
  std::vector<HeuristicRecord> open_heuristics() const override {
    std::lock_guard lock(mutex_);
    return heuristics_;
  }
  Status health() const override {
    std::lock_guard lock(mutex_);
    return health_;
  }

  void fail_commits(Status status) {
    std::lock_guard lock(mutex_);
    fail_commits_ = std::move(status);
  }
  std::vector<Event> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<std::string> types() const {
    std::vector<std::string> names;
    for (const Event& event : events()) names.push_back(event.type);
    return names;
  }

 private:
  mutable std::mutex mutex_;
  Status fail_commits_;
  Status health_;
  std::vector<Event> events_;
  std::vector<CommitRecord> open_;
  std::vector<HeuristicRecord> heuristics_;
  std::chrono::system_clock::time_point birth_{};  // older than anything, as a version-1 log
  // As if earlier incarnations had issued numbers up to here: hand-made XIDs of tests, with
  // small sequence numbers, count as issued under this log.
  std::uint64_t sequence_limit_ = std::uint64_t{1} << 40;
};

}  // namespace xatm::testing

#endif  // XATM_TESTS_UNIT_RECORDING_LOG_H_
