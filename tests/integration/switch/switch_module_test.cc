// The drivers' loadable XA switch modules (libxatm_mysql_switch.so, libxatm_postgresql_switch.so)
// and their switches, with xatm as the transaction manager over MariaDB and PostgreSQL at once.
//
// A module exports its xa_switch_t, the C accessor of its sessions
// (xatm_mysql_switch_execute, xatm_postgresql_switch_connection) and LIXA's getter; every other
// symbol of the driver inside it is local. In this static build the module holds its own copy
// of the driver: the switch_connection() this binary links reads this binary's copy of the
// switch's per-thread state, never the module's (ModuleSwitchesDriveAGlobalTransaction shows
// it), and only the accessors the module exports reach its sessions
// (ModulesCarryWorkThroughTheAccessorsTheyExport). The tests therefore
//   - run transfers over the linked switches (xatm_mysql_xa_switch, xatm_postgresql_xa_switch),
//     adopted exactly as a loaded module is, and over the modules through their own accessors;
//   - drive the loaded modules through the verbs too: they recover and roll back branches that
//     the linked switches left prepared on the same servers (what a TM recovering after a crash
//     does with another process's branches).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "mysql_test_util.h"
#include "pg_test_util.h"
#include "xa/xa_switch_adapter.h"
#include "xatm/mysql/mysql.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/transaction_manager.h"
#include "xatm/xa_switch.h"

namespace xatm::testing {
namespace {

namespace myt = mysql::testing;
namespace pgt = postgresql::testing;

// The same table name on both servers: (id, balance), rows 1 and 2 holding 100 each.
constexpr const char* kAccounts = "switch_accounts";

// Run `sql` in `tx`'s branch of data source "maria" / "pg" (a linked switch), on the branch's
// thread of control, where the linked driver's switch_connection() reaches its connection.
Status on_maria(Transaction& tx, const std::string& sql) {
  Status result;
  Status enlisted = run_in_thread_of_control(
      tx, "maria", [&](int rmid) { result = myt::execute_on_switch(rmid, sql); });
  return enlisted.ok() ? result : enlisted;
}
Status on_pg(Transaction& tx, const std::string& sql) {
  Status result;
  Status enlisted =
      run_in_thread_of_control(tx, "pg", [&](int rmid) { result = pgt::run_on_switch(rmid, sql); });
  return enlisted.ok() ? result : enlisted;
}

std::int64_t maria_balance(int id) {
  return myt::query_plain(std::string("SELECT balance FROM ") + kAccounts +
                          " WHERE id = " + std::to_string(id));
}
std::int64_t pg_balance(int id) {
  pgt::PlainConnection plain;
  return plain.integer(std::string("SELECT balance FROM ") + kAccounts +
                       " WHERE id = " + std::to_string(id));
}

std::string add(int id, int amount) {
  return std::string("UPDATE ") + kAccounts + " SET balance = balance + " + std::to_string(amount) +
         " WHERE id = " + std::to_string(id);
}

// An XID whose gtrid and bqual hold the bytes that trip text encodings (NUL, quote, backslash,
// newline, 0x80, 0xff), unique across runs; formatID myt::kTestFormatId, so that a leftover is
// cleaned up by the next run.
Xid binary_xid(std::uint8_t branch) {
  const auto now =
      static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  const auto pid = static_cast<std::uint32_t>(getpid());
  std::vector<std::uint8_t> gtrid(12);
  std::memcpy(gtrid.data(), &now, sizeof now);
  std::memcpy(gtrid.data() + sizeof now, &pid, sizeof pid);
  for (std::uint8_t byte : {0x00, 0x27, 0x5c, 0x22, 0x0a, 0x20, 0x2e, 0x80, 0xff}) {
    gtrid.push_back(byte);
  }
  const std::vector<std::uint8_t> bqual = {0xff, 0x00, 0x27, 0x5c, branch};
  Result<Xid> xid = Xid::make(myt::kTestFormatId, gtrid, bqual);
  EXPECT_TRUE(xid.ok()) << xid.status().to_string();
  return *xid;
}

// Starts `xid` on `session` (of a linked switch), runs `sql` in it through `run` on the
// session's thread of control, ends and prepares it.
void prepare_with_work(XaConnection& session, const Xid& xid, const std::string& sql,
                       Status (*run)(int rmid, const std::string& sql)) {
  auto* switch_session = dynamic_cast<internal::SwitchConnection*>(&session);
  ASSERT_NE(switch_session, nullptr);
  ASSERT_EQ(session.start(xid).code, XA_OK);
  Status worked;
  switch_session->run_in_thread([&](int rmid) { worked = run(rmid, sql); });
  ASSERT_TRUE(worked.ok()) << worked.to_string();
  ASSERT_EQ(session.end(xid).code, XA_OK);
  XaReply vote = session.prepare(xid);
  ASSERT_EQ(vote.code, XA_OK) << vote.detail;
}

std::vector<Xid> recovered(XaConnection& session) {
  XaConnection::Recovered result = session.recover();
  EXPECT_TRUE(result.reply.ok()) << xa_code_name(result.reply.code) << " " << result.reply.detail;
  return result.xids;
}

std::size_t listed(const std::vector<Xid>& xids, const Xid& xid) {
  return static_cast<std::size_t>(std::count(xids.begin(), xids.end(), xid));
}

class SwitchModuleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<const xa_switch_t*> maria =
        load_xa_switch(XATM_MYSQL_SWITCH_MODULE, "xatm_mysql_xa_switch");
    ASSERT_TRUE(maria.ok()) << maria.status().to_string();
    Result<const xa_switch_t*> pg =
        load_xa_switch(XATM_POSTGRESQL_SWITCH_MODULE, "xatm_postgresql_xa_switch");
    ASSERT_TRUE(pg.ok()) << pg.status().to_string();
    maria_module_ = *maria;
    pg_module_ = *pg;

