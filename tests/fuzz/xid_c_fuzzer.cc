// Fuzzes Xid::from_c: any bytes as the C XID struct an xa_switch_t caller may hand over, then
// the xatm-layout decoders over whatever it accepts. Nothing may crash or read past the
// struct; an accepted XID must go back to C unchanged.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "fuzz_check.h"
#include "xatm/xa.h"
#include "xatm/xid.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  XID raw;
  std::memset(&raw, 0, sizeof(raw));
  std::memcpy(&raw, data, std::min(size, sizeof(raw)));

  xatm::Result<xatm::Xid> xid = xatm::Xid::from_c(raw);
  if (!xid.ok()) return 0;
  XID back = xid->to_c();
  XATM_FUZZ_CHECK(back.formatID == raw.formatID);
  XATM_FUZZ_CHECK(back.gtrid_length == raw.gtrid_length);
  XATM_FUZZ_CHECK(back.bqual_length == raw.bqual_length);
  const auto length = static_cast<std::size_t>(raw.gtrid_length + raw.bqual_length);
  XATM_FUZZ_CHECK(std::memcmp(back.data, raw.data, length) == 0);
  xatm::Result<xatm::Xid> parsed = xatm::Xid::parse(xid->to_string());
  XATM_FUZZ_CHECK(parsed.ok() && *parsed == *xid);

  xatm::decode_gtrid(*xid).status().ignore_error();
  xatm::Result<std::uint16_t> branch = xatm::decode_branch_index(*xid);
  if (branch.ok()) {
    // The bqual is the branch index and a driver's tag (Xid::branch keeps at most
    // kMaxBranchTagBytes of it).
    const std::span<const std::uint8_t> tag = xid->bqual().subspan(2);
    const xatm::Xid rebuilt = xid->global().branch(*branch, tag);
    XATM_FUZZ_CHECK(tag.size() > xatm::kMaxBranchTagBytes ? rebuilt.bqual().size() == 2 + xatm::kMaxBranchTagBytes
                                                          : rebuilt == *xid);
  }
  return 0;
}
