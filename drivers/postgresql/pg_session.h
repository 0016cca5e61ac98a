// One libpq session: the PGconn, the driver's own statements on it, and a watch over the
// application's statements.
//
// The application runs its SQL directly on the PGconn, so the driver cannot see those results
// through its own calls. A libpq event procedure (PGEVT_RESULTCREATE fires for every result the
// session produces, errors included) keeps what xa_end and xa_prepare need to know:
//   - the SQLSTATE of the application's last failed statement, ignoring 25P02 ("current
//     transaction is aborted"), which only echoes an earlier failure; with savepoints the last
//     failure, not the first, is the one that left the transaction failed;
//   - whether any result said the session is gone (docs/driver-postgresql.md: a FATAL 57P01 can arrive
//     before libpq's own "server closed the connection unexpectedly");
//   - whether the application ended the transaction itself (a COMMIT or PREPARE TRANSACTION
//     command tag while the driver was not running a statement of its own);
//   - whether the application certainly wrote: an INSERT, UPDATE, DELETE or MERGE that reports
//     at least one row. Such a transaction has a transaction id, so xa_prepare needs no probe.
// A notice receiver sends server notices to xatm's log (WARNINGs at warning level, with their
// SQLSTATE), instead of libpq's default of printing them on stderr.
//
// Thread safety: used by one thread at a time, like the PGconn it owns.
#ifndef XATM_DRIVERS_POSTGRESQL_PG_SESSION_H_
#define XATM_DRIVERS_POSTGRESQL_PG_SESSION_H_

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace xatm::postgresql::internal {

struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
// Every PGresult is owned by one of these, so it is always PQclear'ed.
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// What the server (or libpq) answered to one statement.
struct PgAnswer {
  PgResult result;       // null when PQexec returned NULL (no connection, out of memory)
  bool ok = false;       // PGRES_COMMAND_OK or PGRES_TUPLES_OK
  bool lost = false;     // the session is gone (is_connection_lost); `ok` is false then
  std::string sqlstate;  // empty when the answer carries none
  std::string message;   // the server's or libpq's message on one line; empty when ok

  // The command tag, e.g. "PREPARE TRANSACTION" or "ROLLBACK"; empty without a result.
  [[nodiscard]] std::string_view tag() const;
  // "SQLSTATE 42704: <message>" or "connection lost: <message>"; empty when ok.
  [[nodiscard]] std::string describe() const;
};

class PgSession {
 public:
  // Takes ownership of `conn` (REQUIRES: PQstatus(conn) == CONNECTION_OK). `data_source` names
  // the data source in log messages.
  PgSession(PGconn* conn, std::string data_source);
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;
  ~PgSession();  // PQfinish

  [[nodiscard]] PGconn* native() const { return conn_; }
  [[nodiscard]] const std::string& data_source() const { return data_source_; }

  // Runs one statement of the driver's own with PQexec (simple protocol).
  PgAnswer exec(const std::string& sql);
  // A named prepared statement of the driver's own (PQprepare), and a run of it with text
  // parameters (PQexecPrepared): parsed and planned once per session.
  PgAnswer prepare(const std::string& name, const std::string& sql);
  PgAnswer exec_prepared(const std::string& name, const std::vector<std::string>& params);
  // One statement with text parameters ($1, ...), unnamed (PQexecParams).
  PgAnswer exec_params(const std::string& sql, const std::vector<std::string>& params);

  // The server's name for this session, "<backend pid>@<backend_start>", read at connect
  // (PgResource); empty when it could not be read.
  [[nodiscard]] const std::string& key() const { return key_; }
  void set_key(std::string key) { key_ = std::move(key); }

  // exec() in two halves, for a statement whose answer is read later. send() does not wait for
  // the server; receive() waits for the answer and returns it as exec() would. A statement that
  // could not be sent is answered as a lost session. REQUIRES: no statement in progress
  // (transaction_status() is not PQTRANS_ACTIVE), and every send() followed by one receive().
  void send(const std::string& sql);
  PgAnswer receive();

  // PQtransactionStatus; PQTRANS_UNKNOWN (and marking the session lost) when libpq says the
  // connection is bad.
  PGTransactionStatusType transaction_status();

  // True once any answer, or libpq, said the session is gone. Never reset: a lost session is
  // discarded, never reconnected (a new session would not carry the branch).
  [[nodiscard]] bool lost() const { return watch_.lost; }
  // The message of the answer that made the session lost, for details.
  [[nodiscard]] const std::string& lost_message() const { return watch_.lost_message; }

  // Forgets what the application did so far (called when a branch starts).
  void reset_watch();
  // SQLSTATE of the application's last failed statement since reset_watch(); empty if none.
  [[nodiscard]] const std::string& app_failure() const { return watch_.app_failure; }
  // "COMMIT" or "PREPARE TRANSACTION" when the application ended the transaction itself.
  [[nodiscard]] const std::string& app_ended() const { return watch_.app_ended; }
  // True when one of the application's statements since reset_watch() modified rows. False
  // says nothing: other statements (functions, COPY, DDL) may have written too.
  [[nodiscard]] bool app_wrote() const { return watch_.app_wrote; }

 private:
  struct Watch {
    bool own_statement = false;  // a statement of the driver's is between send() and receive()
    bool lost = false;
    std::string lost_message;
    std::string app_failure;
    std::string app_ended;
    bool app_wrote = false;
  };
  friend struct PgSessionCallbacks;  // the libpq event procedure and notice receiver
  void observe(const PGresult* result);
  // The answer a statement's result (null: none came) gives; `send_failure` is libpq's reason
  // when the statement was never sent.
  PgAnswer answer(PgResult result, const std::string& send_failure);
  void mark_lost(std::string message);

  PGconn* conn_;
  std::string key_;
  const std::string data_source_;
  Watch watch_;
  std::string send_failure_;  // libpq's reason when the last send() failed; empty otherwise
};

}  // namespace xatm::postgresql::internal

#endif  // XATM_DRIVERS_POSTGRESQL_PG_SESSION_H_
