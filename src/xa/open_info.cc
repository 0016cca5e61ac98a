#include "xatm/driver/open_info.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace xatm::driver {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_key_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// One pair of an info string, and where it was written: [begin, end) runs from the first byte of
// the key to the last byte of the value (its closing quote included).
struct Pair {
  std::string key;
  std::string value;
  std::size_t begin = 0;
  std::size_t end = 0;
};

// Reads `info` pair by pair. A value is only ever appended to, never shown in a message.
class Lexer {
 public:
  explicit Lexer(std::string_view info) : info_(info) {}

  // The next pair, or no value at the end of the string.
  Result<std::optional<Pair>> next() {
    skip_spaces();
    if (at_end()) return std::optional<Pair>();
    Pair pair{.begin = i_};
    while (!at_end() && is_key_char(info_[i_])) ++i_;
    pair.key = std::string(info_.substr(pair.begin, i_ - pair.begin));
    if (pair.key.empty()) {
      return error("a key was expected at byte " + std::to_string(pair.begin));
    }
    skip_spaces();
    if (at_end() || info_[i_] != '=') return error("'=' expected after key '" + pair.key + "'");
    ++i_;
    skip_spaces();
    XATM_RETURN_IF_ERROR(!at_end() && info_[i_] == '\'' ? quoted_value(pair) : plain_value(pair));
    pair.end = i_;
    return std::optional<Pair>(std::move(pair));
  }

 private:
  static Status error(const std::string& what) {
    return invalid_argument_error("xa_open info string: " + what);
  }
  bool at_end() const { return i_ == info_.size(); }
  void skip_spaces() {
    while (!at_end() && is_space(info_[i_])) ++i_;
  }

  Status quoted_value(Pair& pair) {
    ++i_;
    for (;;) {
      if (at_end()) return error("the quoted value of key '" + pair.key + "' has no closing quote");
      const char c = info_[i_++];
      if (c == '\'') break;
      if (c == '\\' && !at_end()) {
        pair.value += info_[i_++];
      } else {
        pair.value += c;
      }
    }
    if (!at_end() && !is_space(info_[i_])) {
      return error("white space expected after the quoted value of key '" + pair.key + "'");
    }
    return Status();
  }

  Status plain_value(Pair& pair) {
    const std::size_t value_start = i_;
    while (!at_end() && !is_space(info_[i_])) {
      if (info_[i_] == '\\' && i_ + 1 < info_.size()) ++i_;
      pair.value += info_[i_++];
    }
    // "host=db;password=x" is one value to this syntax: refused, so that a pair written with
    // another separator never lands, password and all, in a field that messages show.
    if (info_.substr(value_start, i_ - value_start).find('=') != std::string_view::npos) {
      return error("the unquoted value of key '" + pair.key +
                   "' holds '=': separate pairs with white space, and quote a value that holds "
                   "'='");
    }
    return Status();
  }

  std::string_view info_;
  std::size_t i_ = 0;
};

std::string known_keys(std::span<const SettingKey> keys) {
  std::string text;
  for (const SettingKey& key : keys) {
    if (!text.empty()) text += ", ";
    text += key.name;
    if (!key.alias.empty()) text += " (or " + std::string(key.alias) + ")";
  }
  return text;
}

}  // namespace

Result<Settings> canonical_settings(const Settings& settings, std::span<const SettingKey> keys) {
  Settings canonical;
  canonical.reserve(settings.size());
  for (const auto& [key, value] : settings) {
    const SettingKey* known = nullptr;
    for (const SettingKey& candidate : keys) {
      if (key == candidate.name || (!candidate.alias.empty() && key == candidate.alias)) {
        known = &candidate;
      }
    }
    if (known == nullptr) {
      return invalid_argument_error("unknown key '" + key + "' (known: " + known_keys(keys) + ")");
    }
    for (const auto& earlier : canonical) {
      if (earlier.first != known->name) continue;
      std::string spelled = known->alias.empty() ? "" : " (or " + std::string(known->alias) + ")";
      return invalid_argument_error("key '" + std::string(known->name) + "'" + spelled +
                                    " is given twice");
    }
    canonical.emplace_back(std::string(known->name), value);
  }
  for (const SettingKey& key : keys) {
    if (!key.required) continue;
    const bool given = std::any_of(canonical.begin(), canonical.end(), [&key](const auto& setting) {
      return setting.first == key.name && !setting.second.empty();
    });
    if (!given) {
      return invalid_argument_error("key '" + std::string(key.name) + "' is missing or empty");
    }
  }
  return canonical;
}

Result<std::uint64_t> setting_number(std::string_view key, std::string_view value,
                                     std::uint64_t min, std::uint64_t max) {
  const bool digits = !value.empty() && std::all_of(value.begin(), value.end(),
                                                    [](char c) { return c >= '0' && c <= '9'; });
  // On digits alone, from_chars fails on nothing but overflow.
  std::uint64_t number = 0;
  const bool parsed =
      digits &&
      std::from_chars(value.data(), value.data() + value.size(), number).ec == std::errc();
  if (!parsed || number < min || number > max) {
    return invalid_argument_error("'" + std::string(key) + "' must be a whole number from " +
                                  std::to_string(min) + " to " + std::to_string(max));
  }
  return number;
}

Result<Settings> parse_open_info(std::string_view info) {
  Settings pairs;
  Lexer lexer(info);
  for (;;) {
    Result<std::optional<Pair>> pair = lexer.next();
    if (!pair.ok()) return pair.status();
    if (!pair->has_value()) return pairs;
    pairs.emplace_back(std::move((*pair)->key), std::move((*pair)->value));
  }
}

Result<TakenKey> take_open_info_key(std::string_view info, std::string_view key) {
  std::optional<Pair> taken;
  Lexer lexer(info);
  for (;;) {
    Result<std::optional<Pair>> pair = lexer.next();
    if (!pair.ok()) return pair.status();
    if (!pair->has_value()) break;
    if ((*pair)->key != key) continue;
    if (taken.has_value()) {
      return invalid_argument_error("xa_open info string: key '" + std::string(key) +
                                    "' is given twice");
    }
    taken = std::move(**pair);
  }
  if (!taken.has_value()) return TakenKey{.rest = std::string(info)};
  std::string rest(info.substr(0, taken->begin));
  rest += info.substr(taken->end);
  return TakenKey{.value = std::move(taken->value), .rest = std::move(rest)};
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
