#include "mysql_xid_sql.h"

#include <span>

namespace xatm::mysql::internal {
namespace {

std::span<const std::uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string describe_row(const RecoverRow& row) {
  return "XA RECOVER row (formatID " + std::to_string(row.format_id) + ", gtrid_length " +
         std::to_string(row.gtrid_length) + ", bqual_length " + std::to_string(row.bqual_length) +
         ", data X'" + to_hex(bytes_of(row.data)) + "')";
}

}  // namespace

Result<std::string> xid_literal(const Xid& xid) {
  if (xid.format_id() < 0 || xid.format_id() > kMaxSqlFormatId) {
    return invalid_argument_error("formatID " + std::to_string(xid.format_id()) +
                                  " is outside MariaDB's range 0..2147483647");
  }
  if (xid.gtrid().empty() || xid.gtrid().size() > Xid::kMaxGtridSize) {
    return invalid_argument_error("gtrid of " + std::to_string(xid.gtrid().size()) +
                                  " bytes is outside 1..64");
  }
  if (xid.bqual().size() > Xid::kMaxBqualSize) {
    return invalid_argument_error("bqual of " + std::to_string(xid.bqual().size()) +
                                  " bytes is longer than 64");
  }
  return "X'" + to_hex(xid.gtrid()) + "',X'" + to_hex(xid.bqual()) + "'," +
         std::to_string(xid.format_id());
}

Result<Xid> decode_recover_row(const RecoverRow& row) {
  const auto max_gtrid = static_cast<std::int64_t>(Xid::kMaxGtridSize);
  const auto max_bqual = static_cast<std::int64_t>(Xid::kMaxBqualSize);
  if (row.gtrid_length < 1 || row.gtrid_length > max_gtrid || row.bqual_length < 0 ||
      row.bqual_length > max_bqual) {
    return invalid_argument_error(describe_row(row) + ": lengths out of range");
  }
  if (static_cast<std::int64_t>(row.data.size()) != row.gtrid_length + row.bqual_length) {
    return invalid_argument_error(describe_row(row) + ": data is " +
                                  std::to_string(row.data.size()) +
                                  " bytes, not gtrid_length + bqual_length");
  }
  const std::span<const std::uint8_t> data = bytes_of(row.data);
  const auto gtrid_size = static_cast<std::size_t>(row.gtrid_length);
  Result<Xid> xid = Xid::make(row.format_id, data.first(gtrid_size), data.subspan(gtrid_size));
  if (!xid.ok()) return xid.status().with_context(describe_row(row));
  return xid;
}

}  // namespace xatm::mysql::internal
