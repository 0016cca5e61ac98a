#include "pg_conninfo.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <string>
#include <utility>

namespace xatm::postgresql::internal {
namespace {

constexpr std::string_view kRedacted = "********";

struct Span {
  std::size_t begin;
  std::size_t end;
};

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

bool is_uri(std::string_view conninfo) {
  return conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://");
}

// Password values in the keyword form, read as leniently as possible: when the text cannot be
// tokenized after a "password" keyword, everything after it counts as the password.
std::vector<Span> keyword_form_passwords(std::string_view text) {
  std::vector<Span> spans;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    const std::size_t key_begin = i;
    while (i < text.size() && text[i] != '=' && !is_space(text[i])) ++i;
    const bool is_password = text.substr(key_begin, i - key_begin) == "password";
    while (i < text.size() && is_space(text[i])) ++i;
    if (i >= text.size() || text[i] != '=') {
      if (is_password && i < text.size()) spans.push_back({i, text.size()});
      return spans;
    }
    ++i;
    while (i < text.size() && is_space(text[i])) ++i;
    const std::size_t value_begin = i;
    const bool quoted = i < text.size() && text[i] == '\'';
    if (quoted) ++i;
    while (i < text.size() && (quoted ? text[i] != '\'' : !is_space(text[i]))) {
      if (text[i] == '\\' && i + 1 < text.size()) ++i;
      ++i;
    }
    if (quoted && i < text.size()) ++i;  // the closing quote
    if (is_password && i > value_begin) spans.push_back({value_begin, i});
  }
  return spans;
}

// The URI's user info as its writer meant it: from "://" to the last '@' (a password may hold
// any character, so the last '@' is the only boundary that does not depend on it). Empty when
// there is no '@'.
Span uri_userinfo(std::string_view text) {
  const std::size_t begin = text.find("://") + 3;
  const std::size_t at = text.rfind('@');
  if (at == std::string_view::npos || at < begin) return {begin, begin};
  return {begin, at};
}

// Password values in the URI form: the userinfo's "user:password@" and "password=" parameters.
std::vector<Span> uri_form_passwords(std::string_view text) {
  std::vector<Span> spans;
  const Span userinfo = uri_userinfo(text);
  const std::size_t colon = text.substr(0, userinfo.end).find(':', userinfo.begin);
  if (colon != std::string_view::npos) spans.push_back({colon + 1, userinfo.end});
  std::size_t query = text.find('?', userinfo.end);
  while (query != std::string_view::npos) {
    const std::size_t begin = query + 1;
    const std::size_t end = std::min(text.find('&', begin), text.size());
    if (text.substr(begin, end - begin).starts_with("password=")) {
      spans.push_back({begin + 9, end});
    }
    query = end < text.size() ? end : std::string_view::npos;
  }
  return spans;
}

std::vector<Span> password_spans(std::string_view conninfo) {
  return is_uri(conninfo) ? uri_form_passwords(conninfo) : keyword_form_passwords(conninfo);
}

// The keywords libpq knows (PQconndefaults).
const std::set<std::string, std::less<>>& known_keywords() {
  static const std::set<std::string, std::less<>> keywords = [] {
    std::set<std::string, std::less<>> known;
    PQconninfoOption* defaults = PQconndefaults();
    for (PQconninfoOption* option = defaults; option != nullptr && option->keyword != nullptr; ++option) {
      known.insert(option->keyword);
    }
    if (defaults != nullptr) PQconninfoFree(defaults);
    return known;
  }();
  return keywords;
}

// Where the first word that stands before '=' (a keyword, in the keyword form) and that libpq
// does not know begins: a misspelled "passwrd=..." holds a password all the same.
std::size_t first_unknown_keyword(std::string_view conninfo) {
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
  for (std::size_t i = 0; i < conninfo.size();) {
    if (!is_word(conninfo[i]) || (i > 0 && is_word(conninfo[i - 1]))) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < conninfo.size() && is_word(conninfo[end])) ++end;
    std::size_t next = end;
    while (next < conninfo.size() && conninfo[next] == ' ') ++next;
    if (next < conninfo.size() && conninfo[next] == '=' && !known_keywords().contains(conninfo.substr(i, end - i))) {
      return i;
    }
    i = end;
  }
  return std::string_view::npos;
}

