// Fuzzes decode_gtrid, the reader of xatm's own gtrid layout (node name, creation time,
// timeout, sequence): any 1..64 bytes as the gtrid of an XID with xatm's formatID. Nothing may
// crash, and a gtrid it accepts must be exactly what make_global_xid builds from the result.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_check.h"
#include "xatm/xid.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> gtrid(data, std::min(size, xatm::Xid::kMaxGtridSize));
  xatm::Result<xatm::Xid> xid = xatm::Xid::make(xatm::kXatmFormatId, gtrid, {});
  if (!xid.ok()) return 0;  // empty
  xatm::Result<xatm::GtridInfo> info = xatm::decode_gtrid(*xid);
  if (!info.ok()) return 0;
  XATM_FUZZ_CHECK(xatm::validate_node_name(info->node_name).ok());
  xatm::Result<xatm::Xid> rebuilt = xatm::make_global_xid(*info);
  XATM_FUZZ_CHECK(rebuilt.ok() && *rebuilt == *xid);
  return 0;
}
