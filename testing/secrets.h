// Passwords that break naive parsers, and the forms a user might write them in, for the tests
// that prove no message ever shows a password.
#ifndef XATM_TESTING_SECRETS_H_
#define XATM_TESTING_SECRETS_H_

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace xatm::testing {

// Every password's tail after its special character; a message holding it shows part of a
// password even when the whole does not appear.
inline constexpr std::string_view kAwkwardPasswordTail = "ss-4711";

// "pa" + c + "ss-4711" for each character that URIs or libpq's keyword form treat specially.
inline std::vector<std::string> awkward_passwords() {
  std::vector<std::string> passwords;
  for (char c : std::string_view("/@:?#'\" %")) {
    passwords.push_back(std::string("pa") + c + std::string(kAwkwardPasswordTail));
  }
  return passwords;
}

// RFC 3986 percent-encoding of everything but unreserved characters.
inline std::string percent_encoded(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// `text` single-quoted for libpq's keyword form (and xatm's xa_open info strings).
inline std::string keyword_quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace xatm::testing

#endif  // XATM_TESTING_SECRETS_H_