// Where the first secret of `conninfo` may begin: the first "password" keyword, the first
// keyword libpq does not know (misspelled, it may be a password's), or the user info of a URI.
// Text before it holds no secret.
std::size_t secrets_begin(std::string_view conninfo) {
  std::size_t begin = std::min(conninfo.find("password"), first_unknown_keyword(conninfo));
  if (is_uri(conninfo)) {
    const Span userinfo = uri_userinfo(conninfo);
    if (userinfo.end > userinfo.begin) begin = std::min(begin, userinfo.begin);
  }
  return begin;
}

// The password libpq reads from `conninfo` (percent-decoded in a URI); empty if none or if
// libpq cannot parse it.
std::string parsed_password(const std::string& conninfo) {
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), nullptr);
  if (options == nullptr) return {};
  std::string password;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (std::string_view(option->keyword) == "password" && option->val != nullptr) password = option->val;
  }
  PQconninfoFree(options);
  return password;
}

// True when `word` stands in `conninfo` as a keyword (a word followed by '='): a name, not a
// secret, even when libpq does not know it.
bool is_keyword_of(std::string_view conninfo, std::string_view word) {
  if (word.empty() || !std::all_of(word.begin(), word.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
      })) {
    return false;
  }
  for (std::size_t at = conninfo.find(word); at != std::string_view::npos; at = conninfo.find(word, at + 1)) {
    std::size_t next = at + word.size();
    while (next < conninfo.size() && conninfo[next] == ' ') ++next;
    const bool starts_token = at == 0 || conninfo[at - 1] == ' ';
    if (starts_token && next < conninfo.size() && conninfo[next] == '=') return true;
  }
  return false;
}

// libpq's message about an unparsable `conninfo` with every double-quoted fragment that occurs
// in the secret part of the text replaced by "...": when the text cannot be parsed, nobody can
// tell where a password ends, so nothing from that part is shown.
std::string hide_quoted_secrets(std::string_view message, std::string_view conninfo) {
  const std::size_t secret_part = secrets_begin(conninfo);
  if (secret_part == std::string_view::npos) return std::string(message);
  const std::string_view secrets = conninfo.substr(secret_part);
  std::string out;
  std::size_t i = 0;
  while (i < message.size()) {
    const std::size_t open = message.find('"', i);
    const std::size_t close = open == std::string_view::npos ? open : message.find('"', open + 1);
    if (close == std::string_view::npos) break;
    const std::string_view fragment = message.substr(open + 1, close - open - 1);
    out.append(message.substr(i, open + 1 - i));
    const bool before_secrets = conninfo.substr(0, secret_part).find(fragment) != std::string_view::npos;
    const bool secret = !fragment.empty() && fragment != "=" && !before_secrets &&
                        !is_keyword_of(conninfo, fragment) &&
                        secrets.find(fragment) != std::string_view::npos;
    out.append(secret ? "..." : fragment);
    out.push_back('"');
    i = close + 1;
  }
  out.append(message.substr(std::min(i, message.size())));
  return out;
}

// Characters that libpq reads as the end of a URI's user info: a password holding one must
// percent-encode it, or libpq takes part of the password for the host, port or database.
constexpr std::string_view kUserinfoBreakers = "/?@";

void replace_all(std::string& text, std::string_view what) {
  if (what.empty()) return;
  for (std::size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + kRedacted.size())) {
    text.replace(at, what.size(), kRedacted);
  }
}

