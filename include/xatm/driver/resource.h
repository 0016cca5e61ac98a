// The resource-manager interface every driver implements.
//
// A Resource is one configured data source (a database server reached with one set of
// credentials). It opens XaConnections; the transaction manager pools them. An XaConnection
// is one database session and carries at most one transaction branch at a time.
//
// Every verb answers with an XA return code (xatm/xa.h) in an XaReply, classified per verb
// exactly as docs/protocol.md and the drivers' docs (docs/driver-*.md) say. Two rules matter above all:
//   - a lost connection, or any answer after which the effect of the verb is unknown, is
//     XAER_RMFAIL, never XAER_RMERR or XA_OK;
//   - XA_RB* from prepare/end/one-phase commit means the branch is rolled back on the RM.
#ifndef XATM_RESOURCE_H_
#define XATM_RESOURCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xatm/driver/decision_table.h"
#include "xatm/status.h"
#include "xatm/xa.h"
#include "xatm/xid.h"

namespace xatm {

// XA_RB*: the RM rolled the branch back (X/Open's rollback codes, XA_RBBASE..XA_RBEND).
constexpr bool is_rollback_code(int code) { return code >= XA_RBBASE && code <= XA_RBEND; }

// XA_HEUR*: the RM completed the branch on its own (heuristically).
constexpr bool is_heuristic_code(int code) {
  return code == XA_HEURHAZ || code == XA_HEURCOM || code == XA_HEURRB || code == XA_HEURMIX;
}

// One RM answer: the XA return code, and when it is not XA_OK what the RM said
// (vendor error code, SQLSTATE, server message) for logs and outcomes.
struct [[nodiscard]] XaReply {
  int code = XA_OK;
  std::string detail;

  bool ok() const { return code == XA_OK; }
  bool is_rollback() const { return is_rollback_code(code); }
  bool is_heuristic() const { return is_heuristic_code(code); }
};

// The symbolic name of an XA return code, e.g. "XAER_RMFAIL"; "XA_UNKNOWN(<n>)" for others.
std::string xa_code_name(int code);

// One database session able to carry one XA branch at a time.
//
// Thread safety: used by one thread at a time (the transaction manager guarantees it);
// implementations need no locking of their own.
class XaConnection {
 public:
  virtual ~XaConnection() = default;

  // xa_start with TMNOFLAGS: associates a new branch with this session. Typical answers:
  // XA_OK, XAER_DUPID, XAER_OUTSIDE (local work is open), XAER_RMFAIL.
  virtual XaReply start(const Xid& xid) = 0;

  // xa_end with TMSUCCESS: dissociates the session from the branch. XA_RB* means the RM
  // rolled the branch back (a deadlock victim, a failed statement).
  virtual XaReply end(const Xid& xid) = 0;

  // xa_prepare: XA_OK (yes vote), XA_RDONLY (read-only: the branch is already finished on the
  // RM), XA_RB* (rolled back), XAER_NOTA / XAER_RMERR (no vote), XAER_RMFAIL (unknown).
  virtual XaReply prepare(const Xid& xid) = 0;

  // xa_commit; `one_phase` is TMONEPHASE (the branch is ended but not prepared). Answers as
  // docs/protocol.md: XA_OK, XA_HEUR*, XA_RB* (one phase only), XA_RETRY, XAER_NOTA, XAER_RMFAIL.
  virtual XaReply commit(const Xid& xid, bool one_phase) = 0;

  // xa_rollback of an active, ended or prepared branch. XA_OK, XA_RB*, XAER_NOTA (the RM never
  // saw it or finished it already), XA_HEUR*, XAER_RMFAIL.
  virtual XaReply rollback(const Xid& xid) = 0;

  // xa_forget of a heuristically completed branch.
  virtual XaReply forget(const Xid& xid) = 0;

  // xa_recover: every prepared branch the RM knows, of any formatID (the caller filters).
  // An XID that is not decodable is skipped by the driver and reported in `detail`. Prepared
  // branches that this session lists but cannot finish are in `unusable`, so that a TM can tell
  // that one of its own may be there: an entry that names a formatID but does not decode
  // (PostgreSQL: a gid "<formatID>_..." whose rest is not base64), or a branch in another
  // database of the same server or owned by another role (PostgreSQL names prepared
  // transactions per cluster and finishes them per database).
  struct Unusable {
    std::int64_t format_id = 0;
    std::optional<Xid> xid;  // when it decodes
    std::string text;        // as the RM names it, made safe for a message
    std::string why;         // why this session cannot finish it
  };
  struct Recovered {
    XaReply reply;
    std::vector<Xid> xids;
    std::vector<Unusable> unusable;
  };
  virtual Recovered recover() = 0;

