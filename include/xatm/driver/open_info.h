// A driver's settings as text, and the syntax of the xa_open info strings of xatm's own switches.
//
// Settings are what a driver's data_source_from_settings() reads: key/value strings, in order.
// The tool's config file and the switches' info strings both become Settings, so each driver
// maps them onto its DataSource in one place.
//
// The info string syntax is libpq's keyword/value form:
//
//   host=db1 port=3306 user=app password='it\'s secret' name=inventory
//
// Pairs are separated by white space; white space around '=' is allowed; a value with spaces
// or quotes is written in single quotes, where \' and \\ stand for ' and \. Keys are
// [A-Za-z0-9_]+. An unquoted value holding '=' is refused (quote it): "host=db;password=x"
// would otherwise be one host name, and the password would show wherever the host does.
//
// Messages never quote a value (it may be a password), only keys and positions.
//
// Thread safety: pure functions.
#ifndef XATM_DRIVER_OPEN_INFO_H_
#define XATM_DRIVER_OPEN_INFO_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xatm/status.h"

namespace xatm::driver {

// Key/value settings in the order they were written; a key may occur more than once here (the
// reader decides: canonical_settings() refuses it).
using Settings = std::vector<std::pair<std::string, std::string>>;

// One key a driver's settings accept; `alias`, when not empty, is a second spelling of the same
// key ("connect_timeout_s" for "connect_timeout"); a `required` key must be given, not empty.
struct SettingKey {
  std::string_view name;
  std::string_view alias = {};
  bool required = false;
};

// `settings` with every key spelled as its SettingKey::name. kInvalidArgument naming a key that
// `keys` does not hold (and listing those it does), a key given twice in any spelling, or a
// required key missing or empty.
Result<Settings> canonical_settings(const Settings& settings, std::span<const SettingKey> keys);

// `value`, the value of setting `key`, as a decimal number from `min` to `max`: digits only (no
// sign, space, fraction or exponent). kInvalidArgument "'<key>' must be a whole number from
// <min> to <max>" otherwise; the value itself is never quoted.
Result<std::uint64_t> setting_number(std::string_view key, std::string_view value,
                                     std::uint64_t min, std::uint64_t max);

// The pairs of `info` in order. kInvalidArgument naming the key or the byte offset at fault.
Result<Settings> parse_open_info(std::string_view info);

// What take_open_info_key() found: the key's value (unquoted), if the key was there, and the
// info string without that pair.
struct TakenKey {
  std::optional<std::string> value;
  std::string rest;
};

// Takes the pair of `key` out of `info`: `rest` is `info` with the bytes from the key to the end
// of its value removed, everything else byte for byte as written (quotes, escapes, spacing). The
// whole of `info` must follow the syntax above (kInvalidArgument as parse_open_info); `key`
// given twice is kInvalidArgument naming it.
Result<TakenKey> take_open_info_key(std::string_view info, std::string_view key);

// `value` quoted for an info string (or a libpq conninfo): 'value' with ' and \ escaped.
std::string quote_open_info_value(std::string_view value);

}  // namespace xatm::driver

#endif  // XATM_DRIVER_OPEN_INFO_H_
