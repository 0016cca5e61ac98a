// The configuration file of xatm-recover: the node, its log directory and its data sources.
//
//   {"node_name": "orders-1", "log_dir": "/var/lib/orders/xatm",
//    "data_sources": [
//      {"name": "inventory", "driver": "mysql", "unix_socket": "/run/mysqld/mysqld.sock",
//       "user": "app", "password_file": "/run/secrets/inventory", "database": "shop"},
//      {"name": "billing", "driver": "postgresql", "conninfo": "host=/run/postgresql dbname=billing",
//       "password_env": "BILLING_PASSWORD"}]}
//
// Keys per driver — mysql: name, driver, host, port, unix_socket, user, password_file,
// password_env, database, connect_timeout_s, read_timeout_s; postgresql: name, driver, conninfo,
// host, port, user, password_file, password_env, dbname, connect_timeout_s; xa_switch (any XA
// resource manager, docs/xa-switch.md): name, driver, library, symbol, and the xa_open info string
// as one of open_info, open_info_file, open_info_env. Unknown keys are
// errors. A password is never written in the file itself: it is read from `password_file`
// (trailing newline removed) or the environment variable `password_env`, and never printed.
//
// Thread safety: plain functions and values.
#ifndef XATM_TOOLS_TOOL_CONFIG_H_
#define XATM_TOOLS_TOOL_CONFIG_H_

#include <memory>
#include <string>
#include <vector>

#include "xatm/driver/resource.h"
#include "xatm/status.h"

namespace xatm::tools {

struct ToolConfig {
  std::string node_name;
  std::string log_dir;
  std::vector<std::unique_ptr<Resource>> data_sources;
};

// Parses the JSON text of a config file. kInvalidArgument naming the key (as a JSON path, e.g.
// "data_sources[1].drivr") and what is wrong with it.
Result<ToolConfig> parse_tool_config(const std::string& json_text);

// Reads and parses the file at `path` (kNotFound when it cannot be read).
Result<ToolConfig> load_tool_config(const std::string& path);

}  // namespace xatm::tools

#endif  // XATM_TOOLS_TOOL_CONFIG_H_
