/* A C program (compiled as C) that runs global transactions over MariaDB ("mariadb") and
 * PostgreSQL ("postgresql") through the X/Open TX API (xatm/tx.h), checking every return code
 * as it goes; tx_api_test.cc runs it with XATM_CONFIG set and checks the databases after.
 * Account 5 ends at 1000 - 11 in MariaDB and 1000 + 11 in PostgreSQL. With the arguments
 * "open-fails WHY" it checks instead that tx_open fails saying WHY; with "switches" it runs
 * transfers over two data sources adopted from xa_switch_t's ("ledger-mariadb", "ledger-pg":
 * xatm's own switches, linked into this program), reaching their sessions through the
 * switches' C accessors in the branches' threads of control: account 6 ends at 1000 - 7 and
 * 1000 + 7. Exit status 0 when every check held; each failed check prints a line. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <xatm/mysql/xa_switch.h>
#include <xatm/postgresql/xa_switch.h>
#include <xatm/tx.h>

static int failures = 0;

static void expect(int got, int want, const char* what) {
  if (got != want) {
    printf("FAIL %s: got %d, want %d (%s)\n", what, got, want, xatm_tx_last_error());
    ++failures;
  } else {
    printf("ok %s\n", what);
  }
}

/* Moves `amount` from MariaDB's account 5 to PostgreSQL's, in the current transaction. */
static void transfer(int amount) {
  char sql[128];
  snprintf(sql, sizeof sql, "UPDATE crash_accounts SET balance = balance - %d WHERE id = 5", amount);
  expect(xatm_tx_execute("mariadb", sql), TX_OK, "debit in MariaDB");
  PGconn* postgres = xatm_tx_postgresql_connection("postgresql");
  if (postgres == NULL) {
    printf("FAIL no PostgreSQL session: %s\n", xatm_tx_last_error());
    ++failures;
    return;
  }
  snprintf(sql, sizeof sql, "UPDATE crash_accounts SET balance = balance + %d WHERE id = 5", amount);
  PGresult* result = PQexec(postgres, sql);
  expect(PQresultStatus(result) == PGRES_COMMAND_OK, 1, "credit in PostgreSQL");
  PQclear(result);
}

/* With XATM_CONFIG naming a config that cannot work: tx_open fails, saying `why`, and so does
 * the next try (nothing half-opened is left behind). */
static int open_fails(const char* why) {
  expect(tx_open(), TX_FAIL, "tx_open with an unusable config");
  expect(strstr(xatm_tx_last_error(), why) != NULL, 1, "the reason is told");
  expect(tx_begin(), TX_PROTOCOL_ERROR, "tx_begin after a failed tx_open");
  expect(tx_open(), TX_FAIL, "tx_open again fails the same way");
  expect(strstr(xatm_tx_last_error(), why) != NULL, 1, "the reason is told again");
  return failures == 0 ? 0 : 1;
}

/* A thread that begins a transfer and ends without tx_commit or tx_close. */
static void* abandon(void* unused) {
  (void)unused;
  expect(tx_open(), TX_OK, "tx_open on another thread");
  expect(tx_begin(), TX_OK, "tx_begin on another thread");
  transfer(50);
  return NULL;
}

/* The work of a branch of an adopted switch, run in its thread of control. */
struct switch_work {
  const char* statement;
  int rmid; /* the rmid it ran under, for the check outside */
};

/* MariaDB through xatm's switch: its C accessor runs the statement on the rmid's session. */
static int mariadb_work(int rmid, void* arg) {
  struct switch_work* work = arg;
  char error[256];
  work->rmid = rmid;
  if (xatm_mysql_switch_execute(rmid, work->statement, error, sizeof error) != 0) {
    printf("(MariaDB through its switch: %s)\n", error);
    return 1;
  }
  return 0;
}

/* PostgreSQL through xatm's switch: its C accessor is the rmid's libpq session. */
static int postgresql_work(int rmid, void* arg) {
  struct switch_work* work = arg;
  PGconn* session = xatm_postgresql_switch_connection(rmid);
  work->rmid = rmid;
  if (session == NULL) {
    printf("(no PostgreSQL session for rmid %d on its thread of control)\n", rmid);
    return 1;
  }
  PGresult* result = PQexec(session, work->statement);
  const int failed = PQresultStatus(result) != PGRES_COMMAND_OK;
  if (failed) printf("(PostgreSQL through its switch: %s)\n", PQerrorMessage(session));
  PQclear(result);
  return failed;
}

