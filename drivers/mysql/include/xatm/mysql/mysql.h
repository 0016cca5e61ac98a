// xatm::mysql: the MySQL/MariaDB resource-manager driver, over MySQL Connector/C++ 1.1.
//
//   tm.add(xatm::mysql::DataSource{.name = "inventory", .unix_socket = "/run/mysqld/mysqld.sock",
//                                  .user = "app", .password = secret, .database = "shop"});
//   ...
//   xatm::Result<sql::Connection*> inv = xatm::mysql::connection(*tx, "inventory");
//   std::unique_ptr<sql::Statement>((*inv)->createStatement())->execute("UPDATE ...");
//
// The driver speaks MariaDB's / MySQL's XA SQL (XA START/END/PREPARE/COMMIT/ROLLBACK/RECOVER)
// and maps every server answer to an XA return code per verb (docs/driver-mysql.md lists them).
// Servers it refuses at connect: MariaDB before 10.5.2 and MySQL before 5.7.7 (they roll a
// prepared branch back when its session disconnects); MySQL 8 without XA_RECOVER_ADMIN.
//
// Rules for the application's SQL on a connection() (it is inside an XA branch):
//   - never call commit(), rollback() or setAutoCommit() on it, and never run COMMIT,
//     ROLLBACK, BEGIN or SET autocommit: xatm ends the branch (Transaction::commit/rollback);
//   - after a deadlock (1213) the transaction can only roll back: stop sending SQL and call
//     Transaction::rollback() (commit() would roll back too, answering XA_RBDEADLOCK);
//   - after a lock wait timeout (1205) only the statement that waited was undone (with the
//     server default innodb_rollback_on_timeout=OFF): the transaction goes on, and commit()
//     commits its other work. Retry the statement or call Transaction::rollback(); with
//     innodb_rollback_on_timeout=ON the whole branch was rolled back and commit() says so;
//   - do not keep the pointer past the end of the transaction.
//
// Thread safety: make_resource() and connection() may be called from any thread. A
// sql::Connection returned by connection() belongs to its transaction: one thread at a time.
#ifndef XATM_MYSQL_MYSQL_H_
#define XATM_MYSQL_MYSQL_H_

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "xatm/driver/open_info.h"
#include "xatm/driver/resource.h"
#include "xatm/mysql/xa_switch.h"
#include "xatm/status.h"
#include "xatm/xa.h"

namespace sql {
class Connection;
}  // namespace sql

namespace xatm {
class Transaction;
}  // namespace xatm

namespace xatm::mysql {

// One MySQL or MariaDB server reached with one set of credentials.
struct DataSource {
  // The data source's name in the TransactionManager. It is written into the decision log:
  // keep it stable across restarts.
  std::string name;
  // TCP host name or address of the server (ignored when unix_socket is set).
  std::string host = "127.0.0.1";
  // TCP port of the server (ignored when unix_socket is set).
  unsigned port = 3306;
  // Path of the server's Unix socket; when set, it is used instead of host and port.
  std::string unix_socket;
  // The account. It needs the DML privileges of the application, and on MySQL 8 also
  // XA_RECOVER_ADMIN (MariaDB needs no privilege for XA).
  std::string user;
  // The account's password. Never logged, never part of a message.
  std::string password;
  // The default schema of every session; empty for none.
  std::string database;
  // How long opening a session may take before kUnavailable.
  std::chrono::seconds connect_timeout{5};
  // How long the driver waits for a server answer. When it expires the session is dropped and
  // the statement's outcome is unknown (XAER_RMFAIL); keep it above innodb_lock_wait_timeout
  // and lock_wait_timeout, or lock waits turn into lost sessions.
  std::chrono::seconds read_timeout{30};
  // How long sending a statement may block.
  std::chrono::seconds write_timeout{30};
  // A table in `database` that keeps the decisions of the 2PC transactions this data source
  // takes part in ("logging last resource", docs/protocol.md): the decision commits with this
  // branch's own XA COMMIT ... ONE PHASE, with no XA PREPARE here and no write to xatm's log.
  // Empty (the default): off. start() creates it if missing (or fails naming the privilege).
  // A PostgreSQL data source with a table is preferred as the decision branch (one round trip).
  std::string decision_table;
};

// A Resource for `config`. Nothing is connected here: the first session is opened when a
// transaction first uses the data source. Found by argument-dependent lookup, so
// `tm.add(xatm::mysql::DataSource{...})` works.
std::unique_ptr<Resource> make_resource(DataSource config);

// Enlists `data_source` in `tx` (XA START on the first call) and returns the session's
// Connector/C++ connection, valid until the transaction ends. Errors: those of
// Transaction::enlist (kNotFound, kAborted, kUnavailable, ...), and
// kInvalidArgument when `data_source` is not a MySQL/MariaDB data source.
Result<sql::Connection*> connection(Transaction& tx, std::string_view data_source);

// The DataSource that `settings` describe: the one mapping from text to a DataSource, used by
// the xa_open info string and by xatm-recover's config file. Keys, one per field: name
// (required, not empty), host, port (1..65535), unix_socket, user, password, database,
// connect_timeout, read_timeout, write_timeout (whole seconds, 1..86400; each timeout also spelled
// with "_s": connect_timeout_s is the same key as connect_timeout). A key not given keeps the
// field's default. kInvalidArgument naming the key for an unknown key (listing the known ones),
// a key given twice, a missing name or a bad number; never quoting a value.
Result<DataSource> data_source_from_settings(const xatm::driver::Settings& settings);

// The DataSource an xa_open info string describes: the pairs of the info string (the syntax of
// include/xatm/driver/open_info.h, docs/xa-switch.md) as data_source_from_settings() reads them,
// `name` defaulting to "xatm-mysql". kInvalidArgument as there, or for a malformed string.
Result<DataSource> data_source_from_open_info(std::string_view info);

// The Connector/C++ connection that xatm_mysql_xa_switch opened for `rmid` on the calling
// thread, or null when this thread has not opened `rmid`. Valid until the next xa_ call on
// `rmid` (after XAER_RMFAIL the next call opens a new session) or xa_close.
sql::Connection* switch_connection(int rmid);

}  // namespace xatm::mysql

// The driver as a standard X/Open XA resource manager, named "xatm-mysql", for any XA
// transaction manager (xatm itself adopts it with xatm::adopt_xa_switch). xa_open takes the
// info string of data_source_from_open_info(); the state of each rmid belongs to the thread
// that opened it (the XA thread of control). It is also in the loadable module
// libxatm_mysql_switch.so. docs/xa-switch.md lists what each verb and flag does.
// (declared in xatm/mysql/xa_switch.h, plain C: extern struct xa_switch_t xatm_mysql_xa_switch)

#endif  // XATM_MYSQL_MYSQL_H_
