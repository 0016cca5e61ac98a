#include "xatm/driver/open_info.h"

#include <cctype>

namespace xatm::driver {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_key_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

}  // namespace

Result<OpenInfo> parse_open_info(std::string_view info) {
  OpenInfo pairs;
  std::size_t i = 0;
  auto skip_spaces = [&] {
    while (i < info.size() && is_space(info[i])) ++i;
  };
  for (;;) {
    skip_spaces();
    if (i == info.size()) return pairs;
    const std::size_t key_start = i;
    while (i < info.size() && is_key_char(info[i])) ++i;
    std::string key(info.substr(key_start, i - key_start));
    if (key.empty()) {
      return invalid_argument_error("xa_open info string: a key was expected at byte " +
                                    std::to_string(key_start));
    }
    skip_spaces();
    if (i == info.size() || info[i] != '=') {
      return invalid_argument_error("xa_open info string: '=' expected after key '" + key + "'");
    }
    ++i;
    skip_spaces();
    std::string value;
    if (i < info.size() && info[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < info.size()) {
        const char c = info[i++];
        if (c == '\'') {
          closed = true;
          break;
        }
        if (c == '\\' && i < info.size()) {
          value += info[i++];
        } else {
          value += c;
        }
      }
      if (!closed) {
        return invalid_argument_error("xa_open info string: the quoted value of key '" + key +
                                      "' has no closing quote");
      }
      if (i < info.size() && !is_space(info[i])) {
        return invalid_argument_error("xa_open info string: white space expected after the "
                                      "quoted value of key '" + key + "'");
      }
    } else {
      const std::size_t value_start = i;
      while (i < info.size() && !is_space(info[i])) {
        if (info[i] == '\\' && i + 1 < info.size()) ++i;
        value += info[i++];
      }
      // "host=db;password=x" is one value to this syntax: refused, so that a pair written with
      // another separator never lands, password and all, in a field that messages show.
      if (info.substr(value_start, i - value_start).find('=') != std::string_view::npos) {
        return invalid_argument_error("xa_open info string: the unquoted value of key '" + key +
                                      "' holds '=': separate pairs with white space, and quote a "
                                      "value that holds '='");
      }
    }
    pairs.emplace_back(std::move(key), std::move(value));
  }
}

std::string quote_open_info_value(std::string_view value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '\'';
  return quoted;
}

}  // namespace xatm::driver
