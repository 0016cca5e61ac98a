// The PostgreSQL resource-manager driver (libpq): xatm::postgresql.
//
//   xatm::TransactionManager tm({.node_name = "orders-1", .log_dir = "/var/lib/orders/xatm"});
//   XATM_RETURN_IF_ERROR(tm.add(xatm::postgresql::DataSource{
//       .name = "billing", .conninfo = "host=/run/postgresql dbname=billing", .password =
//       secret}));
//   XATM_RETURN_IF_ERROR(tm.start());
//   xatm::Result<xatm::Transaction> tx = tm.begin();
//   xatm::Result<PGconn*> bill = xatm::postgresql::connection(*tx, "billing");  // BEGIN done
//   PQexec(*bill, "UPDATE account SET balance = balance - 10 WHERE id = 7");   // your SQL
//   xatm::Outcome outcome = tx->commit();
//
// Each branch is one PostgreSQL transaction: xa_start is BEGIN, xa_prepare is
// PREPARE TRANSACTION '<gid>' (or COMMIT and XA_RDONLY when the branch wrote nothing), phase 2 is
// COMMIT PREPARED / ROLLBACK PREPARED. docs/driver-postgresql.md lists the server prerequisites
// (max_prepared_transactions > 0) and what every error means.
//
// This header does not include libpq-fe.h: PGconn is forward-declared as libpq declares it, so
// an application that uses the handle includes <libpq-fe.h> itself.
//
// Thread safety: make_resource() and connection() may be called from any thread; a PGconn handed
// out by connection() belongs to its transaction and is used by one thread at a time.
#ifndef XATM_POSTGRESQL_POSTGRESQL_H_
#define XATM_POSTGRESQL_POSTGRESQL_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "xatm/driver/open_info.h"
#include "xatm/driver/resource.h"
#include "xatm/postgresql/xa_switch.h"
#include "xatm/status.h"
#include "xatm/transaction_manager.h"
#include "xatm/xa.h"

struct pg_conn;
typedef struct pg_conn PGconn;  // NOLINT(modernize-use-using): libpq's own declaration

namespace xatm::postgresql {

// One PostgreSQL data source: a database reached with one role. The typed fields, when set,
// override the same keyword in `conninfo`; libpq's environment variables (PGHOST, ...) and
// ~/.pgpass apply as usual to whatever neither sets.
struct DataSource {
  // The data source's name in the TransactionManager; written into the decision log, so it must
  // stay the same across restarts. Every error and log message names it.
  std::string name;
  // A libpq connection string, passed through as is: keywords ("host=/run/pg dbname=billing")
  // or a URI ("postgresql://app@db.example/billing"). It may be empty when the typed fields say
  // everything. See docs/driver-postgresql.md for why the role and database must stay the same.
  std::string conninfo;
  // Server host name, IP address or Unix socket directory (libpq `host`).
  std::optional<std::string> host;
  // Server port (libpq `port`).
  std::optional<std::uint16_t> port;
  // The role to connect as (libpq `user`). Only this role (or a superuser) can finish the
  // branches it prepared, so recovery must use the same role.
  std::optional<std::string> user;
  // The role's password (libpq `password`). Never written into a message or a log.
  std::optional<std::string> password;
  // The database (libpq `dbname`). Prepared transactions can only be finished from the database
  // they were prepared in.
  std::optional<std::string> dbname;
  // How long opening a session may take before the server counts as unreachable (libpq
  // `connect_timeout`; overrides one in `conninfo`). Zero waits indefinitely.
  std::chrono::seconds connect_timeout{5};
  // A table in this database that keeps the decisions of the 2PC transactions this data source
  // takes part in ("logging last resource", docs/protocol.md): the decision becomes durable in
  // this branch's own local commit, with no prepare of this branch and no write to xatm's log.
  // Empty (the default): off. start() creates the table if it is missing (or fails naming the
  // privilege). Only ever this database's table: the decision must commit with the work.
  std::string decision_table;
};

// A Resource for the data source. Nothing is contacted here: the first Resource::connect()
// opens a session and checks the prerequisites (kInvalidArgument for a malformed conninfo, bad
// credentials or a missing database; kUnavailable when the server cannot be reached;
// kFailedPrecondition when max_prepared_transactions = 0). Found by argument-dependent lookup,
// so `tm.add(xatm::postgresql::DataSource{...})` works.
std::unique_ptr<Resource> make_resource(DataSource config);

// The libpq session of `data_source` in `tx`, enlisted in the transaction (the first call opens
// the branch with BEGIN; later calls return the same session). The handle stays valid until the
// transaction ends. Run ordinary SQL on it; never COMMIT, ROLLBACK, PREPARE TRANSACTION, close it
// or reset it: the transaction manager ends the transaction. Errors: those of
// Transaction::enlist(), and kInvalidArgument when `data_source` is not a PostgreSQL data source
// (its branch stays enlisted and ends with the transaction).
Result<PGconn*> connection(Transaction& tx, std::string_view data_source);

// The DataSource that `settings` describe: the one mapping from text to a DataSource, used by
// the xa_open info string and by xatm-recover's config file. Keys, one per field: name
// (required, not empty), conninfo, host, port (1..65535), user, password, dbname,
// connect_timeout (whole seconds, 1..86400; also spelled connect_timeout_s, the same key). A key
// not given keeps the field's default. The conninfo is checked with libpq's parser at once.
// kInvalidArgument naming the key for an unknown key (listing the known ones), a key given twice,
// a missing name or a bad number, and for a conninfo libpq cannot parse; never showing a
// password.
Result<DataSource> data_source_from_settings(const xatm::driver::Settings& settings);

// The DataSource an xa_open info string describes: a libpq keyword/value connection string
// ("host=/run/pg dbname=billing user=app") plus the optional key `name` (the name used in
// messages; default "xatm-postgresql"). The pair of `name` is taken out and the rest becomes
// DataSource::conninfo byte for byte, for libpq to read (a keyword given twice: the last wins,
// as in libpq; `name` given twice is refused). kInvalidArgument for a string that does not follow
// the syntax of include/xatm/driver/open_info.h or that libpq cannot parse, never showing a
// password.
Result<DataSource> data_source_from_open_info(std::string_view info);

// The libpq session that xatm_postgresql_xa_switch opened for `rmid` on the calling thread, or
// null when this thread has not opened `rmid`. Valid until the next xa_ call on `rmid` (after
// XAER_RMFAIL the next call opens a new session) or xa_close.
PGconn* switch_connection(int rmid);

}  // namespace xatm::postgresql

// The driver as a standard X/Open XA resource manager, named "xatm-postgresql", for any XA
// transaction manager (xatm itself adopts it with xatm::adopt_xa_switch). xa_open takes the
// info string of data_source_from_open_info(); the state of each rmid belongs to the thread that
// opened it (the XA thread of control). It is also in the loadable module
// libxatm_postgresql_switch.so. docs/xa-switch.md lists what each verb and flag does.
// (declared in xatm/postgresql/xa_switch.h, plain C: extern struct xa_switch_t xatm_postgresql_xa_switch)

#endif  // XATM_POSTGRESQL_POSTGRESQL_H_
