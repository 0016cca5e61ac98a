// Connector/C++'s driver object and its per-thread setup.
//
// get_driver_instance() is not thread-safe, and every thread that uses the connector must call
// Driver::threadInit() first and Driver::threadEnd() before it exits (docs/driver-mysql.md). The
// transaction manager calls the XA verbs from its phase threads and the application's threads,
// so every entry point of the driver calls driver_for_this_thread(): the first call creates the
// driver under a mutex, and the first call on each thread runs threadInit() and arranges for
// threadEnd() at that thread's exit.
//
// Thread safety: may be called from any thread.
#ifndef XATM_DRIVERS_MYSQL_MYSQL_DRIVER_THREAD_H_
#define XATM_DRIVERS_MYSQL_MYSQL_DRIVER_THREAD_H_

namespace sql {
class Driver;
}  // namespace sql

namespace xatm::mysql::internal {

// The connector's driver, set up for the calling thread. Throws what the connector throws
// (callers are inside the driver's catch-all).
sql::Driver& driver_for_this_thread();

}  // namespace xatm::mysql::internal

#endif  // XATM_DRIVERS_MYSQL_MYSQL_DRIVER_THREAD_H_
