// Fuzzes the XID text parsers: Xid::parse ("<formatID>:<gtrid hex>:<bqual hex>") and from_hex.
// Nothing may crash; whatever parses must print back to text that parses to the same value.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "xatm/xid.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  xatm::Result<xatm::Xid> xid = xatm::Xid::parse(text);
  if (xid.ok()) {
    std::string printed = xid->to_string();
    xatm::Result<xatm::Xid> again = xatm::Xid::parse(printed);
    XATM_FUZZ_CHECK(again.ok() && *again == *xid);
    XATM_FUZZ_CHECK(again->to_string() == printed);
    xatm::Result<xatm::Xid> from_c = xatm::Xid::from_c(xid->to_c());
    XATM_FUZZ_CHECK(from_c.ok() && *from_c == *xid);
  }

  xatm::Result<std::vector<std::uint8_t>> bytes = xatm::from_hex(text);
  if (bytes.ok()) {
    std::string lower(text);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    XATM_FUZZ_CHECK(xatm::to_hex(*bytes) == lower);
  }
  return 0;
}