/* Moves `amount` of account 6 from MariaDB to PostgreSQL through the adopted switches. */
static void switch_transfer(int amount, struct switch_work* debit, struct switch_work* credit) {
  static char debit_sql[128], credit_sql[128];
  snprintf(debit_sql, sizeof debit_sql,
           "UPDATE crash_accounts SET balance = balance - %d WHERE id = 6", amount);
  snprintf(credit_sql, sizeof credit_sql,
           "UPDATE crash_accounts SET balance = balance + %d WHERE id = 6", amount);
  debit->statement = debit_sql;
  credit->statement = credit_sql;
  expect(xatm_tx_run_in_thread_of_control("ledger-mariadb", mariadb_work, debit), TX_OK,
         "debit in MariaDB through its switch");
  expect(xatm_tx_run_in_thread_of_control("ledger-pg", postgresql_work, credit), TX_OK,
         "credit in PostgreSQL through its switch");
}

static int switches(void) {
  struct switch_work debit = {NULL, -1}, credit = {NULL, -1};
  char error[128];
  expect(tx_open(), TX_OK, "tx_open");
  expect(xatm_tx_run_in_thread_of_control("ledger-pg", postgresql_work, &credit),
         TX_PROTOCOL_ERROR, "a thread of control outside a transaction");

  expect(tx_begin(), TX_OK, "tx_begin");
  switch_transfer(7, &debit, &credit);
  /* The sessions belong to the branches' threads of control, not to this thread. */
  expect(xatm_postgresql_switch_connection(credit.rmid) == NULL, 1,
         "no PostgreSQL session for that rmid on the program's own thread");
  expect(xatm_mysql_switch_execute(debit.rmid, "SELECT 1", error, sizeof error), -1,
         "no MariaDB session for that rmid on the program's own thread");
  expect(strstr(error, "not open on this thread") != NULL, 1, "the accessor says why");
  expect(tx_commit(), TX_OK, "tx_commit of a transfer through the switches");

  expect(tx_begin(), TX_OK, "tx_begin");
  switch_transfer(500, &debit, &credit);
  expect(tx_rollback(), TX_OK, "tx_rollback of a transfer through the switches");

  /* Work that fails makes the transaction rollback-only. */
  expect(tx_begin(), TX_OK, "tx_begin");
  switch_transfer(300, &debit, &credit);
  expect(xatm_tx_run_in_thread_of_control("no-such-source", mariadb_work, &debit), TX_EINVAL,
         "an unknown data source");
  debit.statement = "UPDATE crash_accounts SET no_such_column = 1";
  expect(xatm_tx_run_in_thread_of_control("ledger-mariadb", mariadb_work, &debit), TX_ERROR,
         "failing work in a thread of control");
  expect(strstr(xatm_tx_last_error(), "ledger-mariadb") != NULL, 1, "the data source is named");
  expect(tx_commit(), TX_ROLLBACK, "tx_commit after failing work rolls back");

  /* Timeout 0 is the config's default_timeout_s (3 s). */
  expect(tx_set_transaction_timeout(0), TX_OK, "the default timeout");
  expect(tx_begin(), TX_OK, "tx_begin");
  switch_transfer(400, &debit, &credit);
  sleep(4);
  expect(tx_commit(), TX_ROLLBACK, "tx_commit past the config's default timeout rolls back");
  expect(strstr(xatm_tx_last_error(), "3000 ms") != NULL, 1, "the default timeout is named");

  expect(tx_close(), TX_OK, "tx_close");
  return failures == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc > 2 && strcmp(argv[1], "open-fails") == 0) return open_fails(argv[2]);
  if (argc > 1 && strcmp(argv[1], "switches") == 0) return switches();
  TXINFO info;
  expect(tx_begin(), TX_PROTOCOL_ERROR, "tx_begin before tx_open");
  expect(tx_open(), TX_OK, "tx_open");
  expect(tx_open(), TX_OK, "tx_open again");
  expect(tx_info(&info), 0, "tx_info outside a transaction");
  expect((int)info.xid.formatID, -1, "no XID outside a transaction");
  expect(tx_commit(), TX_PROTOCOL_ERROR, "tx_commit outside a transaction");
  expect(tx_set_commit_return(TX_COMMIT_DECISION_LOGGED), TX_NOT_SUPPORTED, "decision-logged return");
  expect(tx_set_commit_return(7), TX_EINVAL, "a bad commit return");
  expect(tx_set_transaction_control(7), TX_EINVAL, "a bad transaction control");
  expect(tx_set_transaction_timeout(-1), TX_EINVAL, "a negative timeout");

  /* A transfer that commits. */
  expect(tx_begin(), TX_OK, "tx_begin");
  expect(tx_info(&info), 1, "tx_info inside a transaction");
  expect(info.xid.formatID != -1 && info.xid.gtrid_length > 0, 1, "an XID inside a transaction");
  expect(info.transaction_state, TX_ACTIVE, "active");
  expect(tx_begin(), TX_PROTOCOL_ERROR, "tx_begin inside a transaction");
  expect(tx_close(), TX_PROTOCOL_ERROR, "tx_close inside a transaction");
  transfer(10);
  expect(tx_commit(), TX_OK, "tx_commit of a transfer");

  /* One that rolls back. */
  expect(tx_begin(), TX_OK, "tx_begin");
  transfer(500);
  expect(tx_rollback(), TX_OK, "tx_rollback of a transfer");

  /* Chained: commit begins the next transaction. */
  expect(tx_set_transaction_control(TX_CHAINED), TX_OK, "chained");
  expect(tx_begin(), TX_OK, "tx_begin");
  transfer(1);
  expect(tx_commit(), TX_OK, "tx_commit, chained");
  expect(tx_info(&info), 1, "a new transaction after a chained commit");
  expect(info.transaction_control, TX_CHAINED, "tx_info shows chained");
  expect(tx_set_transaction_control(TX_UNCHAINED), TX_OK, "unchained");
  expect(tx_rollback(), TX_OK, "tx_rollback of the chained transaction");
  expect(tx_info(NULL), 0, "no transaction after an unchained rollback");

  /* A failed statement: the transaction can only roll back. */
  expect(tx_begin(), TX_OK, "tx_begin");
  transfer(100);
  expect(xatm_tx_execute("no-such-source", "SELECT 1"), TX_EINVAL, "an unknown data source");
  expect(xatm_tx_execute("postgresql", "UPDATE no_such_table SET x = 1"), TX_ERROR, "a failing statement");
  expect(strlen(xatm_tx_last_error()) > 0, 1, "the statement's error is told");
  expect(tx_info(&info), 1, "tx_info after a failed statement");
  expect(info.transaction_state, TX_ROLLBACK_ONLY, "rollback only");
  expect(tx_commit(), TX_ROLLBACK, "tx_commit after a failed statement rolls back");

  /* A MariaDB statement that fails undoes only itself there: the transaction still rolls back. */
  expect(tx_begin(), TX_OK, "tx_begin");
  transfer(300);
  expect(xatm_tx_execute("mariadb", "UPDATE crash_accounts SET no_such_column = 1"), TX_ERROR,
         "a failing MariaDB statement");
  expect(tx_commit(), TX_ROLLBACK, "tx_commit after a failed MariaDB statement rolls back");

  /* A timeout: the transaction manager rolls it back. */
  expect(tx_set_transaction_timeout(1), TX_OK, "a 1 s timeout");
  expect(tx_begin(), TX_OK, "tx_begin");
  expect(tx_info(&info), 1, "tx_info");
  expect(info.transaction_timeout, 1, "tx_info shows the timeout");
  transfer(200);
  sleep(2);
  expect(tx_info(&info), 1, "tx_info past the deadline");
  expect(info.transaction_state, TX_TIMEOUT_ROLLBACK_ONLY, "timed out: rollback only");
  expect(tx_commit(), TX_ROLLBACK, "tx_commit past the timeout rolls back");
  expect(strstr(xatm_tx_last_error(), "timed out") != NULL, 1, "the timeout is named");

  /* Timeouts beyond what an XID carries are cut to the longest, not refused. */
  expect(tx_set_transaction_timeout(100000000L), TX_OK, "a timeout of 100000000 s");
  expect(tx_info(&info), 0, "tx_info");
  expect((int)info.transaction_timeout, 4294967, "cut to 4294967 s");
  expect(tx_set_transaction_timeout(0), TX_OK, "back to the default");

  /* A thread that ends inside a transaction: the transaction rolls back, the rest goes on. */
  {
    pthread_t thread;
    expect(pthread_create(&thread, NULL, abandon, NULL), 0, "a thread");
    expect(pthread_join(thread, NULL), 0, "the thread ended");
    expect(tx_begin(), TX_OK, "tx_begin after the other thread ended");
    expect(tx_rollback(), TX_OK, "tx_rollback");
  }

  expect(tx_close(), TX_OK, "tx_close");
  expect(tx_close(), TX_OK, "tx_close again");
  expect(tx_begin(), TX_PROTOCOL_ERROR, "tx_begin after tx_close");
  return failures == 0 ? 0 : 1;
}
