#include "tool_config.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "xatm/driver/open_info.h"
#include "xatm/options.h"
#include "xatm/xa_switch.h"
#include "xatm/xid.h"
#ifdef XATM_TOOL_WITH_MYSQL
#include "xatm/mysql/mysql.h"
#endif
#ifdef XATM_TOOL_WITH_POSTGRESQL
#include "xatm/driver/decision_table.h"
#include "xatm/postgresql/decision_log.h"
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
    std::string value;
    if (!std::filesystem::is_regular_file(*file) || !in || !std::getline(in, value)) {
      return invalid_argument_error(path + "." + file_key + ": cannot read a line from " + *file +
                                    " (not a readable file, or empty)");
    }
    if (!value.empty() && value.back() == '\r') value.pop_back();  // written on Windows
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

// The settings of a driver's data source (include/xatm/driver/open_info.h), for the driver's
// data_source_from_settings(), which alone knows the keys: every key of `object` but `driver`,
// a JSON string as it is and a JSON integer as its decimal text (the driver judges the range);
// password_file or password_env becomes the setting "password". A password written in the file
// is refused.
[[maybe_unused]] Result<driver::Settings> source_settings(
    const Json& object, const std::string& path,
    const std::set<std::string>& not_settings = {"driver"}) {
  if (object.contains("password")) {
    return invalid_argument_error(path + ".password: a password is never written in the config "
                                  "file: use password_file or password_env");
  }
  driver::Settings settings;
  for (const auto& [key, value] : object.items()) {
    if (not_settings.count(key) != 0 || key == "password_file" || key == "password_env") continue;
    if (value.is_string()) {
      settings.emplace_back(key, value.get<std::string>());
    } else if (value.is_number_integer()) {
      settings.emplace_back(key, value.dump());
    } else {
      return invalid_argument_error(path + "." + key + ": expected a string or an integer");
    }
  }
  if (object.contains("password_file") || object.contains("password_env")) {
    XATM_ASSIGN_OR_RETURN(auto password, secret(object, path, "password_file", "password_env"));
    settings.emplace_back("password", std::move(password));
  }
  return settings;
}

// The Resource of a DataSource a driver made from the settings of the object at `path`.
template <typename DataSource>
Result<std::unique_ptr<Resource>> driver_source(Result<DataSource> source, const std::string& path) {
  if (!source.ok()) return source.status().with_context(path);
  return make_resource(std::move(*source));  // the driver's, by argument-dependent lookup
}

Result<std::unique_ptr<Resource>> mysql_source([[maybe_unused]] const Json& object,
                                               const std::string& path) {
#ifdef XATM_TOOL_WITH_MYSQL
  XATM_ASSIGN_OR_RETURN(auto settings, source_settings(object, path));
  return driver_source(mysql::data_source_from_settings(settings), path);
#else
  return invalid_argument_error(path + ".driver: this xatm-recover was built without the mysql driver");
#endif
}

Result<std::unique_ptr<Resource>> postgresql_source([[maybe_unused]] const Json& object,
                                                    const std::string& path) {
#ifdef XATM_TOOL_WITH_POSTGRESQL
  XATM_ASSIGN_OR_RETURN(auto settings, source_settings(object, path));
  return driver_source(postgresql::data_source_from_settings(settings), path);
#else
  return invalid_argument_error(path + ".driver: this xatm-recover was built without the postgresql driver");
#endif
}

