// What benchmarks and tests may know of the file log beyond xatm/decision_log.h, in one place,
// so that they do not reach into src/log/: its counters, the size of a framed record, and a
// file log whose files live in memory.
#ifndef XATM_TESTING_LOG_FILE_LOG_TESTING_H_
#define XATM_TESTING_LOG_FILE_LOG_TESTING_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "xatm/decision_log.h"
#include "xatm/status.h"

namespace xatm::internal {
class PowerLossEnv;
}  // namespace xatm::internal

namespace xatm::testing {

// What a file log has written since it was opened.
struct FileLogCounters {
  std::uint64_t records = 0;         // records written (carried copies not counted)
  std::uint64_t batches = 0;         // writes of a batch
  std::uint64_t synced_batches = 0;  // batches made durable by an fdatasync of their own
  std::uint64_t rotations = 0;       // new segments started
};

// REQUIRES: `log` was opened by open_file_log() or open_in_memory_file_log().
FileLogCounters file_log_counters(const DecisionLog& log);

// The bytes `record` takes in a segment: record header and payload.
std::size_t framed_size(const CommitRecord& record);

// A file log over the in-memory file system of PowerLossEnv (no disk, no fsync cost), and that
// file system, which must outlive the log: destroy `log` first.
struct InMemoryFileLog {
  std::unique_ptr<internal::PowerLossEnv> env;
  std::unique_ptr<DecisionLog> log;

  InMemoryFileLog();
  InMemoryFileLog(InMemoryFileLog&&) noexcept;
  ~InMemoryFileLog();
};
Result<InMemoryFileLog> open_in_memory_file_log(const FileLogOptions& options);

}  // namespace xatm::testing

#endif  // XATM_TESTING_LOG_FILE_LOG_TESTING_H_