    myt::roll_back_leftovers();
    pgt::roll_back_all_prepared();
    myt::reset_table(kAccounts, 2);
    const Status reset = pgt::reset_table(kAccounts, 2);
    ASSERT_TRUE(reset.ok()) << reset.to_string();
    // A debit below zero fails on PostgreSQL: the branch that ran it can only roll back.
    pgt::PlainConnection plain;
    const Status checked =
        plain.exec(std::string("ALTER TABLE ") + kAccounts + " ADD CHECK (balance >= 0)");
    ASSERT_TRUE(checked.ok()) << checked.to_string();
  }

  void TearDown() override {
    tm_.reset();
    if (!log_dir_.empty()) std::filesystem::remove_all(log_dir_);
  }

  // A started TransactionManager with data sources "maria" and "pg" adopted from the given
  // switches, logging in a fresh temporary directory.
  void start_manager(const xa_switch_t& maria, const xa_switch_t& pg) {
    std::string pattern = (std::filesystem::temp_directory_path() / "xatm-switch-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    log_dir_ = pattern;
    tm_ = std::make_unique<TransactionManager>(
        Options{.node_name = "switch-module", .log_dir = log_dir_});
    ASSERT_TRUE(tm_->add(myt::adopt_test_switch(maria, "maria")).ok());
    ASSERT_TRUE(tm_->add(pgt::adopt_test_switch(pg, "pg")).ok());
    const Status started = tm_->start();
    ASSERT_TRUE(started.ok()) << started.to_string();
  }

  Transaction begin() {
    Result<Transaction> tx = tm_->begin();
    if (!tx.ok()) throw std::runtime_error(tx.status().to_string());
    return std::move(*tx);
  }

  const xa_switch_t* maria_module_ = nullptr;
  const xa_switch_t* pg_module_ = nullptr;
  std::string log_dir_;
  std::unique_ptr<TransactionManager> tm_;
};

TEST(SwitchModuleLoad, EachModuleExportsItsSwitchAndLixasGetterForIt) {
  for (const char* module : {XATM_MYSQL_SWITCH_MODULE, XATM_POSTGRESQL_SWITCH_MODULE}) {
    const std::string object = std::string(module).find("mysql") != std::string::npos
                                   ? "xatm_mysql_xa_switch"
                                   : "xatm_postgresql_xa_switch";
    Result<const xa_switch_t*> by_object = load_xa_switch(module, object);
    Result<const xa_switch_t*> by_getter = load_xa_switch(module, "lixa_get_xa_switch");
    ASSERT_TRUE(by_object.ok()) << by_object.status().to_string();
    ASSERT_TRUE(by_getter.ok()) << by_getter.status().to_string();
    EXPECT_EQ(*by_object, *by_getter) << module << ": the getter returns the module's switch";
  }
}

TEST_F(SwitchModuleTest, CrossDatabaseTransferCommitsInTwoPhases) {
  start_manager(xatm_mysql_xa_switch, xatm_postgresql_xa_switch);
  Transaction tx = begin();
  ASSERT_TRUE(on_maria(tx, add(1, -30)).ok());
  ASSERT_TRUE(on_pg(tx, add(1, 30)).ok());
  EXPECT_EQ(maria_balance(1), 100) << "uncommitted work is not visible";
  EXPECT_EQ(pg_balance(1), 100) << "uncommitted work is not visible";

  Outcome outcome = tx.commit();
  ASSERT_TRUE(outcome.committed()) << outcome.to_string();
  ASSERT_EQ(outcome.branches.size(), 2u);
  for (const BranchOutcome& branch : outcome.branches) {
    EXPECT_EQ(branch.last_code, XA_OK) << branch.data_source << ": " << branch.detail;
    EXPECT_FALSE(branch.pending) << branch.data_source;
  }
  const Stats stats = tm_->stats();
  EXPECT_EQ(stats.one_phase, 0u) << "two writing branches commit in two phases";
  EXPECT_EQ(stats.read_only, 0u) << "with a decision record";
  EXPECT_EQ(maria_balance(1), 70);
  EXPECT_EQ(pg_balance(1), 130);
  EXPECT_EQ(maria_balance(2) + pg_balance(2), 200) << "other rows untouched";
  EXPECT_TRUE(tm_->decision_log().open_decisions().empty());
}

TEST_F(SwitchModuleTest, ExplicitRollbackUndoesBothBranches) {
  start_manager(xatm_mysql_xa_switch, xatm_postgresql_xa_switch);
  Transaction tx = begin();
  ASSERT_TRUE(on_maria(tx, add(2, -40)).ok());
  ASSERT_TRUE(on_pg(tx, add(2, 40)).ok());
  Outcome outcome = tx.rollback();
  EXPECT_TRUE(outcome.rolled_back()) << outcome.to_string();
  EXPECT_FALSE(outcome.pending()) << outcome.to_string();
  EXPECT_EQ(maria_balance(2), 100);
  EXPECT_EQ(pg_balance(2), 100);
}

TEST_F(SwitchModuleTest, BranchWhoseStatementFailedVotesNoAndBothRollBack) {
  start_manager(xatm_mysql_xa_switch, xatm_postgresql_xa_switch);
  Transaction tx = begin();
  // 150 from PostgreSQL account 2, which holds 100, to MariaDB account 1: the credit succeeds,
  // the debit violates the CHECK and aborts PostgreSQL's transaction.
  ASSERT_TRUE(on_maria(tx, add(1, 150)).ok());
  Status debit = on_pg(tx, add(2, -150));
  ASSERT_FALSE(debit.ok());
  EXPECT_NE(debit.to_string().find("23514"), std::string::npos) << debit.to_string();

  Outcome outcome = tx.commit();  // the application commits anyway: the vote decides
  EXPECT_EQ(outcome.kind, Outcome::Kind::kRolledBack) << outcome.to_string();
  EXPECT_NE(outcome.reason.find("'pg' voted no"), std::string::npos) << outcome.reason;
  EXPECT_FALSE(outcome.pending()) << outcome.to_string();
  EXPECT_EQ(maria_balance(1), 100) << "the credit was rolled back with the failed debit";
  EXPECT_EQ(pg_balance(2), 100);
}

TEST_F(SwitchModuleTest, ModulesRecoverAndRollBackBranchesLeftPrepared) {
  ASSERT_NE(maria_module_, &xatm_mysql_xa_switch) << "the module has its own copy of the driver";
  ASSERT_NE(pg_module_, &xatm_postgresql_xa_switch) << "the module has its own copy of the driver";
  EXPECT_STREQ(maria_module_->name, "xatm-mysql");
  EXPECT_STREQ(pg_module_->name, "xatm-postgresql");

  const Xid maria_xid = binary_xid(1);
  const Xid pg_xid = binary_xid(2);
  {
    // Prepared with work through the linked switches; then the sessions close: the branches
    // detach and stay prepared, as after a crash of their TM.
    std::unique_ptr<Resource> maria = myt::adopt_test_switch(xatm_mysql_xa_switch, "maria");
    std::unique_ptr<Resource> pg = pgt::adopt_test_switch(xatm_postgresql_xa_switch, "pg");
    Result<std::unique_ptr<XaConnection>> maria_session = maria->connect();
    Result<std::unique_ptr<XaConnection>> pg_session = pg->connect();
    ASSERT_TRUE(maria_session.ok()) << maria_session.status().to_string();
    ASSERT_TRUE(pg_session.ok()) << pg_session.status().to_string();
    prepare_with_work(**maria_session, maria_xid, add(1, 5), &myt::execute_on_switch);
    prepare_with_work(**pg_session, pg_xid, add(1, 5), &pgt::run_on_switch);
  }

  std::unique_ptr<Resource> maria = myt::adopt_test_switch(*maria_module_, "maria-module");
  std::unique_ptr<Resource> pg = pgt::adopt_test_switch(*pg_module_, "pg-module");
  Result<std::unique_ptr<XaConnection>> maria_session = maria->connect();
  Result<std::unique_ptr<XaConnection>> pg_session = pg->connect();
  ASSERT_TRUE(maria_session.ok()) << maria_session.status().to_string();
  ASSERT_TRUE(pg_session.ok()) << pg_session.status().to_string();
  // Xid's == compares the formatID and every byte of gtrid and bqual.
  EXPECT_EQ(listed(recovered(**maria_session), maria_xid), 1u) << maria_xid.to_string();
  EXPECT_EQ(listed(recovered(**pg_session), pg_xid), 1u) << pg_xid.to_string();

  // MariaDB may still be detaching the branch from the closed session: XA_RETRY meanwhile.
  XaReply maria_rollback =
      myt::retry_while_attached([&] { return (*maria_session)->rollback(maria_xid); });
  EXPECT_EQ(maria_rollback.code, XA_OK) << maria_rollback.detail;
  XaReply pg_rollback = (*pg_session)->rollback(pg_xid);
  EXPECT_EQ(pg_rollback.code, XA_OK) << pg_rollback.detail;

  EXPECT_EQ(listed(recovered(**maria_session), maria_xid), 0u);
  EXPECT_EQ(listed(recovered(**pg_session), pg_xid), 0u);
  EXPECT_EQ(maria_balance(1), 100);
  EXPECT_EQ(pg_balance(1), 100);
}

TEST_F(SwitchModuleTest, ModuleSwitchesDriveAGlobalTransaction) {
  start_manager(*maria_module_, *pg_module_);
  Transaction tx = begin();
  int maria_rmid = 0, pg_rmid = 0;
  sql::Connection* maria_seen = nullptr;
  PGconn* pg_seen = nullptr;
  ASSERT_TRUE(run_in_thread_of_control(tx, "maria", [&](int rmid) {
                maria_rmid = rmid;
                maria_seen = mysql::switch_connection(rmid);
              }).ok());
  ASSERT_TRUE(run_in_thread_of_control(tx, "pg", [&](int rmid) {
                pg_rmid = rmid;
                pg_seen = postgresql::switch_connection(rmid);
              }).ok());
  EXPECT_GT(maria_rmid, 0);
  EXPECT_GT(pg_rmid, 0);
  EXPECT_NE(maria_rmid, pg_rmid);
  // The modules opened these rmids on these very threads, yet this binary's copy of the
  // drivers does not know them: the module's session state is its own.
  EXPECT_EQ(maria_seen, nullptr);
  EXPECT_EQ(pg_seen, nullptr);

  // Nothing was written: MariaDB prepares the empty branch (it has no read-only vote),
  // PostgreSQL votes read-only, and the one prepared branch commits without a decision record.
  Outcome outcome = tx.commit();
  ASSERT_TRUE(outcome.committed()) << outcome.to_string();
  ASSERT_EQ(outcome.branches.size(), 2u);
  for (const BranchOutcome& branch : outcome.branches) {
    EXPECT_EQ(branch.last_code, branch.data_source == "pg" ? XA_RDONLY : XA_OK)
        << branch.data_source << ": " << xa_code_name(branch.last_code) << " " << branch.detail;
    EXPECT_FALSE(branch.pending) << branch.data_source;
  }
  EXPECT_EQ(tm_->stats().read_only, 1u);
}

// The C accessor `name` that `module` exports (dlopen of a loaded path returns its handle).
template <typename Function>
Function* module_accessor(const char* module, const char* name) {
  void* handle = dlopen(module, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (handle == nullptr) return nullptr;
  return reinterpret_cast<Function*>(dlsym(handle, name));  // NOLINT: dlsym's result
}

TEST_F(SwitchModuleTest, ModulesCarryWorkThroughTheAccessorsTheyExport) {
  using Execute = int(int, const char*, char*, size_t);
  using Connection = PGconn*(int);
  Execute* maria_execute = module_accessor<Execute>(XATM_MYSQL_SWITCH_MODULE, "xatm_mysql_switch_execute");
  Connection* pg_connection =
      module_accessor<Connection>(XATM_POSTGRESQL_SWITCH_MODULE, "xatm_postgresql_switch_connection");
  ASSERT_NE(maria_execute, nullptr) << dlerror();
  ASSERT_NE(pg_connection, nullptr) << dlerror();

  start_manager(*maria_module_, *pg_module_);
  Transaction tx = begin();
  char error[256] = "";
  int maria_answer = -2;
  bool pg_ran = false;
  ASSERT_TRUE(run_in_thread_of_control(tx, "maria", [&](int rmid) {
                maria_answer = maria_execute(rmid, add(2, -40).c_str(), error, sizeof error);
              }).ok());
  ASSERT_TRUE(run_in_thread_of_control(tx, "pg", [&](int rmid) {
                PGconn* session = pg_connection(rmid);
                if (session == nullptr) return;
                PGresult* result = PQexec(session, add(2, 40).c_str());
                pg_ran = PQresultStatus(result) == PGRES_COMMAND_OK;
                PQclear(result);
              }).ok());
  EXPECT_EQ(maria_answer, 0) << error;
  EXPECT_TRUE(pg_ran);
  Outcome outcome = tx.commit();
  ASSERT_TRUE(outcome.committed()) << outcome.to_string();
  EXPECT_EQ(maria_balance(2), 60);
  EXPECT_EQ(pg_balance(2), 140);

  // Off the thread of control, the accessor knows no session and says so.
  EXPECT_EQ(maria_execute(1, "SELECT 1", error, sizeof error), -1);
  EXPECT_NE(std::string(error).find("not open on this thread"), std::string::npos) << error;
  EXPECT_EQ(pg_connection(1), nullptr);
}

TEST(LoadXaSwitchTest, MissingLibraryIsNotFoundAndNamesThePath) {
  const std::string path = "/nonexistent/xatm/libno_such_switch.so";
  Result<const xa_switch_t*> loaded = load_xa_switch(path, "xatm_mysql_xa_switch");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kNotFound) << loaded.status().to_string();
  EXPECT_NE(loaded.status().to_string().find(path), std::string::npos)
      << loaded.status().to_string();
}

TEST(LoadXaSwitchTest, MissingSymbolIsNotFoundAndNamesTheSymbol) {
  // The module exports its switch only: the other driver's symbol is not in it, nor is any
  // other symbol of the driver.
  for (const char* symbol : {"xatm_postgresql_xa_switch", "_ZN4xatm5mysql17switch_connectionEi"}) {
    Result<const xa_switch_t*> loaded = load_xa_switch(XATM_MYSQL_SWITCH_MODULE, symbol);
    ASSERT_FALSE(loaded.ok()) << symbol;
    EXPECT_EQ(loaded.status().code(), StatusCode::kNotFound) << loaded.status().to_string();
    EXPECT_NE(loaded.status().to_string().find(symbol), std::string::npos)
        << loaded.status().to_string();
    EXPECT_NE(loaded.status().to_string().find(XATM_MYSQL_SWITCH_MODULE), std::string::npos)
        << loaded.status().to_string();
  }
}

}  // namespace
}  // namespace xatm::testing
