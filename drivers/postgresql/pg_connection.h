// PgConnection: the XaConnection of the PostgreSQL driver, one libpq session.
//
// The verbs, and the SQL each sends (docs/driver-postgresql.md maps every answer):
//   start     BEGIN, after checking that the session is idle
//   end       no SQL: the transaction status and what the application's statements did decide;
//             a failed transaction is rolled back right away (ROLLBACK) and answers RB(SQLSTATE)
//   prepare   SELECT txid_current_if_assigned(), unless the application's statements modified
//             rows; NULL (nothing written) → COMMIT and XA_RDONLY, so no read-only branch is ever
//             left prepared; otherwise PREPARE TRANSACTION '<gid>' and its command tag checked
//             (ROLLBACK = the transaction had failed: RB vote)
//   commit    one phase: COMMIT (tag checked); two phase: COMMIT PREPARED '<gid>' on an idle
//             session, this one or any other of the same database and role; with the decision
//             (logging last resource): INSERT of the decision row and COMMIT in one string
//   rollback  ROLLBACK (not prepared) / ROLLBACK PREPARED '<gid>' (prepared, or not known here)
//   recover   SELECT gid FROM pg_prepared_xacts (this database; this role unless superuser)
//   forget    XAER_NOTA: PostgreSQL never completes a branch on its own
//
// prepare and two-phase commit split (XaConnection::splits_verbs): send_prepare / send_commit
// do the checks and send the first statement with PQsendQuery; receive_reply reads its answer
// and maps it (after the read-only probe, it sends PREPARE TRANSACTION or COMMIT and waits).
// prepare() and commit() are the two halves in a row, so the coordinator's split path and
// every blocking caller share one mapping.
//
// The session remembers the branch it carries. After a failed prepare (or a rollback answered by
// xa_end or one-phase commit) the branch is "rolled back here": rollback answers XA_OK and commit
// XAER_NOTA without SQL, so a gid that another session prepared (42710, a reused XID) is never
// finished from here. A lost connection makes the session unusable for good.
//
// Thread safety: used by one thread at a time (XaConnection's contract).
#ifndef XATM_DRIVERS_POSTGRESQL_PG_CONNECTION_H_
#define XATM_DRIVERS_POSTGRESQL_PG_CONNECTION_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "pg_decision_table.h"
#include "pg_error_mapping.h"
#include "pg_session.h"
#include "xatm/driver/resource.h"

namespace xatm::postgresql::internal {

class PgConnection : public XaConnection {
 public:
  // `decisions`: the data source's decision table, null when it has none.
  explicit PgConnection(std::unique_ptr<PgSession> session,
                        std::shared_ptr<PgDecisionTable> decisions = nullptr);

  XaReply start(const Xid& xid) override;
  XaReply end(const Xid& xid) override;
  XaReply prepare(const Xid& xid) override;
  XaReply commit(const Xid& xid, bool one_phase) override;
  // One phase, with the decision row and the deletion of finished rows in the same string as
  // the COMMIT (PgDecisionTable::decision_sql): one round trip.
  XaReply commit_with_decision(const Xid& xid, const DecisionRow& row) override;
  XaReply rollback(const Xid& xid) override;
  XaReply forget(const Xid& xid) override;
  Recovered recover() override;
  // False once the session is lost, and when no branch is in progress but a transaction is open
  // on it (the application kept using the handle after its transaction ended): the next
  // xa_start would refuse it, so the pool should not keep it.
  [[nodiscard]] bool usable() const override;

  // prepare and two-phase commit send their statement and read the answer in receive_reply();
  // the blocking verbs are the two halves called in a row.
  [[nodiscard]] bool splits_verbs() const override { return true; }
  void send_prepare(const Xid& xid) override;
  void send_commit(const Xid& xid) override;
  XaReply receive_reply() override;

  // "<backend pid>@<backend start>" (PgSession::key), for end_session() on another session.
  [[nodiscard]] std::string session_key() const override { return session_->key(); }
  // pg_terminate_backend() of the session `key` names, then waits until pg_stat_activity no
  // longer shows it: by then PostgreSQL has rolled back its open transaction and released its
  // locks. The same role may end its own sessions without privilege. OK when it is gone already.
  Status end_session(std::string_view key) override;

