// One MariaDB/MySQL session able to carry one XA branch: the driver's XaConnection.
//
// Each verb sends one XA statement (X'..',X'..',formatID literals, mysql_xid_sql.h) and maps the
// server's answer with mysql_error_mapping.h; this class adds what needs the session: its memory of
// the branch (started / ended / rolled back / prepared here), the follow-up statements some
// answers need (clearing a ROLLBACK ONLY branch, looking at XA RECOVER after 1397), making sure
// the session that prepared a branch is gone before finishing it from here (mysql_branch_tag.h),
// and the session's health.
//
// The session runs with autocommit=1 and OPT_RECONNECT=false and never changes either: a
// reconnect would run the application's next statement outside the branch (docs/driver-mysql.md).
// A lost session (usable() false) is never used again; every verb then answers XAER_RMFAIL.
//
// Thread safety: one thread at a time (the XaConnection contract). The sql::Connection handed
// to the application belongs to the same thread.
#ifndef XATM_DRIVERS_MYSQL_MYSQL_CONNECTION_H_
#define XATM_DRIVERS_MYSQL_MYSQL_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mysql_branch_tag.h"
#include "mysql_decision_table.h"
#include "mysql_error_mapping.h"
#include "mysql_session_registry.h"
#include "xatm/driver/resource.h"
#include "mysql_xid_sql.h"

namespace sql {
class Connection;
}  // namespace sql

namespace xatm::mysql::internal {

class MysqlConnection final : public XaConnection {
 public:
  // Takes over `connection`, an open session: `self` is its CONNECTION_ID() and when its
  // server started.
  // `decisions`: the data source's decision table, null when it has none.
  MysqlConnection(std::shared_ptr<SessionRegistry> registry,
                  std::unique_ptr<sql::Connection> connection, BranchHolder self,
                  std::shared_ptr<MysqlDecisionTable> decisions = nullptr);
  ~MysqlConnection() override;
  MysqlConnection(const MysqlConnection&) = delete;
  MysqlConnection& operator=(const MysqlConnection&) = delete;

  XaReply start(const Xid& xid) override;
  XaReply end(const Xid& xid) override;
  XaReply prepare(const Xid& xid) override;
  XaReply commit(const Xid& xid, bool one_phase) override;
  // Inside the active branch: the decision table's statements (MysqlDecisionTable), then
  // XA END and XA COMMIT ... ONE PHASE.
  XaReply commit_with_decision(const Xid& xid, const DecisionRow& row) override;
  XaReply rollback(const Xid& xid) override;
  XaReply forget(const Xid& xid) override;
  Recovered recover() override;
  [[nodiscard]] bool usable() const override { return usable_; }
  // This session's identity (mysql_branch_tag.h), carried by every branch it starts.
  [[nodiscard]] std::vector<std::uint8_t> branch_tag() const override;

  // "<CONNECTION_ID()>@<server start>", for end_session() on another session (the reaper).
  [[nodiscard]] std::string session_key() const override;
  // KILL CONNECTION of the session `key` names (one of this user's, so no privilege is needed),
  // then waits until PROCESSLIST no longer shows it: by then MariaDB has rolled back its open
  // branch and released its locks. OK when the session is gone already (or the server
  // restarted since, which ended it).
  Status end_session(std::string_view key) override;
  // The Connector/C++ session, for the application's SQL inside the branch.
  sql::Connection& sql_connection() { return *connection_; }
  // The server's CONNECTION_ID() of this session.
  [[nodiscard]] std::uint64_t connection_id() const { return self_.connection_id; }

 private:
  // What this session knows about its current branch.
  struct BranchMemory {
    Xid xid;
    Knowledge knowledge;
    int rollback_code = XA_RBROLLBACK;  // the XA_RB* reason once the server rolled it back
  };
  // A branch the server removed after answering XA_RB* (failed prepare, one-phase rollback):
  // a later rollback of it answers XA_OK without asking the server.
  struct FinishedBranch {
    Xid xid;
    std::string detail;
  };
  // An XID and its SQL literal. Every verb of a branch names the same XID, so it is encoded
  // once per branch rather than once per statement.
  struct XidLiteral {
    Xid xid;
    std::string text;
  };
  struct RecoverScan {
    std::optional<SqlError> error;
    std::vector<Xid> xids;
    std::vector<std::string> skipped;  // rows that are not valid XIDs, described
  };

  // Runs one statement; the error it raised, if any. Never throws.
  std::optional<SqlError> execute(const std::string& statement);
  RecoverScan scan_recover();

  // Common start of every verb: points `literal` at the XID's SQL form (valid until the next
  // precheck), or returns the reply that stops the verb (a lost session, an XID outside
  // MariaDB's limits).
  std::optional<XaReply> precheck(const Xid& xid, const std::string*& literal);
  // XA END before XA ROLLBACK of an active branch; a reply when the session was lost.
  std::optional<XaReply> end_before_rollback(const Xid& xid, const std::string& literal);

  // Maps `error` (raised by `statement`) and runs the follow-up the answer needs.
  XaReply fail(Verb verb, const Xid& xid, const std::string& statement, const SqlError& error);
  void after_failure(Verb verb, const Xid& xid, const XaReply& reply);
  XaReply on_session_lost(Verb verb, const Xid& xid, XaReply reply);
  XaReply collect_rollback(const Xid& xid, XaReply reply);
  XaReply check_recover(const Xid& xid, XaReply reply);
  // Before finishing a branch that another session prepared (its XID names it, as
  // mysql_branch_tag.h says): makes sure that session has ended, so that XA COMMIT or XA ROLLBACK
  // cannot land in MariaDB's detach window. A session still there after a short wait (a zombie,
  // or one stuck ending) is KILLed when it is of our user and not one of ours in use. A reply
  // (XA_RETRY, or XAER_RMFAIL when this session was lost) when the branch must not be finished
  // from here yet.
  std::optional<XaReply> settle_holder(const Xid& xid);

  // The session's memory of `xid` (kNotHere unless it is the current branch).
  [[nodiscard]] Knowledge knowledge_of(const Xid& xid) const;
  [[nodiscard]] int rollback_code_of(const Xid& xid) const;
  void remember(const Xid& xid, Knowledge knowledge, int rollback_code = XA_RBROLLBACK);
  void forget_branch(const Xid& xid);
  void finished(const Xid& xid, const std::string& detail);

  [[nodiscard]] std::string where() const;  // "data source 'x', session <id>"
  [[nodiscard]] XaReply lost_reply() const;

  const std::shared_ptr<SessionRegistry> registry_;
  const std::unique_ptr<sql::Connection> connection_;
  const BranchHolder self_;
  const std::shared_ptr<MysqlDecisionTable> decisions_;
  std::optional<BranchMemory> branch_;
  std::optional<FinishedBranch> finished_;
  bool usable_ = true;
  std::optional<XidLiteral> literal_cache_;  // the XID last named by a verb
};

}  // namespace xatm::mysql::internal

#endif  // XATM_DRIVERS_MYSQL_MYSQL_CONNECTION_H_
