#include "mysql_driver_thread.h"

#include <mysql_driver.h>

#include <mutex>

namespace xatm::mysql::internal {
namespace {

sql::Driver& shared_driver() {
  static std::mutex mutex;
  static sql::Driver* driver = nullptr;  // owned by the connector, lives until exit
  std::lock_guard lock(mutex);
  if (driver == nullptr) driver = sql::mysql::get_mysql_driver_instance();
  return *driver;
}

// threadInit() on construction, threadEnd() when the owning thread exits.
class ThreadRegistration {
 public:
  explicit ThreadRegistration(sql::Driver& driver) : driver_(driver) { driver_.threadInit(); }
  ~ThreadRegistration() { driver_.threadEnd(); }
  ThreadRegistration(const ThreadRegistration&) = delete;
  ThreadRegistration& operator=(const ThreadRegistration&) = delete;

 private:
  sql::Driver& driver_;
};

}  // namespace

sql::Driver& driver_for_this_thread() {
  sql::Driver& driver = shared_driver();
  thread_local ThreadRegistration registration(driver);
  return driver;
}

}  // namespace xatm::mysql::internal
