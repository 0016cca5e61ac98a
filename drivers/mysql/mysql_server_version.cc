#include "mysql_server_version.h"

#include <charconv>
#include <tuple>

namespace xatm::mysql::internal {
namespace {

// Reads "<digits>" then `separator` (unless it is '\0'); advances `text`.
bool read_number(std::string_view& text, int& value, char separator) {
  const char* end = text.data() + text.size();
  auto [next, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || value < 0) return false;
  text.remove_prefix(static_cast<std::size_t>(next - text.data()));
  if (separator == '\0') return true;
  if (text.empty() || text.front() != separator) return false;
  text.remove_prefix(1);
  return true;
}

bool contains_mariadb(std::string_view text) {
  return text.find("MariaDB") != std::string_view::npos ||
         text.find("mariadb") != std::string_view::npos;
}

}  // namespace

bool ServerVersion::at_least(int want_major, int want_minor, int want_patch) const {
  return std::tie(major, minor, patch) >= std::tie(want_major, want_minor, want_patch);
}

Result<ServerVersion> parse_server_version(std::string_view text) {
  ServerVersion version;
  version.text = std::string(text);
  version.mariadb = contains_mariadb(text);
  std::string_view rest = text;
  // MariaDB 10.x announced itself to old clients as "5.5.5-10.x.y-MariaDB".
  if (version.mariadb && rest.starts_with("5.5.5-")) rest.remove_prefix(6);
  if (!read_number(rest, version.major, '.') || !read_number(rest, version.minor, '.') ||
      !read_number(rest, version.patch, '\0')) {
    return invalid_argument_error("cannot read the server version '" + version.text + "'");
  }
  return version;
}

Status check_xa_support(const ServerVersion& version, std::string_view data_source) {
  const std::string where = "data source '" + std::string(data_source) + "': ";
  if (version.mariadb && !version.at_least(10, 5, 2)) {
    return failed_precondition_error(
        where + "MariaDB " + version.text +
        " is too old for XA: before 10.5.2 (MDEV-742) a prepared branch is rolled back when "
        "its session disconnects; upgrade to MariaDB 10.5.2 or later");
  }
  if (!version.mariadb && !version.at_least(5, 7, 7)) {
    return failed_precondition_error(
        where + "MySQL " + version.text +
        " is too old for XA: before 5.7.7 (bug #12161) a prepared branch is rolled back when "
        "its session disconnects; upgrade to MySQL 5.7.7 or later");
  }
  return Status();
}

bool needs_xa_recover_admin(const ServerVersion& version) {
  return !version.mariadb && version.major >= 8;
}

}  // namespace xatm::mysql::internal
