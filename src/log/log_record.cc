#include "log/log_record.h"

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "log/coding.h"

namespace xatm::internal {
namespace {

std::span<const std::uint8_t> as_bytes(std::string_view bytes) {
  return {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
}

void put_bytes(std::string& out, std::span<const std::uint8_t> bytes) {
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Xid guarantees formatID 0..2^31-1 and lengths 1..64 / 0..64, so every field fits.
void put_xid(std::string& out, const Xid& xid) {
  put_u32(out, static_cast<std::uint32_t>(xid.format_id()));
  put_u8(out, static_cast<std::uint8_t>(xid.gtrid().size()));
  put_u8(out, static_cast<std::uint8_t>(xid.bqual().size()));
  put_bytes(out, xid.gtrid());
  put_bytes(out, xid.bqual());
}

Status put_string(std::string& out, std::string_view text) {
  if (text.size() > kMaxStringSize) {
    return invalid_argument_error("data source name of " + std::to_string(text.size()) +
                                  " bytes is longer than the log allows (" +
                                  std::to_string(kMaxStringSize) + ")");
  }
  put_u16(out, static_cast<std::uint16_t>(text.size()));
  out.append(text);
  return Status();
}

Status require_global(const Xid& xid, std::string_view what) {
  if (!xid.bqual().empty()) {
    return invalid_argument_error(std::string(what) + " needs a global xid (empty bqual), got " +
                                  xid.to_string());
  }
  return Status();
}

Status encode_into(std::string& out, const CommitRecord& record) {
  XATM_RETURN_IF_ERROR(require_global(record.global, "a COMMIT record"));
  put_xid(out, record.global);
  put_u32(out, static_cast<std::uint32_t>(record.branches.size()));
  for (const DecisionBranch& branch : record.branches) {
    XATM_RETURN_IF_ERROR(put_string(out, branch.data_source));
    put_xid(out, branch.xid);
  }
  return Status();
}

Status encode_into(std::string& out, const DoneRecord& record) {
  XATM_RETURN_IF_ERROR(require_global(record.global, "a DONE record"));
  put_xid(out, record.global);
  return Status();
}

Status encode_into(std::string& out, const HeuristicRecord& record) {
  XATM_RETURN_IF_ERROR(put_string(out, record.branch.data_source));
  put_xid(out, record.branch.xid);
  put_u32(out, static_cast<std::uint32_t>(static_cast<std::int32_t>(record.xa_code)));
  return Status();
}

Status encode_into(std::string& out, const LogInfoRecord& record) {
  put_u64(out, static_cast<std::uint64_t>(record.birth_micros));
  put_u64(out, record.sequence_limit);
  return Status();
}

Status encode_into(std::string& out, const ForgetRecord& record) {
  XATM_RETURN_IF_ERROR(put_string(out, record.branch.data_source));
  put_xid(out, record.branch.xid);
  return Status();
}

// The decoders return a reason without file and offset; decode_payload's caller adds those.
Status truncated(std::string_view field) {
  return data_loss_error("payload ends inside " + std::string(field));
}

Result<Xid> read_xid(ByteReader& in) {
  std::uint32_t format_id = 0;
  std::uint8_t gtrid_length = 0;
  std::uint8_t bqual_length = 0;
  std::string_view gtrid;
  std::string_view bqual;
  if (!in.read_u32(format_id) || !in.read_u8(gtrid_length) || !in.read_u8(bqual_length) ||
      !in.read_bytes(gtrid_length, gtrid) || !in.read_bytes(bqual_length, bqual)) {
    return truncated("an xid");
  }
  Result<Xid> xid = Xid::make(format_id, as_bytes(gtrid), as_bytes(bqual));
  if (!xid.ok()) return data_loss_error("invalid xid: " + xid.status().message());
  return xid;
}

Result<std::string> read_string(ByteReader& in) {
  std::uint16_t length = 0;
  std::string_view text;
  if (!in.read_u16(length) || !in.read_bytes(length, text)) return truncated("a string");
  return std::string(text);
}

Result<Xid> read_global_xid(ByteReader& in) {
  Result<Xid> xid = read_xid(in);
  if (xid.ok() && !xid->bqual().empty()) {
    return data_loss_error("global xid " + xid->to_string() + " has a bqual");
  }
  return xid;
}

Result<LogRecord> read_commit(ByteReader& in) {
  Result<Xid> global = read_global_xid(in);
  if (!global.ok()) return global.status();
  std::uint32_t count = 0;
  if (!in.read_u32(count)) return truncated("the branch count");
  // Each branch takes at least 8 bytes, so a count larger than that is damage, not a reason to
  // reserve gigabytes.
  if (count > in.remaining() / 8) {
    return data_loss_error("branch count " + std::to_string(count) + " exceeds the payload");
  }
  std::vector<DecisionBranch> branches;
  branches.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    Result<std::string> data_source = read_string(in);
    if (!data_source.ok()) return data_source.status();
    Result<Xid> xid = read_xid(in);
    if (!xid.ok()) return xid.status();
    branches.push_back({std::move(data_source).value(), std::move(xid).value()});
  }
  return LogRecord(CommitRecord{std::move(global).value(), std::move(branches)});
}

Result<LogRecord> read_done(ByteReader& in) {
  Result<Xid> global = read_global_xid(in);
  if (!global.ok()) return global.status();
  return LogRecord(DoneRecord{std::move(global).value()});
}

Result<LogRecord> read_heuristic(ByteReader& in) {
  Result<std::string> data_source = read_string(in);
  if (!data_source.ok()) return data_source.status();
  Result<Xid> xid = read_xid(in);
  if (!xid.ok()) return xid.status();
  std::uint32_t code = 0;
  if (!in.read_u32(code)) return truncated("the XA code");
  return LogRecord(HeuristicRecord{{std::move(data_source).value(), std::move(xid).value()},
                                   static_cast<std::int32_t>(code)});
}

Result<LogRecord> read_log_info(ByteReader& in) {
  std::uint64_t birth = 0;
  std::uint64_t limit = 0;
  if (!in.read_u64(birth) || !in.read_u64(limit)) return truncated("the log info");
  return LogRecord(LogInfoRecord{static_cast<std::int64_t>(birth), limit});
}

Result<LogRecord> read_forget(ByteReader& in) {
  Result<std::string> data_source = read_string(in);
  if (!data_source.ok()) return data_source.status();
  Result<Xid> xid = read_xid(in);
  if (!xid.ok()) return xid.status();
  return LogRecord(ForgetRecord{{std::move(data_source).value(), std::move(xid).value()}});
}

template <typename Record>
Result<std::string> encode_checked(const Record& record, RecordType type) {
  std::string out;
  XATM_RETURN_IF_ERROR(encode_into(out, record));
  if (out.size() > kMaxPayloadSize) {
    return invalid_argument_error(std::string(record_type_name(type)) + " record of " +
                                  std::to_string(out.size()) +
                                  " bytes is larger than the log allows (" +
                                  std::to_string(kMaxPayloadSize) + ")");
  }
  return out;
}

}  // namespace

RecordType record_type(const LogRecord& record) {
  switch (record.index()) {
    case 0: return RecordType::kCommit;
    case 1: return RecordType::kDone;
    case 2: return RecordType::kHeuristic;
    case 3: return RecordType::kLogInfo;
    default: return RecordType::kForget;
  }
}

Result<std::string> encode_payload(const CommitRecord& record) {
  return encode_checked(record, RecordType::kCommit);
}

Result<std::string> encode_payload(const DoneRecord& record) {
  return encode_checked(record, RecordType::kDone);
}

Result<std::string> encode_payload(const HeuristicRecord& record) {
  return encode_checked(record, RecordType::kHeuristic);
}

Result<std::string> encode_payload(const LogInfoRecord& record) {
  return encode_checked(record, RecordType::kLogInfo);
}

Result<std::string> encode_payload(const ForgetRecord& record) {
  return encode_checked(record, RecordType::kForget);
}

Result<std::string> encode_payload(const LogRecord& record) {
  return std::visit([](const auto& r) { return encode_payload(r); }, record);
}

Result<LogRecord> decode_payload(std::uint8_t type, std::string_view payload) {
  ByteReader in(payload);
  Result<LogRecord> record = data_loss_error("unknown record type " + std::to_string(type));
  switch (static_cast<RecordType>(type)) {
    case RecordType::kCommit: record = read_commit(in); break;
    case RecordType::kDone: record = read_done(in); break;
    case RecordType::kHeuristic: record = read_heuristic(in); break;
    case RecordType::kLogInfo: record = read_log_info(in); break;
    case RecordType::kForget: record = read_forget(in); break;
  }
  if (record.ok() && !in.empty()) {
    return data_loss_error(std::to_string(in.remaining()) + " unexpected bytes after the " +
                           std::string(record_type_name(static_cast<RecordType>(type))) +
                           " payload");
  }
  return record;
}

}  // namespace xatm::internal
