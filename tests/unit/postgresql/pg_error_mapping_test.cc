// Every row of docs/driver-postgresql.md that is a pure SQLSTATE → XA code decision.
// No server needed; the integration tests provoke the rows a test server can produce.
#include "pg_error_mapping.h"

#include <gtest/gtest.h>

#include <string>

#include "xatm/driver/resource.h"
#include "xatm/xa.h"

namespace xatm::postgresql::internal {
namespace {

struct Row {
  Statement statement;
  const char* sqlstate;  // "" = none
  bool lost;
  int code;
};

std::string name_of(const Row& row) {
  return std::string(statement_name(row.statement)) + " / '" + row.sqlstate + "'" +
         (row.lost ? " (lost)" : "");
}

void expect_rows(std::initializer_list<Row> rows) {
  for (const Row& row : rows) {
    EXPECT_EQ(xa_code_name(map_failure(row.statement, row.sqlstate, row.lost).code),
              xa_code_name(row.code))
        << name_of(row);
  }
}

TEST(PgErrorMappingTest, ConnectionLossIsRecognised) {
  EXPECT_TRUE(is_connection_lost("", ""));  // libpq: server closed the connection
  EXPECT_TRUE(is_connection_lost("08006", "ERROR"));
  EXPECT_TRUE(is_connection_lost("08003", "ERROR"));
  EXPECT_TRUE(is_connection_lost("57P01", "FATAL"));  // pg_terminate_backend
  EXPECT_TRUE(is_connection_lost("57P01", ""));
  EXPECT_TRUE(is_connection_lost("57P02", "WARNING"));
  EXPECT_TRUE(is_connection_lost("57P03", ""));
  EXPECT_TRUE(is_connection_lost("25P03", "FATAL"));  // idle_in_transaction_session_timeout
  EXPECT_TRUE(is_connection_lost("57P05", ""));
  EXPECT_TRUE(is_connection_lost("53300", "FATAL"));   // any FATAL ends the session
  EXPECT_FALSE(is_connection_lost("57014", "ERROR"));  // a cancelled statement is not a loss
  EXPECT_FALSE(is_connection_lost("40P01", "ERROR"));
  EXPECT_FALSE(is_connection_lost("42704", "ERROR"));
}

TEST(PgErrorMappingTest, RollbackCodeBySqlstate) {
  EXPECT_EQ(rollback_code("40P01"), XA_RBDEADLOCK);
  EXPECT_EQ(rollback_code("40001"), XA_RBTRANSIENT);
  EXPECT_EQ(rollback_code("23505"), XA_RBINTEGRITY);
  EXPECT_EQ(rollback_code("23503"), XA_RBINTEGRITY);
  EXPECT_EQ(rollback_code("55P03"), XA_RBTIMEOUT);
  EXPECT_EQ(rollback_code("57014"), XA_RBTIMEOUT);
  EXPECT_EQ(rollback_code("22012"), XA_RBROLLBACK);
  EXPECT_EQ(rollback_code(""), XA_RBROLLBACK);
}

TEST(PgErrorMappingTest, Start) {
  expect_rows({{Statement::kBegin, "", true, XAER_RMFAIL},
               {Statement::kBegin, "57P01", true, XAER_RMFAIL},
               {Statement::kBegin, "XX000", false, XAER_RMERR}});
}

TEST(PgErrorMappingTest, Prepare) {
  expect_rows({{Statement::kPrepare, "40001", false, XA_RBTRANSIENT},
               {Statement::kPrepare, "40P01", false, XA_RBDEADLOCK},
               {Statement::kPrepare, "23503", false, XA_RBINTEGRITY},
               {Statement::kPrepare, "23505", false, XA_RBINTEGRITY},
               {Statement::kPrepare, "57014", false, XA_RBTIMEOUT},
               {Statement::kPrepare, "55P03", false, XA_RBTIMEOUT},
               {Statement::kPrepare, "42710", false, XA_RBOTHER},
               {Statement::kPrepare, "0A000", false, XA_RBOTHER},
               {Statement::kPrepare, "55000", false, XA_RBOTHER},
               {Statement::kPrepare, "53200", false, XA_RBOTHER},
               {Statement::kPrepare, "22023", false, XA_RBPROTO},
               {Statement::kPrepare, "XX000", false, XA_RBROLLBACK},
               {Statement::kPrepare, "", true, XAER_RMFAIL},
               {Statement::kPrepare, "08006", true, XAER_RMFAIL},
               {Statement::kPrepare, "57P01", true, XAER_RMFAIL},
               // the read-only probe runs before anything can be prepared
               {Statement::kReadOnlyProbe, "", true, XA_RBCOMMFAIL},
               {Statement::kReadOnlyProbe, "57014", false, XA_RBTIMEOUT}});
  // Configuration problems and a reused XID are logged as errors; votes are not.
  EXPECT_EQ(map_failure(Statement::kPrepare, "42710", false).attention, Attention::kError);
  EXPECT_EQ(map_failure(Statement::kPrepare, "55000", false).attention, Attention::kError);
  EXPECT_EQ(map_failure(Statement::kPrepare, "40P01", false).attention, Attention::kNone);
}

TEST(PgErrorMappingTest, CommitOnePhase) {
  expect_rows({{Statement::kCommit, "40001", false, XA_RBTRANSIENT},
               {Statement::kCommit, "23505", false, XA_RBINTEGRITY},
               {Statement::kCommit, "XX000", false, XA_RBROLLBACK},
               {Statement::kCommit, "", true, XAER_RMFAIL},
               {Statement::kCommit, "57P01", true, XAER_RMFAIL}});
}

TEST(PgErrorMappingTest, CommitPrepared) {
  expect_rows({{Statement::kCommitPrepared, "42704", false, XAER_NOTA},
               {Statement::kCommitPrepared, "55000", false, XA_RETRY},
               {Statement::kCommitPrepared, "0A000", false, XAER_RMFAIL},
               {Statement::kCommitPrepared, "42501", false, XAER_RMFAIL},
               {Statement::kCommitPrepared, "25001", false, XAER_PROTO},
               {Statement::kCommitPrepared, "53100", false, XA_RETRY},
               {Statement::kCommitPrepared, "53200", false, XA_RETRY},
               {Statement::kCommitPrepared, "58030", false, XA_RETRY},
               {Statement::kCommitPrepared, "57014", false, XA_RETRY},
               {Statement::kCommitPrepared, "XX000", false, XAER_RMFAIL},
               {Statement::kCommitPrepared, "", true, XAER_RMFAIL},
               {Statement::kCommitPrepared, "08006", true, XAER_RMFAIL},
               {Statement::kCommitPrepared, "57P01", true, XAER_RMFAIL}});
}

TEST(PgErrorMappingTest, Rollback) {
  expect_rows({{Statement::kRollback, "", true, XA_OK},  // not prepared: it died with the session
               {Statement::kRollback, "57P01", true, XA_OK},
               {Statement::kRollbackPrepared, "42704", false, XAER_NOTA},
               {Statement::kRollbackPrepared, "55000", false, XAER_RMFAIL},
               {Statement::kRollbackPrepared, "0A000", false, XAER_RMFAIL},
               {Statement::kRollbackPrepared, "42501", false, XAER_RMFAIL},
               {Statement::kRollbackPrepared, "25001", false, XAER_PROTO},
               {Statement::kRollbackPrepared, "53100", false, XAER_RMFAIL},
               {Statement::kRollbackPrepared, "", true, XAER_RMFAIL},
               {Statement::kRollbackPrepared, "57P02", true, XAER_RMFAIL}});
}

TEST(PgErrorMappingTest, Recover) {
  expect_rows({{Statement::kRecover, "", true, XAER_RMFAIL},
               {Statement::kRecover, "42501", false, XAER_RMERR}});
}

TEST(PgErrorMappingTest, ALostConnectionIsNeverRmerrOrOkExceptForAnUnpreparedRollback) {
  for (Statement statement :
       {Statement::kBegin, Statement::kReadOnlyProbe, Statement::kPrepare, Statement::kCommit,
        Statement::kCommitPrepared, Statement::kRollbackPrepared, Statement::kRecover}) {
    const int code = map_failure(statement, "", true).code;
    EXPECT_NE(code, XAER_RMERR) << statement_name(statement);
    EXPECT_NE(code, XA_OK) << statement_name(statement);
  }
}

}  // namespace
}  // namespace xatm::postgresql::internal
