// Payload encoding of the decision log's records (docs/log-format.md, "Payloads").
//
// Thread safety: pure functions.
#ifndef XATM_SRC_LOG_LOG_RECORD_H_
#define XATM_SRC_LOG_LOG_RECORD_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "log/log_format.h"
#include "xatm/decision_log.h"
#include "xatm/status.h"
#include "xatm/xid.h"

namespace xatm::internal {

// A DONE record: every branch of `global` has confirmed.
struct DoneRecord {
  Xid global;

  friend bool operator==(const DoneRecord&, const DoneRecord&) = default;
};

// A LOG-INFO record: what the log knows of its own history (docs/log-format.md). Written when
// the log is created, first in every new segment, and whenever more XID sequence numbers are
// reserved; the last one read is in force.
struct LogInfoRecord {
  // When the log was created, in microseconds since the Unix epoch. Recovery never presumes
  // abort for an XID created before: its decision may be in another log. 0 for a log created
  // by format version 1, which did not record it (such a log is older than anything).
  std::int64_t birth_micros = 0;
  // Every XID sequence number issued under this log is below this (a durable high-water mark,
  // so that XIDs stay unique whatever the wall clock does).
  std::uint64_t sequence_limit = 0;

  friend bool operator==(const LogInfoRecord&, const LogInfoRecord&) = default;
};

// A FORGET record: the operator forgot the heuristic outcome of `branch`; its HEURISTIC record
// is no longer live.
struct ForgetRecord {
  DecisionBranch branch;

  friend bool operator==(const ForgetRecord&, const ForgetRecord&) = default;
};

// One decoded record. FROZEN order: record_type() maps the index to the type.
using LogRecord =
    std::variant<CommitRecord, DoneRecord, HeuristicRecord, LogInfoRecord, ForgetRecord>;

RecordType record_type(const LogRecord& record);

// The payload of `record`. kInvalidArgument (nothing is written) when it cannot be encoded: a
// COMMIT or DONE xid with a non-empty bqual, a data source name longer than kMaxStringSize, a
// payload larger than kMaxPayloadSize. One overload per type, so that encoding a record does
// not copy it into a LogRecord first.
Result<std::string> encode_payload(const CommitRecord& record);
Result<std::string> encode_payload(const DoneRecord& record);
Result<std::string> encode_payload(const HeuristicRecord& record);
Result<std::string> encode_payload(const LogInfoRecord& record);
Result<std::string> encode_payload(const ForgetRecord& record);
Result<std::string> encode_payload(const LogRecord& record);

// Decodes a payload of `type`. kDataLoss with the reason (the caller adds file and offset) for
// an unknown type, a truncated or oversized field, an invalid xid, or bytes left over.
Result<LogRecord> decode_payload(std::uint8_t type, std::string_view payload);

}  // namespace xatm::internal

#endif  // XATM_SRC_LOG_LOG_RECORD_H_
