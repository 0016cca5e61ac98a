// The X/Open TX interface (include/xatm/tx.h) over xatm's TransactionManager.
//
// One TransactionManager per process, built from the config file that xatm-recover reads
// (tools/tool_config.h) by the first tx_open() and destroyed by the last tx_close(); the TX
// state of each thread (open, its transaction, its settings) is thread_local, as the TX
// specification ties it to the thread of control.
#include "xatm/tx.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/statement.h>
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "tool_config.h"
#include "xatm/mysql/mysql.h"
#include "xatm/options.h"
#include "xatm/postgresql/postgresql.h"
#include "xatm/transaction_manager.h"
#include "xatm/xa_switch.h"

namespace {

using xatm::Outcome;
using xatm::Status;
using xatm::StatusCode;

// The longest timeout in whole seconds that a transaction may have.
constexpr TRANSACTION_TIMEOUT kMaxTimeoutSeconds =
    std::chrono::duration_cast<std::chrono::seconds>(xatm::kMaxTransactionTimeout).count();

struct Process {
  std::mutex mutex;
  std::unique_ptr<xatm::TransactionManager> tm;  // guarded by mutex (set and reset)
  int open_threads = 0;                          // guarded by mutex
};

Process& process() {
  static Process instance;
  return instance;
}

// Ends the calling thread's use of the shared TransactionManager; the last one stops it.
void release_manager() {
  Process& shared = process();
  std::lock_guard lock(shared.mutex);
  if (--shared.open_threads == 0) shared.tm.reset();
}

struct ThreadState {
  ThreadState() = default;
  ThreadState(const ThreadState&) = delete;
  ThreadState& operator=(const ThreadState&) = delete;
  // A thread that ends without tx_close(): its transaction rolls back (it can never commit),
  // and it stops counting as a user of the TransactionManager.
  ~ThreadState() {
    tx.reset();
    if (open) release_manager();
  }

  bool open = false;
  std::optional<xatm::Transaction> tx;
  COMMIT_RETURN when_return = TX_COMMIT_COMPLETED;
  TRANSACTION_CONTROL control = TX_UNCHAINED;
  TRANSACTION_TIMEOUT timeout = 0;  // as set; 0: the config's default_timeout_s
  std::string last_error;
};

ThreadState& self() {
  thread_local ThreadState state;
  return state;
}

int fail(int code, std::string message) {
  self().last_error = std::move(message);
  return code;
}

// A failed start: TX_ERROR when retrying may help (a database or the log unreachable), TX_FAIL
// otherwise (a bad config, a damaged log).
int start_failure(const Status& status) {
  return fail(status.code() == StatusCode::kUnavailable ? TX_ERROR : TX_FAIL, status.to_string());
}

// A started TransactionManager from the config file, or why there is none (nothing is left
// half-built: a later tx_open() tries again from the start).
xatm::Result<std::unique_ptr<xatm::TransactionManager>> open_manager() {
  const char* path = std::getenv(XATM_TX_CONFIG_ENV);  // NOLINT(concurrency-mt-unsafe)
  if (path == nullptr || *path == '\0') {
    return xatm::invalid_argument_error(std::string(XATM_TX_CONFIG_ENV) +
                                        " is not set: it names the xatm config file (JSON)");
  }
  xatm::Result<xatm::tools::ToolConfig> config = xatm::tools::load_tool_config(path);
  if (!config.ok()) return config.status().with_context(path);
  xatm::Options options{.node_name = config->node_name, .log_dir = config->log_dir};
  if (config->default_timeout) options.default_timeout = *config->default_timeout;
  std::unique_ptr<xatm::TransactionManager> tm;
  if (config->database_log) {
    xatm::Result<std::unique_ptr<xatm::DecisionLog>> log =
        config->database_log->open(config->node_name, /*take_over=*/false);
    if (!log.ok()) return log.status();
    tm = std::make_unique<xatm::TransactionManager>(std::move(options), std::move(*log));
  } else {
    tm = std::make_unique<xatm::TransactionManager>(std::move(options));
  }
  for (std::unique_ptr<xatm::Resource>& resource : config->data_sources) {
    XATM_RETURN_IF_ERROR(tm->add(std::move(resource)).with_context(path));
  }
  XATM_RETURN_IF_ERROR(tm->start());
  return tm;
}

// Begins the thread's next transaction with its timeout.
int begin_transaction(ThreadState& state) {
  xatm::TransactionManager* tm = process().tm.get();  // set while any thread is open
  xatm::Result<xatm::Transaction> tx =
      state.timeout > 0 ? tm->begin(std::chrono::seconds(state.timeout)) : tm->begin();
  if (!tx.ok()) {
    return fail(tx.status().code() == StatusCode::kUnavailable ? TX_ERROR : TX_FAIL,
                tx.status().to_string());
  }
  state.tx.emplace(std::move(*tx));
  return TX_OK;
}

// The TX code of a commit's or a rollback's Outcome.
int code_of(const Outcome& outcome, bool committing) {
  switch (outcome.kind) {
    case Outcome::Kind::kCommitted: return committing ? TX_OK : TX_COMMITTED;
    case Outcome::Kind::kRolledBack: return committing ? TX_ROLLBACK : TX_OK;
    case Outcome::Kind::kHeuristicRollback: return committing ? TX_ROLLBACK : TX_OK;
    case Outcome::Kind::kHeuristicCommit: return committing ? TX_OK : TX_COMMITTED;
    case Outcome::Kind::kHeuristicMixed: return TX_MIXED;
    // Unknown: a lost answer or a failed log; recovery makes the branches agree, but this
    // call cannot say which way: as the specification's "may have been partially committed".
    case Outcome::Kind::kHeuristicHazard:
    case Outcome::Kind::kUnknown: return TX_HAZARD;
    case Outcome::Kind::kUsageError: return TX_PROTOCOL_ERROR;
  }
  return TX_FAIL;
}

// Ends the thread's transaction with `end` and, in chained mode, begins the next one.
template <typename End>
int end_transaction(End end, bool committing) {
  ThreadState& state = self();
  if (!state.open || !state.tx) return fail(TX_PROTOCOL_ERROR, "no transaction is active on this thread");
  const Outcome outcome = end(*state.tx);
  if (outcome.kind == Outcome::Kind::kUsageError) {  // nothing ended: the state stays
    return fail(TX_PROTOCOL_ERROR, outcome.to_string());
  }
  state.tx.reset();
  int code = code_of(outcome, committing);
  const std::string ended = code == TX_OK ? "" : outcome.to_string();
  if (state.control == TX_CHAINED && begin_transaction(state) != TX_OK) {
    // begin_transaction() said why the next one could not begin.
    if (!ended.empty()) state.last_error = ended + "; then " + state.last_error;
    return code + TX_NO_BEGIN;
  }
  if (!ended.empty()) state.last_error = ended;
  return code;
}

}  // namespace

