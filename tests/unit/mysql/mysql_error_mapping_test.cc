// The driver's error mapping, row by row of docs/driver-mysql.md Needs no server.
#include "mysql_error_mapping.h"

#include <gtest/gtest.h>

#include "xatm/xa.h"

namespace xatm::mysql::internal {
namespace {

SqlError err(int code, std::string message = "") {
  return SqlError{code, "HY000", std::move(message)};
}
SqlError state(const char* name) {
  return SqlError{kErrXaRmfail, "XAE07",
                  std::string("XAER_RMFAIL: The command cannot be executed when global "
                              "transaction is in the  ") +
                      name + " state"};
}

XaAnswer map(Verb verb, const SqlError& error, Knowledge knowledge = Knowledge::kNotHere,
             int rollback_code = XA_RBROLLBACK) {
  return map_xa_error(verb, error, knowledge, rollback_code);
}

constexpr XaAnswer kLost{XAER_RMFAIL, Followup::kSessionLost};

TEST(MysqlErrorMapping, ConnectionLossCodes) {
  for (int code :
       {0, 2002, 2003, 2006, 2013, 2026, 2055, 5014, 1927, 1053, 1158, 1159, 1160, 1161}) {
    EXPECT_TRUE(is_connection_lost(err(code))) << code;
  }
  for (int code : {1205, 1213, 1397, 1399, 1064, 2014, 1157, 1162, 1926, 1928}) {
    EXPECT_FALSE(is_connection_lost(err(code))) << code;
  }
}

TEST(MysqlErrorMapping, ConnectionLossIsRmfailAndLosesTheSessionAtEveryVerb) {
  for (Verb verb : {Verb::kStart, Verb::kEnd, Verb::kPrepare, Verb::kCommit, Verb::kCommitOnePhase,
                    Verb::kRollback, Verb::kRecover}) {
    for (int code : {0, 2006, 2013, 1927, 1053, 2014}) {
      EXPECT_EQ(map(verb, err(code), Knowledge::kPrepared), kLost) << code;
    }
  }
}

TEST(MysqlErrorMapping, StateNameAtTheEndOf1399) {
  EXPECT_EQ(state_in_message(state("ROLLBACK ONLY").message), XaStateName::kRollbackOnly);
  EXPECT_EQ(state_in_message(state("NON-EXISTING").message), XaStateName::kNonExisting);
  EXPECT_EQ(state_in_message(state("ACTIVE").message), XaStateName::kActive);
  EXPECT_EQ(state_in_message(state("IDLE").message), XaStateName::kIdle);
  EXPECT_EQ(state_in_message(state("PREPARED").message), XaStateName::kPrepared);
  EXPECT_EQ(state_in_message("XAER_RMFAIL: something else"), XaStateName::kUnknown);
  EXPECT_EQ(state_in_message(""), XaStateName::kUnknown);
}

TEST(MysqlErrorMapping, Start) {
  EXPECT_EQ(map(Verb::kStart, err(kErrXaDupid)).code, XAER_DUPID);
  EXPECT_EQ(map(Verb::kStart, err(kErrXaOutside)),
            (XaAnswer{XAER_OUTSIDE, Followup::kSessionPoisoned}));
  EXPECT_EQ(map(Verb::kStart, state("ACTIVE")).code, XAER_PROTO);
  EXPECT_EQ(map(Verb::kStart, state("PREPARED")).code, XAER_PROTO);
  EXPECT_EQ(map(Verb::kStart, err(kErrXaInval)).code, XAER_INVAL);
  EXPECT_EQ(map(Verb::kStart, err(kErrParse)).code, XAER_INVAL);
  EXPECT_EQ(map(Verb::kStart, err(1146)).code, XAER_RMERR);
}

TEST(MysqlErrorMapping, EndAndPrepareOfARollbackOnlyBranchCollectTheReason) {
  for (Verb verb : {Verb::kEnd, Verb::kPrepare}) {
    EXPECT_EQ(map(verb, state("ROLLBACK ONLY"), Knowledge::kActive, XA_RBDEADLOCK),
              (XaAnswer{XA_RBDEADLOCK, Followup::kCollectRollback}));
    EXPECT_EQ(map(verb, state("ROLLBACK ONLY"), Knowledge::kActive, 0),
              (XaAnswer{XA_RBROLLBACK, Followup::kCollectRollback}));
  }
}

TEST(MysqlErrorMapping, EndReportsRollbackCodesAndKeepsTheBranch) {
  EXPECT_EQ(map(Verb::kEnd, err(kErrXaRbDeadlock)), (XaAnswer{XA_RBDEADLOCK}));
  EXPECT_EQ(map(Verb::kEnd, err(kErrXaRbTimeout)), (XaAnswer{XA_RBTIMEOUT}));
  EXPECT_EQ(map(Verb::kEnd, err(kErrXaRbRollback)), (XaAnswer{XA_RBROLLBACK}));
  EXPECT_EQ(map(Verb::kEnd, err(kErrXaNota)).code, XAER_NOTA);
  EXPECT_EQ(map(Verb::kEnd, state("NON-EXISTING")).code, XAER_NOTA);
  EXPECT_EQ(map(Verb::kEnd, state("IDLE")).code, XAER_PROTO);
  EXPECT_EQ(map(Verb::kEnd, state("PREPARED")).code, XAER_PROTO);
}

TEST(MysqlErrorMapping, PrepareRollbackCodesRemoveTheBranch) {
  EXPECT_EQ(map(Verb::kPrepare, err(kErrXaRbDeadlock)),
            (XaAnswer{XA_RBDEADLOCK, Followup::kBranchGone}));
  EXPECT_EQ(map(Verb::kPrepare, err(kErrXaRbTimeout)),
            (XaAnswer{XA_RBTIMEOUT, Followup::kBranchGone}));
  EXPECT_EQ(map(Verb::kPrepare, err(kErrXaRbRollback)),
            (XaAnswer{XA_RBROLLBACK, Followup::kBranchGone}));
  EXPECT_EQ(map(Verb::kPrepare, err(kErrXaNota)).code, XAER_NOTA);
  EXPECT_EQ(map(Verb::kPrepare, state("NON-EXISTING")).code, XAER_NOTA);
  EXPECT_EQ(map(Verb::kPrepare, state("ACTIVE")).code, XAER_PROTO);
  EXPECT_EQ(map(Verb::kPrepare, err(kErrXaRmerr)).code, XAER_RMERR);
}

TEST(MysqlErrorMapping, CommitUnknownXid) {
  // On the preparing session 1397 is final; elsewhere XA RECOVER decides (NOTA or XA_RETRY).
  EXPECT_EQ(map(Verb::kCommit, err(kErrXaNota), Knowledge::kPrepared), (XaAnswer{XAER_NOTA}));
  EXPECT_EQ(map(Verb::kCommit, err(kErrXaNota), Knowledge::kNotHere),
            (XaAnswer{XAER_NOTA, Followup::kCheckRecover}));
  EXPECT_EQ(map(Verb::kRollback, err(kErrXaNota), Knowledge::kNotHere),
            (XaAnswer{XAER_NOTA, Followup::kCheckRecover}));
  EXPECT_EQ(map(Verb::kRollback, err(kErrXaNota), Knowledge::kPrepared), (XaAnswer{XAER_NOTA}));
  EXPECT_EQ(map(Verb::kCommitOnePhase, err(kErrXaNota), Knowledge::kIdle), (XaAnswer{XAER_NOTA}));
}

TEST(MysqlErrorMapping, CommitOfAPreparedReadOnlyBranchIsOk) {
  for (int code : {kErrXaRbRollback, kErrXaRbTimeout, kErrXaRbDeadlock}) {
    EXPECT_EQ(map(Verb::kCommit, err(code), Knowledge::kNotHere).code, XA_OK) << code;
    EXPECT_EQ(map(Verb::kCommit, err(code), Knowledge::kPrepared).code, XA_OK) << code;
  }
  // Never prepared: the branch was rolled back.
  EXPECT_EQ(map(Verb::kCommit, err(kErrXaRbDeadlock), Knowledge::kIdle).code, XA_RBDEADLOCK);
}

TEST(MysqlErrorMapping, CommitTransientAndProtocolErrors) {
  EXPECT_EQ(map(Verb::kCommit, err(kErrLockWaitTimeout), Knowledge::kPrepared).code, XA_RETRY);
  EXPECT_EQ(map(Verb::kCommit, err(kErrReadOnly), Knowledge::kPrepared).code, XA_RETRY);
  EXPECT_EQ(map(Verb::kCommit, err(kErrXaOutside)),
            (XaAnswer{XA_RETRY, Followup::kSessionPoisoned}));
  EXPECT_EQ(map(Verb::kCommit, state("IDLE"), Knowledge::kIdle).code, XAER_PROTO);
  EXPECT_EQ(map(Verb::kCommit, state("ACTIVE"), Knowledge::kActive).code, XAER_PROTO);
  // 1401 and the unexpected: outcome unknown, never XAER_RMERR (a false heuristic).
  EXPECT_EQ(map(Verb::kCommit, err(kErrXaRmerr), Knowledge::kPrepared),
            (XaAnswer{XAER_RMFAIL, Followup::kSessionPoisoned}));
  EXPECT_EQ(map(Verb::kCommit, err(1146), Knowledge::kPrepared).code, XAER_RMFAIL);
}

TEST(MysqlErrorMapping, CommitOnePhase) {
  EXPECT_EQ(map(Verb::kCommitOnePhase, err(kErrXaRbDeadlock)),
            (XaAnswer{XA_RBDEADLOCK, Followup::kBranchGone}));
  EXPECT_EQ(map(Verb::kCommitOnePhase, err(kErrXaRbTimeout)),
            (XaAnswer{XA_RBTIMEOUT, Followup::kBranchGone}));
  EXPECT_EQ(map(Verb::kCommitOnePhase, err(kErrXaRbRollback)),
            (XaAnswer{XA_RBROLLBACK, Followup::kBranchGone}));
  EXPECT_EQ(map(Verb::kCommitOnePhase, state("ROLLBACK ONLY"), Knowledge::kIdle, XA_RBTIMEOUT),
            (XaAnswer{XA_RBTIMEOUT, Followup::kCollectRollback}));
  EXPECT_EQ(map(Verb::kCommitOnePhase, state("ACTIVE")).code, XAER_PROTO);
  EXPECT_EQ(map(Verb::kCommitOnePhase, state("PREPARED")).code, XAER_PROTO);
  EXPECT_EQ(map(Verb::kCommitOnePhase, err(kErrXaInval), Knowledge::kPrepared).code, XAER_PROTO);
  EXPECT_EQ(map(Verb::kCommitOnePhase, err(kErrXaInval), Knowledge::kNotHere).code, XAER_NOTA);
  EXPECT_EQ(map(Verb::kCommitOnePhase, err(kErrXaRmerr)),
            (XaAnswer{XAER_RMERR, Followup::kSessionPoisoned}));
  EXPECT_EQ(map(Verb::kCommitOnePhase, err(kErrLockWaitTimeout)),
            (XaAnswer{XA_RBTRANSIENT, Followup::kSessionPoisoned}));
}

TEST(MysqlErrorMapping, Rollback) {
  for (int code : {kErrXaRbRollback, kErrXaRbTimeout, kErrXaRbDeadlock}) {
    EXPECT_EQ(map(Verb::kRollback, err(code), Knowledge::kRollbackOnly).code, XA_OK) << code;
    EXPECT_EQ(map(Verb::kRollback, err(code), Knowledge::kNotHere).code, XA_OK) << code;
  }
  // After XA_RB* the server may have removed the branch already.
  EXPECT_EQ(map(Verb::kRollback, err(kErrXaNota), Knowledge::kRollbackOnly).code, XA_OK);
  EXPECT_EQ(map(Verb::kRollback, err(kErrLockWaitTimeout)).code, XA_RETRY);
  EXPECT_EQ(map(Verb::kRollback, err(kErrReadOnly)).code, XA_RETRY);
  EXPECT_EQ(map(Verb::kRollback, err(kErrXaOutside)),
            (XaAnswer{XA_RETRY, Followup::kSessionPoisoned}));
  EXPECT_EQ(map(Verb::kRollback, state("ACTIVE")).code, XAER_PROTO);
  EXPECT_EQ(map(Verb::kRollback, err(kErrXaRmerr)).code, XAER_RMFAIL);
}

TEST(MysqlErrorMapping, RecoverErrors) {
  EXPECT_EQ(map(Verb::kRecover, err(kErrSpecificAccessDenied)).code, XAER_RMERR);
  EXPECT_EQ(map(Verb::kRecover, err(2013)), kLost);
}

ConnectTarget target() {
  return ConnectTarget{.data_source = "inventory",
                       .endpoint = "db:3306",
                       .user = "app",
                       .database = "shop",
                       .password = "s3cret-pw"};
}

TEST(MysqlConnectErrors, ClassifiedAndNamed) {
  Status denied = map_connect_error(
      err(1045, "Access denied for user 'app'@'localhost' (using password: YES)"), target());
  EXPECT_EQ(denied.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(denied.message().find("'inventory'"), std::string::npos);
  EXPECT_NE(denied.message().find("password"), std::string::npos);

  Status no_db = map_connect_error(err(1049, "Unknown database 'shop'"), target());
  EXPECT_EQ(no_db.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_db.message().find("database 'shop'"), std::string::npos);

  for (int code : {2002, 2003, 2005, 2013, 1040}) {
    EXPECT_EQ(map_connect_error(err(code), target()).code(), StatusCode::kUnavailable) << code;
  }
  EXPECT_EQ(map_connect_error(err(1251), target()).code(), StatusCode::kFailedPrecondition);
}

TEST(MysqlConnectErrors, NeverCarryThePassword) {
  Status echoed =
      map_connect_error(err(1045, "server echoed s3cret-pw twice: s3cret-pw"), target());
  EXPECT_EQ(echoed.message().find("s3cret-pw"), std::string::npos) << echoed.message();
  EXPECT_NE(echoed.message().find("***"), std::string::npos);
  EXPECT_EQ(mask_secret("aaaa", "aa"), "aaaa");  // too short to mask
  EXPECT_EQ(mask_secret("pwpwpwpw", "pwpw"), "******");
}

}  // namespace
}  // namespace xatm::mysql::internal
