#include "testing/log/file_log_testing.h"

#include <utility>

#include "log/file_log.h"
#include "log/log_format.h"
#include "log/log_record.h"
#include "testing/log/power_loss_env.h"

namespace xatm::testing {

FileLogCounters file_log_counters(const DecisionLog& log) {
  const internal::FileLog::Stats stats = dynamic_cast<const internal::FileLog&>(log).stats();
  return {stats.records, stats.batches, stats.synced_batches, stats.rotations};
}

std::size_t framed_size(const CommitRecord& record) {
  return internal::kRecordHeaderSize + internal::encode_payload(record).value().size();
}

InMemoryFileLog::InMemoryFileLog() = default;
InMemoryFileLog::InMemoryFileLog(InMemoryFileLog&&) noexcept = default;
InMemoryFileLog::~InMemoryFileLog() { log.reset(); }  // before the file system it writes to

Result<InMemoryFileLog> open_in_memory_file_log(const FileLogOptions& options) {
  InMemoryFileLog opened;
  opened.env = std::make_unique<internal::PowerLossEnv>();
  Result<std::unique_ptr<DecisionLog>> log = internal::open_file_log(options, *opened.env);
  if (!log.ok()) return log.status();
  opened.log = std::move(log).value();
  return opened;
}

}  // namespace xatm::testing