extern "C" {

int tx_open(void) {
  ThreadState& state = self();
  if (state.open) return TX_OK;
  Process& shared = process();
  std::lock_guard lock(shared.mutex);
  if (shared.tm == nullptr) {
    xatm::Result<std::unique_ptr<xatm::TransactionManager>> opened = open_manager();
    if (!opened.ok()) return start_failure(opened.status());
    shared.tm = std::move(*opened);
  }
  ++shared.open_threads;
  state.open = true;
  state.last_error.clear();
  return TX_OK;
}

int tx_close(void) {
  ThreadState& state = self();
  if (!state.open) return TX_OK;
  if (state.tx) return fail(TX_PROTOCOL_ERROR, "tx_close() inside a transaction: commit or roll back first");
  state.open = false;
  release_manager();
  return TX_OK;
}

int tx_begin(void) {
  ThreadState& state = self();
  if (!state.open) return fail(TX_PROTOCOL_ERROR, "tx_begin() before tx_open()");
  if (state.tx) return fail(TX_PROTOCOL_ERROR, "tx_begin() inside a transaction");
  return begin_transaction(state);
}

int tx_commit(void) {
  return end_transaction([](xatm::Transaction& tx) { return tx.commit(); }, /*committing=*/true);
}

int tx_rollback(void) {
  return end_transaction([](xatm::Transaction& tx) { return tx.rollback(); }, /*committing=*/false);
}

int tx_info(TXINFO* info) {
  const ThreadState& state = self();
  if (!state.open) return fail(TX_PROTOCOL_ERROR, "tx_info() before tx_open()");
  if (info != nullptr) {
    info->xid = XID{};
    info->xid.formatID = -1;
    info->when_return = state.when_return;
    info->transaction_control = state.control;
    info->transaction_timeout = state.timeout;
    info->transaction_state = TX_ACTIVE;
    if (state.tx) {
      info->xid = state.tx->xid().to_c();
      if (std::chrono::system_clock::now() >= state.tx->deadline()) {
        info->transaction_state = TX_TIMEOUT_ROLLBACK_ONLY;
      } else if (state.tx->rollback_only()) {
        info->transaction_state = TX_ROLLBACK_ONLY;  // e.g. a failed xatm_tx_execute
      }
    }
  }
  return state.tx ? 1 : 0;
}

int tx_set_commit_return(COMMIT_RETURN when_return) {
  ThreadState& state = self();
  if (!state.open) return fail(TX_PROTOCOL_ERROR, "tx_set_commit_return() before tx_open()");
  if (when_return != TX_COMMIT_COMPLETED && when_return != TX_COMMIT_DECISION_LOGGED) {
    return fail(TX_EINVAL, "when_return is neither TX_COMMIT_COMPLETED nor TX_COMMIT_DECISION_LOGGED");
  }
  // Phase 2 always runs before tx_commit() returns: the outcome it reports is the branches'.
  if (when_return == TX_COMMIT_DECISION_LOGGED) {
    return fail(TX_NOT_SUPPORTED, "TX_COMMIT_DECISION_LOGGED: xatm returns once phase 2 is done");
  }
  state.when_return = when_return;
  return TX_OK;
}

int tx_set_transaction_control(TRANSACTION_CONTROL control) {
  ThreadState& state = self();
  if (!state.open) return fail(TX_PROTOCOL_ERROR, "tx_set_transaction_control() before tx_open()");
  if (control != TX_UNCHAINED && control != TX_CHAINED) {
    return fail(TX_EINVAL, "control is neither TX_UNCHAINED nor TX_CHAINED");
  }
  state.control = control;
  return TX_OK;
}

int tx_set_transaction_timeout(TRANSACTION_TIMEOUT timeout) {
  ThreadState& state = self();
  if (!state.open) return fail(TX_PROTOCOL_ERROR, "tx_set_transaction_timeout() before tx_open()");
  if (timeout < 0) return fail(TX_EINVAL, "a negative timeout");
  // The specification allows any long; xatm's XIDs carry at most kMaxTimeoutSeconds.
  state.timeout = std::min(timeout, kMaxTimeoutSeconds);  // from the next transaction on
  return TX_OK;
}

struct pg_conn* xatm_tx_postgresql_connection(const char* data_source) {
  ThreadState& state = self();
  if (!state.open || !state.tx || data_source == nullptr) {
    fail(TX_PROTOCOL_ERROR, "no transaction is active on this thread");
    return nullptr;
  }
  xatm::Result<PGconn*> session = xatm::postgresql::connection(*state.tx, data_source);
  if (!session.ok()) {
    fail(TX_ERROR, session.status().to_string());
    return nullptr;
  }
  return *session;
}

// A statement that failed makes the transaction rollback-only: MariaDB undoes only the failed
// statement and would commit the rest, which the program did not mean to commit alone.
int statement_failed(ThreadState& state, std::string message) {
  state.tx->set_rollback_only(message);
  return fail(TX_ERROR, std::move(message));
}

int xatm_tx_execute(const char* data_source, const char* statement) {
  ThreadState& state = self();
  if (!state.open || !state.tx) return fail(TX_PROTOCOL_ERROR, "no transaction is active on this thread");
  if (data_source == nullptr || statement == nullptr) return fail(TX_EINVAL, "a null argument");
  xatm::Result<PGconn*> postgres = xatm::postgresql::connection(*state.tx, data_source);
  if (postgres.ok()) {
    PGresult* result = PQexec(*postgres, statement);
    const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
    PQclear(result);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return TX_OK;
    return statement_failed(state, std::string("data source '") + data_source + "': " +
                                       PQerrorMessage(*postgres));
  }
  if (postgres.status().code() != StatusCode::kInvalidArgument) {  // not a PostgreSQL one
    return fail(postgres.status().code() == StatusCode::kNotFound ? TX_EINVAL : TX_ERROR,
                postgres.status().to_string());
  }
  xatm::Result<sql::Connection*> mysql = xatm::mysql::connection(*state.tx, data_source);
  if (!mysql.ok()) return fail(TX_ERROR, mysql.status().to_string());
  try {
    std::unique_ptr<sql::Statement>((*mysql)->createStatement())->execute(statement);
    return TX_OK;
  } catch (const sql::SQLException& e) {
    return statement_failed(state, std::string("data source '") + data_source + "': MariaDB error " +
                                       std::to_string(e.getErrorCode()) + ": " + e.what());
  }
}

int xatm_tx_run_in_thread_of_control(const char* data_source, int (*work)(int rmid, void* arg),
                                     void* arg) {
  ThreadState& state = self();
  if (!state.open || !state.tx) return fail(TX_PROTOCOL_ERROR, "no transaction is active on this thread");
  if (data_source == nullptr || work == nullptr) return fail(TX_EINVAL, "a null argument");
  int answer = 0;
  const Status ran = xatm::run_in_thread_of_control(
      *state.tx, data_source, [&](int rmid) { answer = work(rmid, arg); });
  if (!ran.ok()) {
    const bool misnamed = ran.code() == StatusCode::kNotFound ||
                          ran.code() == StatusCode::kInvalidArgument;
    return fail(misnamed ? TX_EINVAL : TX_ERROR, ran.to_string());
  }
  if (answer != 0) {
    return statement_failed(state, std::string("data source '") + data_source +
                                       "': the work in its thread of control answered " +
                                       std::to_string(answer));
  }
  return TX_OK;
}

const char* xatm_tx_last_error(void) { return self().last_error.c_str(); }

}  // extern "C"