  // False once the session is known to be unusable (after XAER_RMFAIL); the pool then discards it.
  virtual bool usable() const = 0;

  // The decision branch's commit (include/xatm/driver/decision_table.h), for a session of a
  // data source with a decision table, on its active branch (no xa_end before it): inserts
  // `row` into the table inside the branch, ends it and commits it in one phase, in as few
  // round trips as the protocol allows. XA_OK: the branch's work and the decision are durable
  // together. XA_RB*, XAER_RMERR, XAER_NOTA: rolled back, nothing decided (a fence row was
  // there, the branch's work had failed). XAER_RMFAIL: the answer was lost;
  // DecisionTable::fence() settles the outcome. Anything else did nothing.
  virtual XaReply commit_with_decision(const Xid& xid, const DecisionRow& row) {
    static_cast<void>(xid);
    static_cast<void>(row);
    return {XAER_PROTO, "this data source keeps no decision table"};
  }

  // Bytes this session asks the transaction manager to put into the bqual of every branch it
  // starts, after the branch index (Xid::branch; at most kMaxBranchTagBytes). Whoever finishes
  // the branch later, in this process or another, reads them back from the XID that xa_recover
  // returns. The MariaDB driver carries the preparing session's identity this way
  // (docs/driver-mysql.md, "the detach window"). Empty by default.
  virtual std::vector<std::uint8_t> branch_tag() const { return {}; }

  // Ending a session from elsewhere (optional), for the reaper (docs/protocol.md, "Timeouts"): a
  // transaction past its deadline is rolled back even while the application's thread is stuck
  // in a statement on this session, which no other thread may touch.
  //
  // session_key(): the server's name for this session (e.g. its connection id), as
  // end_session() on another session of the same data source takes it; empty when the driver
  // cannot end sessions. Called from any thread: it must only read what connect() set.
  // end_session(key): run on an idle session; makes the server end the session `key` names:
  // its statement is cancelled, its open (not prepared) branch rolled back and its locks
  // released before this returns OK. OK also when that session had ended already.
  virtual std::string session_key() const { return {}; }
  virtual Status end_session(std::string_view key) {
    static_cast<void>(key);
    return failed_precondition_error("this data source cannot end another session");
  }

  // Split verbs (optional). A driver that can send a statement and read its answer later
  // overrides these four. The coordinator then sends this branch's prepare or commit, does the
  // other branches' work on the same thread, and reads this answer last: the round trips of
  // the branches overlap without handing work to another thread.
  //
  // splits_verbs(): whether send_prepare and send_commit may be used on this session.
  // send_prepare / send_commit (two-phase commit): everything prepare() / commit(xid, false)
  // does, up to and including sending its last statement. The next call on the session must be
  // receive_reply(), which answers exactly what the blocking verb would have answered.
  virtual bool splits_verbs() const { return false; }
  virtual void send_prepare(const Xid& xid) { static_cast<void>(xid); }
  virtual void send_commit(const Xid& xid) { static_cast<void>(xid); }
  virtual XaReply receive_reply() { return {XAER_PROTO, "this session does not split verbs"}; }
};

// One configured data source.
//
// Thread safety: connect() and name() may be called from any thread concurrently.
class Resource {
 public:
  virtual ~Resource() = default;

  // The data source's name, unique within a TransactionManager; it is written into the
  // decision log, so it must stay the same across restarts.
  virtual const std::string& name() const = 0;

  // Opens a new session and checks the server's XA prerequisites (a clear kFailedPrecondition
  // naming the setting when one is missing; kUnavailable when the server cannot be reached;
  // kInvalidArgument for bad credentials or options). Messages never contain a password.
  virtual Result<std::unique_ptr<XaConnection>> connect() = 0;

  // The data source's decision table, or null when it has none (the default).
  virtual DecisionTable* decision_table() { return nullptr; }
};

}  // namespace xatm

#endif  // XATM_RESOURCE_H_
