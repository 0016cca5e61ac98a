// xatm_mysql_xa_switch: the MySQL driver as a standard xa_switch_t (see switch_export.h).
#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/statement.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "mysql_driver_thread.h"
#include "mysql_connection.h"
#include "xatm/driver/open_info.h"
#include "xatm/driver/switch_export.h"
#include "xatm/mysql/mysql.h"
#include "xatm/mysql/xa_switch.h"

namespace xatm::mysql {
namespace {

// One Resource per distinct info string, shared by every rmid and thread that opens it: the
// driver's sessions of one data source keep track of each other (which server sessions are
// still finishing a prepared branch), and that must hold across rmids too.
Result<std::shared_ptr<Resource>> resource_from_open_info(std::string_view info) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<Resource>, std::less<>> resources;
  std::lock_guard lock(mutex);
  if (auto it = resources.find(info); it != resources.end()) return it->second;
  Result<DataSource> config = data_source_from_open_info(info);
  if (!config.ok()) return config.status();
  std::shared_ptr<Resource> resource = make_resource(std::move(*config));
  resources.emplace(std::string(info), resource);
  return resource;
}

// The calling thread's switch state, made once per thread. Connector/C++ is set up for the
// thread first, so that it is torn down after the sessions (thread_local objects are destroyed
// in the reverse order of their construction).
xatm::driver::SwitchExport new_thread_state() {
  try {
    internal::driver_for_this_thread();
  } catch (const std::exception&) {
    // The verb's own call of driver_for_this_thread() reports it as XAER_RMFAIL.
  }
  return xatm::driver::SwitchExport("xatm-mysql", &resource_from_open_info);
}

xatm::driver::SwitchExport& exported() {
  thread_local xatm::driver::SwitchExport state = new_thread_state();
  return state;
}

}  // namespace

Result<DataSource> data_source_from_open_info(std::string_view info) {
  XATM_ASSIGN_OR_RETURN(xatm::driver::Settings settings, xatm::driver::parse_open_info(info));
  const bool named = std::any_of(settings.begin(), settings.end(),
                                 [](const auto& setting) { return setting.first == "name"; });
  if (!named) settings.emplace_back("name", "xatm-mysql");
  Result<DataSource> config = data_source_from_settings(settings);
  if (!config.ok()) return config.status().with_context("xa_open info string");
  return config;
}

sql::Connection* switch_connection(int rmid) {
  auto* session = dynamic_cast<internal::MysqlConnection*>(exported().session(rmid));
  return session == nullptr ? nullptr : &session->sql_connection();
}

}  // namespace xatm::mysql

extern "C" {
xa_switch_t xatm_mysql_xa_switch =
    xatm::driver::exported_switch<&xatm::mysql::exported>("xatm-mysql");

int xatm_mysql_switch_execute(int rmid, const char* statement, char* error, size_t error_size) {
  auto fail = [&](const std::string& why) {
    if (error != nullptr && error_size > 0) {
      const std::size_t length = std::min(why.size(), error_size - 1);
      std::memcpy(error, why.data(), length);
      error[length] = '\0';
    }
    return -1;
  };
  if (statement == nullptr) return fail("the statement is null");
  sql::Connection* connection = xatm::mysql::switch_connection(rmid);
  if (connection == nullptr) {
    return fail("rmid " + std::to_string(rmid) + " is not open on this thread");
  }
  try {
    std::unique_ptr<sql::Statement>(connection->createStatement())->execute(statement);
    return 0;
  } catch (const sql::SQLException& e) {
    return fail("MariaDB error " + std::to_string(e.getErrorCode()) + ": " + e.what());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
}