bool mentions_any(std::string_view message, std::initializer_list<std::string_view> needles) {
  for (std::string_view needle : needles) {
    if (message.find(needle) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

std::vector<const char*> ConnectParams::keyword_pointers() const {
  std::vector<const char*> pointers;
  for (const std::string& keyword : keywords) pointers.push_back(keyword.c_str());
  pointers.push_back(nullptr);
  return pointers;
}

std::vector<const char*> ConnectParams::value_pointers() const {
  std::vector<const char*> pointers;
  for (const std::string& value : values) pointers.push_back(value.c_str());
  pointers.push_back(nullptr);
  return pointers;
}

ConnectParams build_params(const DataSource& config) {
  ConnectParams params;
  auto add = [&params](std::string keyword, std::string value) {
    params.keywords.push_back(std::move(keyword));
    params.values.push_back(std::move(value));
  };
  add("fallback_application_name", "xatm");
  // Always present, even empty (libpq ignores empty values): only the first "dbname" entry is
  // ever expanded, so a typed dbname below is always taken as a plain database name.
  add("dbname", config.conninfo);
  add("connect_timeout", std::to_string(config.connect_timeout.count()));
  if (config.host) add("host", *config.host);
  if (config.port) add("port", std::to_string(*config.port));
  if (config.user) add("user", *config.user);
  if (config.password) add("password", *config.password);
  if (config.dbname) add("dbname", *config.dbname);
  return params;
}

Status check_conninfo(const std::string& data_source, const std::string& conninfo) {
  if (conninfo.empty()) return Status();
  if (is_uri(conninfo)) {
    const Span userinfo = uri_userinfo(conninfo);
    const std::string_view text = std::string_view(conninfo).substr(userinfo.begin, userinfo.end - userinfo.begin);
    if (text.find_first_of(kUserinfoBreakers) != std::string_view::npos) {
      return invalid_argument_error(
          "data source '" + data_source +
          "': invalid conninfo URI: the user name or password before its last '@' holds '/', "
          "'?' or '@', which must be percent-encoded (%2F, %3F, %40; '@' in a query value too); "
          "the URI is not shown, as it may hold a password");
    }
  }
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options != nullptr) {
    PQconninfoFree(options);
    return Status();
  }
  std::string why = error == nullptr ? "out of memory" : error;
  if (error != nullptr) PQfreemem(error);
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  // Unparsable, so where a password ends is unknown: nothing from where one may begin is shown.
  const std::size_t secret_part = secrets_begin(conninfo);
  std::string shown = conninfo;
  if (secret_part != std::string::npos) {
    // A keyword libpq does not know is shown by name; its value may be a password.
    const std::size_t unknown = first_unknown_keyword(conninfo);
    std::string keyword;
    if (unknown == secret_part) {
      while (unknown + keyword.size() < conninfo.size() &&
             (std::isalnum(static_cast<unsigned char>(conninfo[unknown + keyword.size()])) != 0 ||
              conninfo[unknown + keyword.size()] == '_')) {
        keyword += conninfo[unknown + keyword.size()];
      }
      keyword += "=";
    }
    shown = conninfo.substr(0, secret_part) + keyword + "... (the rest may hold a password)";
  }
  return invalid_argument_error("data source '" + data_source + "': invalid conninfo '" + shown +
                                "': " + scrub_message(hide_quoted_secrets(why, conninfo), conninfo));
}

Status connect_failure(const std::string& data_source, const std::string& target,
                       std::string_view message) {
  std::string text = "data source '" + data_source + "': cannot connect to PostgreSQL (" + target +
                     "): " + std::string(message);
  const bool fix_settings = mentions_any(
      message,
      {"authentication failed", "no password supplied", "does not exist", "no pg_hba.conf entry",
       "permission denied for database", "invalid connection option", "invalid integer value",
       "invalid port number", "invalid sslmode", "not currently accepting connections",
       "certificate verify failed", "does not support SSL"});
  if (fix_settings) return invalid_argument_error(std::move(text));
  return unavailable_error(std::move(text));
}

std::string describe_target(const PGconn* conn) {
  std::string text;
  auto add = [&text](std::string_view keyword, const char* value) {
    if (value == nullptr || *value == '\0') return;
    if (!text.empty()) text += ' ';
    text += std::string(keyword) + "=" + value;
  };
  add("host", PQhost(conn));
  add("port", PQport(conn));
  add("dbname", PQdb(conn));
  add("user", PQuser(conn));
  return text;
}

std::string redact_conninfo(std::string_view conninfo) {
  std::string out(conninfo);
  std::vector<Span> spans = password_spans(conninfo);
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
    out.replace(it->begin, it->end - it->begin, kRedacted);
  }
  return out;
}

std::string scrub_message(std::string_view message, std::string_view conninfo) {
  std::string out(message);
  for (const Span& span : password_spans(conninfo)) {
    std::string_view secret = conninfo.substr(span.begin, span.end - span.begin);
    replace_all(out, secret);
    if (secret.size() >= 2 && secret.front() == '\'' && secret.back() == '\'') {
      replace_all(out, secret.substr(1, secret.size() - 2));
    }
  }
  replace_all(out, parsed_password(std::string(conninfo)));  // decoded, as libpq reads it
  return out;
}

}  // namespace xatm::postgresql::internal
