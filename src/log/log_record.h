// Payload encoding of the decision log's records (docs/log-format.md, "Payloads").
//
// Thread safety: pure functions.
#ifndef XATM_SRC_LOG_LOG_RECORD_H_
#define XATM_SRC_LOG_LOG_RECORD_H_

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

// One decoded record.
using LogRecord = std::variant<CommitRecord, DoneRecord, HeuristicRecord>;

RecordType record_type(const LogRecord& record);

// The payload of `record`. kInvalidArgument (nothing is written) when it cannot be encoded: a
// COMMIT or DONE xid with a non-empty bqual, a data source name longer than kMaxStringSize, a
// payload larger than kMaxPayloadSize. One overload per type, so that encoding a record does
// not copy it into a LogRecord first.
Result<std::string> encode_payload(const CommitRecord& record);
Result<std::string> encode_payload(const DoneRecord& record);
Result<std::string> encode_payload(const HeuristicRecord& record);
Result<std::string> encode_payload(const LogRecord& record);

// Decodes a payload of `type`. kDataLoss with the reason (the caller adds file and offset) for
// an unknown type, a truncated or oversized field, an invalid xid, or bytes left over.
Result<LogRecord> decode_payload(std::uint8_t type, std::string_view payload);

}  // namespace xatm::internal

#endif  // XATM_SRC_LOG_LOG_RECORD_H_
