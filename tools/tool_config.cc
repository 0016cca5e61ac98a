#include "tool_config.h"

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "xatm/xa_switch.h"
#include "xatm/xid.h"
#ifdef XATM_TOOL_WITH_MYSQL
#include "xatm/mysql/mysql.h"
#endif
#ifdef XATM_TOOL_WITH_POSTGRESQL
#include "xatm/postgresql/postgresql.h"
#endif

namespace xatm::tools {
namespace {

using Json = nlohmann::json;

Status check_keys(const Json& object, const std::string& path, const std::set<std::string>& allowed) {
  if (!object.is_object()) return invalid_argument_error(path + ": expected an object");
  for (const auto& [key, value] : object.items()) {
    if (allowed.count(key) == 0) return invalid_argument_error(path + "." + key + ": unknown key");
  }
  return Status();
}

// A string field; `required` fields must be present and non-empty.
Result<std::string> string_field(const Json& object, const std::string& path, const char* key,
                                 bool required) {
  auto it = object.find(key);
  if (it == object.end()) {
    if (required) return invalid_argument_error(path + "." + key + ": missing");
    return std::string();
  }
  if (!it->is_string()) return invalid_argument_error(path + "." + key + ": expected a string");
  std::string value = it->get<std::string>();
  if (required && value.empty()) return invalid_argument_error(path + "." + key + ": empty");
  return value;
}

// An integer field in [min, max]; `fallback` when absent. Out-of-range values are refused, never
// wrapped (a port of 70000 must not quietly become 4464).
[[maybe_unused]] Result<long> number_field(const Json& object, const std::string& path, const char* key, long fallback,
                          long min, long max) {
  auto it = object.find(key);
  if (it == object.end()) return fallback;
  // JSON integers above INT64_MAX arrive unsigned; they are out of every range here.
  const bool integer = it->is_number_integer() &&
                       (!it->is_number_unsigned() || it->get<std::uint64_t>() <= static_cast<std::uint64_t>(max));
  if (!integer || it->get<long>() < min || it->get<long>() > max) {
    return invalid_argument_error(path + "." + key + ": expected an integer from " + std::to_string(min) +
                                  " to " + std::to_string(max));
  }
  return it->get<long>();
}

constexpr long kMaxPort = 65535;
constexpr long kMaxTimeoutSeconds = 86400;

// The secret read from the file named by `file_key` or the environment variable named by
// `env_key`; empty when neither is given.
Result<std::string> secret(const Json& object, const std::string& path, const char* file_key,
                           const char* env_key) {
  Result<std::string> file = string_field(object, path, file_key, false);
  Result<std::string> env = string_field(object, path, env_key, false);
  if (!file.ok()) return file.status();
  if (!env.ok()) return env.status();
  if (!file->empty() && !env->empty()) {
    return invalid_argument_error(path + ": give " + file_key + " or " + env_key + ", not both");
  }
  if (!file->empty()) {
    std::ifstream in(*file);
    if (!in) return invalid_argument_error(path + "." + file_key + ": cannot read " + *file);
    std::string value;
    std::getline(in, value);
    return value;
  }
  if (!env->empty()) {
    const char* value = std::getenv(env->c_str());  // NOLINT(concurrency-mt-unsafe): start-up
    if (value == nullptr) {
      return invalid_argument_error(path + "." + env_key + ": " + *env + " is not set");
    }
    return std::string(value);
  }
  return std::string();
}

[[maybe_unused]] Result<std::string> password(const Json& object, const std::string& path) {
  return secret(object, path, "password_file", "password_env");
}

Result<std::unique_ptr<Resource>> mysql_source([[maybe_unused]] const Json& object, const std::string& path) {
#ifdef XATM_TOOL_WITH_MYSQL
  XATM_RETURN_IF_ERROR(check_keys(object, path, {"name", "driver", "host", "port", "unix_socket", "user",
                                                 "password_file", "password_env", "database",
                                                 "connect_timeout_s", "read_timeout_s", "write_timeout_s"}));
  mysql::DataSource source;
  XATM_ASSIGN_OR_RETURN(auto name, string_field(object, path, "name", true));
  XATM_ASSIGN_OR_RETURN(auto host, string_field(object, path, "host", false));
  XATM_ASSIGN_OR_RETURN(auto socket, string_field(object, path, "unix_socket", false));
  XATM_ASSIGN_OR_RETURN(auto user, string_field(object, path, "user", true));
  XATM_ASSIGN_OR_RETURN(auto database, string_field(object, path, "database", false));
  XATM_ASSIGN_OR_RETURN(auto port, number_field(object, path, "port", 3306, 1, kMaxPort));
  XATM_ASSIGN_OR_RETURN(auto connect_timeout, number_field(object, path, "connect_timeout_s", 5, 1, kMaxTimeoutSeconds));
  XATM_ASSIGN_OR_RETURN(auto read_timeout, number_field(object, path, "read_timeout_s", 30, 1, kMaxTimeoutSeconds));
  XATM_ASSIGN_OR_RETURN(auto write_timeout, number_field(object, path, "write_timeout_s", 30, 1, kMaxTimeoutSeconds));
  XATM_ASSIGN_OR_RETURN(auto secret, password(object, path));
  source.name = name;
  if (!host.empty()) source.host = host;
  source.unix_socket = socket;
  source.port = static_cast<unsigned>(port);
  source.user = user;
  source.password = secret;
  source.database = database;
  source.connect_timeout = std::chrono::seconds(connect_timeout);
  source.read_timeout = std::chrono::seconds(read_timeout);
  source.write_timeout = std::chrono::seconds(write_timeout);
  return mysql::make_resource(std::move(source));
#else
  return invalid_argument_error(path + ".driver: this xatm-recover was built without the mysql driver");
#endif
}

Result<std::unique_ptr<Resource>> postgresql_source([[maybe_unused]] const Json& object,
                                                     const std::string& path) {
#ifdef XATM_TOOL_WITH_POSTGRESQL
  XATM_RETURN_IF_ERROR(check_keys(object, path, {"name", "driver", "conninfo", "host", "port", "user",
                                                 "password_file", "password_env", "dbname",
                                                 "connect_timeout_s"}));
  postgresql::DataSource source;
  XATM_ASSIGN_OR_RETURN(auto name, string_field(object, path, "name", true));
  XATM_ASSIGN_OR_RETURN(auto conninfo, string_field(object, path, "conninfo", false));
  XATM_ASSIGN_OR_RETURN(auto host, string_field(object, path, "host", false));
  XATM_ASSIGN_OR_RETURN(auto user, string_field(object, path, "user", false));
  XATM_ASSIGN_OR_RETURN(auto dbname, string_field(object, path, "dbname", false));
  XATM_ASSIGN_OR_RETURN(auto port, number_field(object, path, "port", 0, 1, kMaxPort));
  XATM_ASSIGN_OR_RETURN(auto connect_timeout, number_field(object, path, "connect_timeout_s", 5, 1, kMaxTimeoutSeconds));
  XATM_ASSIGN_OR_RETURN(auto secret, password(object, path));
  source.name = name;
  source.conninfo = conninfo;
  if (!host.empty()) source.host = host;
  if (port != 0) source.port = static_cast<std::uint16_t>(port);
  if (!user.empty()) source.user = user;
  if (!dbname.empty()) source.dbname = dbname;
  if (!secret.empty()) source.password = secret;
  source.connect_timeout = std::chrono::seconds(connect_timeout);
  return postgresql::make_resource(std::move(source));
#else
  return invalid_argument_error(path + ".driver: this xatm-recover was built without the postgresql driver");
#endif
}

// Any XA resource manager through its xa_switch_t, loaded from a shared library. The xa_open
// info string may hold a password: open_info_file or open_info_env keep it out of the file.
Result<std::unique_ptr<Resource>> switch_source(const Json& object, const std::string& path) {
  XATM_RETURN_IF_ERROR(check_keys(object, path, {"name", "driver", "library", "symbol", "open_info",
                                                 "open_info_file", "open_info_env"}));
  XATM_ASSIGN_OR_RETURN(auto name, string_field(object, path, "name", true));
  XATM_ASSIGN_OR_RETURN(auto library, string_field(object, path, "library", true));
  XATM_ASSIGN_OR_RETURN(auto symbol, string_field(object, path, "symbol", true));
  XATM_ASSIGN_OR_RETURN(auto inline_info, string_field(object, path, "open_info", false));
  XATM_ASSIGN_OR_RETURN(auto secret_info, secret(object, path, "open_info_file", "open_info_env"));
  if (!inline_info.empty() && !secret_info.empty()) {
    return invalid_argument_error(path + ": give one of open_info, open_info_file, open_info_env");
  }
  Result<const xa_switch_t*> xa_switch = load_xa_switch(library, symbol);
  if (!xa_switch.ok()) return xa_switch.status().with_context(path + ".library");
  Result<std::unique_ptr<Resource>> resource = adopt_xa_switch(
      {.name = name, .xa_switch = *xa_switch,
       .open_info = inline_info.empty() ? secret_info : inline_info});
  if (!resource.ok()) return resource.status().with_context(path);
  return resource;
}

Result<std::unique_ptr<Resource>> data_source(const Json& object, const std::string& path) {
  if (!object.is_object()) return invalid_argument_error(path + ": expected an object");
  XATM_ASSIGN_OR_RETURN(auto driver, string_field(object, path, "driver", true));
  if (driver == "mysql" || driver == "mariadb") return mysql_source(object, path);
  if (driver == "postgresql") return postgresql_source(object, path);
  if (driver == "xa_switch") return switch_source(object, path);
  return invalid_argument_error(path + ".driver: unknown driver '" + driver +
                                "' (mysql, mariadb, postgresql or xa_switch)");
}

}  // namespace

Result<ToolConfig> parse_tool_config(const std::string& json_text) {
  Json root = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return invalid_argument_error("config: not valid JSON");
  XATM_RETURN_IF_ERROR(check_keys(root, "config", {"node_name", "log_dir", "data_sources"}));
  ToolConfig config;
  XATM_ASSIGN_OR_RETURN(auto node, string_field(root, "config", "node_name", true));
  XATM_ASSIGN_OR_RETURN(auto dir, string_field(root, "config", "log_dir", true));
  XATM_RETURN_IF_ERROR(validate_node_name(node).with_context("config.node_name"));
  config.node_name = node;
  config.log_dir = dir;
  auto sources = root.find("data_sources");
  if (sources == root.end() || !sources->is_array() || sources->empty()) {
    return invalid_argument_error("config.data_sources: expected a non-empty array");
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < sources->size(); ++i) {
    const std::string path = "config.data_sources[" + std::to_string(i) + "]";
    XATM_ASSIGN_OR_RETURN(auto resource, data_source((*sources)[i], path));
    if (!names.insert(resource->name()).second) {
      return invalid_argument_error(path + ".name: duplicate data source '" + resource->name() + "'");
    }
    config.data_sources.push_back(std::move(resource));
  }
  return config;
}

Result<ToolConfig> load_tool_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return not_found_error("config: cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  Result<ToolConfig> config = parse_tool_config(text.str());
  if (!config.ok()) return config.status().with_context(path);
  return config;
}

}  // namespace xatm::tools
