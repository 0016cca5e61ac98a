// The decision log in a PostgreSQL database (docs/decision-log.md, "The PostgreSQL backend"):
// the TM's decisions outlive the application's machine, and any machine can finish a dead
// node's transactions.
//
//   xatm::postgresql::LogOptions log_options{
//       .database = {.name = "xatm-log", .conninfo = "host=logdb dbname=xatm user=orders"},
//       .node = "orders-1"};
//   xatm::Result<std::unique_ptr<xatm::DecisionLog>> log = xatm::postgresql::make_decision_log(log_options);
//   xatm::TransactionManager tm({.node_name = "orders-1"}, std::move(*log));
//
// The log uses its own sessions and plain local transactions: it is never a participant of the
// transactions it decides. Two tables, created if missing:
//
//   <table>_nodes (node text PRIMARY KEY, epoch bigint, born timestamptz, sequence_limit bigint,
//                  owner text, taken timestamptz)
//   <table>       (node text, seq bigint, kind "char" ('C' commit, 'H' heuristic), global text,
//                  branches text ("<data source>=<xid> ..."), xa_code integer)
//
// Ownership by epoch (DESIGN §6.2). Opening the log takes node `node`: it holds a session
// advisory lock as its sign of life (a second live TM of the node is refused), then bumps the
// node's epoch. Every write names that epoch and reads the node row FOR SHARE in the same
// statement: once another opener has bumped the epoch, this log can write nothing more, and its
// failure (kFailedPrecondition, "taken over") is sticky for good. So a zombie of an old owner
// (a paused process, a machine cut off and back) can decide nothing after a takeover.
//
// Thread safety: every DecisionLog method may be called from any thread.
#ifndef XATM_POSTGRESQL_DECISION_LOG_H_
#define XATM_POSTGRESQL_DECISION_LOG_H_

#include <memory>
#include <string>

#include "xatm/decision_log.h"
#include "xatm/log_tools.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/status.h"

namespace xatm::postgresql {

struct LogOptions {
  // Where the log lives: connection settings as for a data source (name is used in messages;
  // decision_table is ignored). The database must keep its commits: synchronous_commit = on,
  // and synchronous replication if it fails over (docs/decision-log.md).
  DataSource database{.name = "decision-log"};
  // The log's table; <table>_nodes holds the node rows. validate_decision_table_name's rules.
  std::string table = "xatm_log";
  // The node whose log this is (validate_node_name): the TM's Options::node_name.
  std::string node;
  // When another session holds the node's sign of life: false refuses (kFailedPrecondition,
  // naming the session); true terminates that session (pg_terminate_backend: the same role, or
  // pg_signal_backend) and takes the node over. Only for a node known to be stopped or paused:
  // a live owner's next decision then fails, and its transactions end rolled back or unknown.
  bool take_over = false;
  // Read the node's records without taking the node (read_decision_log sets it): no table is
  // created, no epoch bumped, every append refused; open_decisions() reads the table again on
  // each call.
  bool read_only = false;
};

// Connects, creates the tables if missing, takes the node (see above) and reads its open
// records. Errors: kInvalidArgument for a bad node or table name, or bad connection settings;
// kUnavailable when the database cannot be reached; kFailedPrecondition when the tables cannot
// be created or used (naming the privilege) or when another live session holds the node and
// take_over is off.
Result<std::unique_ptr<DecisionLog>> make_decision_log(const LogOptions& options);

// The node's log read only, for tools beside a possibly live TM (xatm-recover list, run
// --force). LogSnapshot::locked is always false: a free sign of life does not prove the owner
// down (a live TM loses it with its session and takes it again under the same epoch), so a
// reader never lets recovery presume the owner down; only taking the node (a new epoch) does.
// kNotFound when the tables or the node row do not exist; nothing is created or locked.
Result<LogSnapshot> read_decision_log(const LogOptions& options);

}  // namespace xatm::postgresql

#endif  // XATM_POSTGRESQL_DECISION_LOG_H_
