// PostgreSQL answers → XA return codes, per statement (docs/driver-postgresql.md).
//
// Pure functions over SQLSTATEs, so that every row of the mapping table has a unit test that
// needs no server. The same SQLSTATE means different things for different statements (42704 is
// XAER_NOTA at COMMIT PREPARED, 55000 is "busy" there but "prepared transactions are disabled"
// at PREPARE TRANSACTION), so callers always say which statement failed.
//
// Thread safety: pure functions.
#ifndef XATM_DRIVERS_POSTGRESQL_PG_ERROR_MAPPING_H_
#define XATM_DRIVERS_POSTGRESQL_PG_ERROR_MAPPING_H_

#include <string_view>

namespace xatm::postgresql::internal {

// The statements the driver sends on its own behalf.
enum class Statement {
  kBegin,             // xa_start
  kReadOnlyProbe,     // xa_prepare: SELECT txid_current_if_assigned()
  kPrepare,           // xa_prepare: PREPARE TRANSACTION
  kCommit,            // xa_commit(TMONEPHASE), and xa_prepare of a read-only branch: COMMIT
  kCommitPrepared,    // xa_commit: COMMIT PREPARED
  kRollback,          // xa_rollback of a branch that is not prepared (also in xa_end): ROLLBACK
  kRollbackPrepared,  // xa_rollback: ROLLBACK PREPARED
  kRecover,           // xa_recover: SELECT gid FROM pg_prepared_xacts
  kCheck,             // connect-time checks (SHOW max_prepared_transactions)
};

// How loudly a failure is logged: most are the RM's normal answers (a deadlock victim votes no);
// some mean the configuration or the TM is wrong and an operator must look.
enum class Attention { kNone, kWarning, kError };

struct Mapping {
  int code;                 // the XA return code
  Attention attention;      // how loudly to log it
  std::string_view reason;  // what it means, for the reply's detail; may be empty
};

// True when the answer means the session is gone (docs/driver-postgresql.md): no SQLSTATE at all (libpq's
// own "server closed the connection unexpectedly"), SQLSTATE class 08, 57P01 admin shutdown,
// 57P02 crash shutdown, 57P03 cannot connect now, 25P03 idle-in-transaction timeout, 57P05 idle
// session timeout, or a FATAL / PANIC severity whatever the SQLSTATE.
bool is_connection_lost(std::string_view sqlstate, std::string_view severity);

// RB(sqlstate) of docs/driver-postgresql.md: the rollback code for a branch that failed with `sqlstate` (40P01
// XA_RBDEADLOCK, 40001 XA_RBTRANSIENT, 23xxx XA_RBINTEGRITY, 55P03 and 57014 XA_RBTIMEOUT,
// anything else, including no SQLSTATE, XA_RBROLLBACK).
int rollback_code(std::string_view sqlstate);

// The XA code for `statement` failing with `sqlstate` (empty when the server sent none), where
// `lost` says whether is_connection_lost() held.
Mapping map_failure(Statement statement, std::string_view sqlstate, bool lost);

// The statement's SQL keyword for messages, e.g. "PREPARE TRANSACTION".
std::string_view statement_name(Statement statement);

}  // namespace xatm::postgresql::internal

#endif  // XATM_DRIVERS_POSTGRESQL_PG_ERROR_MAPPING_H_
