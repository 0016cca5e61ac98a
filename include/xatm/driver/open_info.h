// The syntax of the xa_open info strings of xatm's own switches: libpq's keyword/value form.
//
//   host=db1 port=3306 user=app password='it\'s secret' name=inventory
//
// Pairs are separated by white space; white space around '=' is allowed; a value with spaces
// or quotes is written in single quotes, where \' and \\ stand for ' and \. Keys are
// [A-Za-z0-9_]+; a key given twice keeps its last value, as in libpq.
//
// Messages never quote a value (it may be a password), only keys and positions.
//
// Thread safety: pure functions.
#ifndef XATM_DRIVER_OPEN_INFO_H_
#define XATM_DRIVER_OPEN_INFO_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xatm/status.h"

namespace xatm::driver {

using OpenInfo = std::vector<std::pair<std::string, std::string>>;

// The pairs of `info` in order. kInvalidArgument naming the key or the byte offset at fault.
Result<OpenInfo> parse_open_info(std::string_view info);

// `value` quoted for an info string (or a libpq conninfo): 'value' with ' and \ escaped.
std::string quote_open_info_value(std::string_view value);

}  // namespace xatm::driver

#endif  // XATM_DRIVER_OPEN_INFO_H_