// Any XA resource manager through its xa_switch_t, loaded from a shared library (without
// `library`: linked into the program, see load_xa_switch). The xa_open info string may hold a
// password: open_info_file or open_info_env keep it out of the file.
Result<std::unique_ptr<Resource>> switch_source(const Json& object, const std::string& path) {
  XATM_RETURN_IF_ERROR(check_keys(object, path, {"name", "driver", "library", "symbol", "open_info",
                                                 "open_info_file", "open_info_env"}));
  XATM_ASSIGN_OR_RETURN(auto name, string_field(object, path, "name", true));
  // Absent: the switch is linked into the program. Present, it must name a file: an empty
  // string is more likely a mistake than a wish to look in the program.
  const bool in_program = !object.contains("library");
  XATM_ASSIGN_OR_RETURN(auto library, string_field(object, path, "library", !in_program));
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

// "log": {"backend": "postgresql", "table": "xatm_log", <a postgresql data source's settings>}:
// the decision log in a PostgreSQL database (xatm/postgresql/decision_log.h).
Result<ToolConfig::DatabaseLog> database_log([[maybe_unused]] const Json& object, const std::string& path) {
  if (!object.is_object()) return invalid_argument_error(path + ": expected an object");
  XATM_ASSIGN_OR_RETURN(auto backend, string_field(object, path, "backend", true));
  if (backend != "postgresql") {
    return invalid_argument_error(path + ".backend: unknown backend '" + backend +
                                  "' (postgresql; a file log is given by log_dir)");
  }
#ifdef XATM_TOOL_WITH_POSTGRESQL
  XATM_ASSIGN_OR_RETURN(auto table, string_field(object, path, "table", false));
  XATM_ASSIGN_OR_RETURN(auto settings, source_settings(object, path, {"backend", "table"}));
  if (!object.contains("name")) settings.emplace_back("name", "decision-log");
  Result<postgresql::DataSource> database = postgresql::data_source_from_settings(settings);
  if (!database.ok()) return database.status().with_context(path);
  postgresql::LogOptions options{.database = std::move(*database)};
  if (!table.empty()) options.table = table;
  XATM_RETURN_IF_ERROR(validate_decision_table_name(options.database.name, options.table).with_context(path + ".table"));
  ToolConfig::DatabaseLog log;
  log.open = [options](const std::string& node, bool take_over) {
    postgresql::LogOptions mine = options;
    mine.node = node;
    mine.take_over = take_over;
    return postgresql::make_decision_log(mine);
  };
  log.read = [options](const std::string& node) {
    postgresql::LogOptions mine = options;
    mine.node = node;
    return postgresql::read_decision_log(mine);
  };
  log.description = "the decision log table " + options.table + " of '" + options.database.name + "'";
  return log;
#else
  return invalid_argument_error(path + ".backend: this xatm-recover was built without the postgresql driver");
#endif
}

}  // namespace

Result<ToolConfig> parse_tool_config(const std::string& json_text) {
  // nlohmann keeps the last of a key given twice: a config that says two things is refused.
  std::vector<std::set<std::string>> objects;  // the keys seen in each open object
  std::optional<std::string> given_twice;
  const Json::parser_callback_t check_keys_once = [&](int, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) objects.emplace_back();
    if (event == Json::parse_event_t::object_end && !objects.empty()) objects.pop_back();
    if (event == Json::parse_event_t::key && !objects.empty() && parsed.is_string() &&
        !objects.back().insert(parsed.get<std::string>()).second && !given_twice) {
      given_twice = parsed.get<std::string>();
    }
    return true;
  };
  Json root = Json::parse(json_text, check_keys_once, /*allow_exceptions=*/false);
  if (root.is_discarded()) return invalid_argument_error("config: not valid JSON");
  if (given_twice) return invalid_argument_error("config: key '" + *given_twice + "' is given twice in one object");
  XATM_RETURN_IF_ERROR(check_keys(root, "config", {"node_name", "log_dir", "log", "data_sources",
                                                   "default_timeout_s"}));
  ToolConfig config;
  if (auto timeout = root.find("default_timeout_s"); timeout != root.end()) {
    constexpr std::int64_t kMaxSeconds =
        std::chrono::duration_cast<std::chrono::seconds>(kMaxTransactionTimeout).count();
    if (!timeout->is_number_integer() || timeout->get<std::int64_t>() < 1 ||
        timeout->get<std::int64_t>() > kMaxSeconds) {
      return invalid_argument_error("config.default_timeout_s: expected whole seconds, 1.." +
                                    std::to_string(kMaxSeconds));
    }
    config.default_timeout = std::chrono::seconds(timeout->get<std::int64_t>());
  }
  XATM_ASSIGN_OR_RETURN(auto node, string_field(root, "config", "node_name", true));
  XATM_RETURN_IF_ERROR(validate_node_name(node).with_context("config.node_name"));
  config.node_name = node;
  if (root.contains("log") == root.contains("log_dir")) {
    return invalid_argument_error("config: give the decision log as log_dir (a file log) or as log "
                                  "(a database log), one of them");
  }
  if (root.contains("log")) {
    XATM_ASSIGN_OR_RETURN(auto log, database_log(root["log"], "config.log"));
    config.database_log = std::move(log);
  } else {
    XATM_ASSIGN_OR_RETURN(auto dir, string_field(root, "config", "log_dir", true));
    config.log_dir = dir;
  }
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
  if (!std::filesystem::is_regular_file(path) || !in) {
    return invalid_argument_error("config: cannot read " + path + " (not a readable file)");
  }
  std::stringstream text;
  text << in.rdbuf();
  Result<ToolConfig> config = parse_tool_config(text.str());
  if (!config.ok()) return config.status().with_context(path);
  return config;
}

}  // namespace xatm::tools
