/* A C program (compiled as C) that runs global transactions over MariaDB ("mariadb") and
 * PostgreSQL ("postgresql") through the X/Open TX API (xatm/tx.h), checking every return code
 * as it goes; tx_api_test.cc runs it with XATM_CONFIG set and checks the databases after.
 * Account 5 ends at 1000 - 11 in MariaDB and 1000 + 11 in PostgreSQL. With the argument
 * "open-fails" it checks tx_open's failure instead. Exit status 0 when every check held; each
 * failed check prints a line. */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* With XATM_CONFIG naming a file that does not exist: tx_open fails for good, naming it. */
static int open_fails(void) {
  expect(tx_open(), TX_FAIL, "tx_open with a missing config file");
  expect(strstr(xatm_tx_last_error(), "missing.json") != NULL, 1, "the file is named");
  expect(tx_begin(), TX_PROTOCOL_ERROR, "tx_begin after a failed tx_open");
  return failures == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "open-fails") == 0) return open_fails();
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

  expect(tx_close(), TX_OK, "tx_close");
  expect(tx_close(), TX_OK, "tx_close again");
  expect(tx_begin(), TX_PROTOCOL_ERROR, "tx_begin after tx_close");
  return failures == 0 ? 0 : 1;
}
