// The configuration file of xatm-recover: the node, its decision log and its data sources.
//
//   {"node_name": "orders-1", "log_dir": "/var/lib/orders/xatm",
//    "data_sources": [
//      {"name": "inventory", "driver": "mysql", "unix_socket": "/run/mysqld/mysqld.sock",
//       "user": "app", "password_file": "/run/secrets/inventory", "database": "shop"},
//      {"name": "billing", "driver": "postgresql", "conninfo": "host=/run/postgresql dbname=billing",
//       "password_env": "BILLING_PASSWORD"}]}
//
// A mysql (or mariadb) or postgresql data source is its driver's settings: every key but
// `driver` goes, as text (a JSON integer as its decimal digits), to the driver's
// data_source_from_settings(), which alone knows the keys, their ranges and the two spellings of
// the timeouts (connect_timeout_s = connect_timeout), and refuses an unknown key or a key given
// twice by name; mysql.h and postgresql.h list them. A password is never written in the file
// itself (a `password` key is refused): it is read from `password_file` (trailing newline
// removed) or the environment variable `password_env`, handed to the driver as the setting
// `password`, and never printed. xa_switch (any XA resource manager, docs/xa-switch.md) takes
// name, driver, library, symbol, and the xa_open info string as one of open_info,
// open_info_file, open_info_env; other keys are errors.
//
// The decision log is either a file log (`log_dir`) or a log in a PostgreSQL database:
//   "log": {"backend": "postgresql", "table": "xatm_log", "conninfo": "host=logdb dbname=xatm",
//           "password_env": "XATM_LOG_PASSWORD"}
// whose other keys are a postgresql data source's settings (name defaults to "decision-log").
//
// `default_timeout_s` (optional, 1 .. 4294967) is the timeout of a transaction begun without one
// (Options::default_timeout, 60 s when absent): tx_open() applies it; xatm-recover needs none.
//
// Thread safety: plain functions and values.
#ifndef XATM_TOOLS_TOOL_CONFIG_H_
#define XATM_TOOLS_TOOL_CONFIG_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xatm/decision_log.h"
#include "xatm/driver/resource.h"
#include "xatm/log_tools.h"
#include "xatm/status.h"

namespace xatm::tools {

struct ToolConfig {
  // The decision log in a database, opened for a node name (the config's, or --node's).
  struct DatabaseLog {
    // As its owner; take_over ends a live owner's session first.
    std::function<Result<std::unique_ptr<DecisionLog>>(const std::string& node, bool take_over)> open;
    // Read only, beside a possibly live owner (LogSnapshot::locked: no owner is alive).
    std::function<Result<LogSnapshot>(const std::string& node)> read;
    std::string description;  // for messages
  };

  std::string node_name;
  std::string log_dir;                       // the file log; empty with database_log
  std::optional<DatabaseLog> database_log;   // unset with log_dir
  std::vector<std::unique_ptr<Resource>> data_sources;
  std::optional<std::chrono::milliseconds> default_timeout;  // default_timeout_s, when given
};

// Parses the JSON text of a config file. kInvalidArgument naming the key (as a JSON path, e.g.
// "config.data_sources[1].drivr", or the data source's path and the driver's message naming the
// key: "config.data_sources[1]: unknown key 'prot' (known: ...)") and what is wrong with it.
Result<ToolConfig> parse_tool_config(const std::string& json_text);

// Reads and parses the file at `path` (kNotFound when it cannot be read).
Result<ToolConfig> load_tool_config(const std::string& path);

}  // namespace xatm::tools

#endif  // XATM_TOOLS_TOOL_CONFIG_H_