  // The libpq handle the application runs its SQL on. Owned by this object.
  [[nodiscard]] PGconn* native() const { return session_->native(); }

 private:
  enum class State {
    kIdle,        // no branch
    kActive,      // BEGIN done; the application works on the session
    kEnded,       // xa_end answered XA_OK
    kRolledBack,  // rolled back here (xa_end, a failed prepare, one-phase commit, xa_rollback)
    kPrepared,    // PREPARE TRANSACTION succeeded here
    kInDoubt,     // the answer to PREPARE TRANSACTION or COMMIT was lost
    kCompleted,   // committed or rolled back for good (read-only, one phase, phase 2)
  };

  // What receive_reply() will answer: a reply decided without a statement, or the answer to
  // the statement that was sent.
  enum class Awaiting { kNothing, kReply, kProbe, kPrepare, kCommit, kFinishPrepared };
  struct Pending {
    Awaiting awaiting = Awaiting::kNothing;
    XaReply reply;                                  // kReply
    std::optional<Xid> xid;                         // the statement's branch
    bool read_only = false;                         // kCommit: a read-only prepare's COMMIT
    Statement statement = Statement::kCommitPrepared;  // kFinishPrepared: which statement
  };

  [[nodiscard]] bool is_current(const Xid& xid) const { return xid_.has_value() && *xid_ == xid; }
  // True between send_prepare/send_commit and receive_reply. Every other verb then answers
  // awaiting_reply_refusal() and sends nothing, and usable() is false.
  [[nodiscard]] bool awaiting_reply() const { return pending_.awaiting != Awaiting::kNothing; }
  XaReply awaiting_reply_refusal() const;
  static Pending answered(XaReply reply);
  static Pending sent(Awaiting awaiting, const Xid& xid);
  // A reply for a branch that is rolled back from now on (the session remembers the code).
  XaReply rolled_back(int code, std::string detail);
  // Maps a failed statement (docs/driver-postgresql.md), logs it as loudly as the mapping asks, builds the reply.
  XaReply failure(Statement statement, const PgAnswer& answer, const Xid& xid);
  XaReply lost_reply(int code) const;
  // The transaction status before prepare / one-phase commit, as a reply when it forbids them.
  std::optional<XaReply> check_open_transaction(const char* verb);
  // Each statement that ends a verb has two halves: send_* checks and sends it, *_answered
  // maps the answer (docs/driver-postgresql.md) and moves the session's state.
  Pending begin_prepare(const Xid& xid);
  Pending send_prepare_sql(const Xid& xid, bool probe);  // probe: the read-only probe first
  XaReply probe_answered(const PgAnswer& written, const Xid& xid);  // then sends the next one
  XaReply prepare_answered(const PgAnswer& answer, const Xid& xid);
  Pending send_commit_sql(const Xid& xid, bool read_only);
  XaReply commit_answered(const PgAnswer& answer, const Xid& xid, bool read_only);
  Pending send_finish_prepared(Statement statement, const Xid& xid);
  XaReply finish_prepared_answered(Statement statement, const PgAnswer& answer, const Xid& xid);
  XaReply rollback_sql();
  void discard_transaction();  // rollback_sql() whose answer does not matter
  void log(Attention attention, const Xid& xid, const XaReply& reply) const;
  // The gid literal of `xid` ('<formatID>_<gtrid>_<bqual>'), or why it has none. Every statement
  // of a branch names the same gid, so it is encoded once per branch; the view lives until the
  // next call.
  Result<std::string_view> gid_literal_of(const Xid& xid);

  std::unique_ptr<PgSession> session_;
  const std::shared_ptr<PgDecisionTable> decisions_;
  State state_ = State::kIdle;
  std::optional<Xid> xid_;             // the branch this session carries or carried last
  int rollback_code_ = XA_RBROLLBACK;  // what a kRolledBack branch answers again
  Pending pending_;                    // between send_prepare/send_commit and receive_reply
  std::optional<std::pair<Xid, std::string>> gid_literal_;  // the XID last encoded, its literal
};

}  // namespace xatm::postgresql::internal

#endif  // XATM_DRIVERS_POSTGRESQL_PG_CONNECTION_H_
