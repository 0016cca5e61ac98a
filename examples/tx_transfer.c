/* tx_transfer: a C program that moves money from an account in MariaDB to one in PostgreSQL in
 * one global transaction, through the X/Open TX API (xatm/tx.h), as a LIXA or Tuxedo program
 * would.
 *
 *   XATM_CONFIG=node.json tx_transfer <amount>
 *
 * node.json is the config file of xatm-recover (docs/recovery.md) with a MariaDB data source
 * "inventory" and a PostgreSQL data source "billing"; both databases hold
 *   CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL CHECK (balance >= 0));
 * with a row of id 1. A debit below zero fails in PostgreSQL's check or leaves MariaDB's row
 * unchanged, and the whole transfer rolls back. Exit status 0 when it committed. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include <xatm/tx.h>

/* The transfer's statements; any failure makes the transaction roll back at tx_commit. */
static int move(long amount) {
  char sql[160];
  /* The amount is a number the program parsed, never text from outside pasted into SQL. */
  snprintf(sql, sizeof sql, "UPDATE accounts SET balance = balance - %ld WHERE id = 1", amount);
  if (xatm_tx_execute("inventory", sql) != TX_OK) return -1;
  PGconn *billing = xatm_tx_postgresql_connection("billing");
  if (billing == NULL) return -1;
  char text[24];
  snprintf(text, sizeof text, "%ld", amount);
  const char *values[1] = {text};
  PGresult *result = PQexecParams(billing, "UPDATE accounts SET balance = balance + $1::bigint WHERE id = 1",
                                  1, NULL, values, NULL, NULL, 0);
  const int ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  PQclear(result);
  return ok ? 0 : -1;
}

int main(int argc, char **argv) {
  const long amount = argc > 1 ? strtol(argv[1], NULL, 10) : 10;
  if (tx_open() != TX_OK) {
    fprintf(stderr, "tx_open: %s\n", xatm_tx_last_error());
    return 2;
  }
  tx_set_transaction_timeout(5); /* past 5 s the transaction manager rolls it back */
  int code = tx_begin();
  if (code == TX_OK) {
    if (move(amount) != 0) {
      fprintf(stderr, "statement failed: %s\n", xatm_tx_last_error());
      tx_rollback();
      code = TX_ROLLBACK;
    } else {
      code = tx_commit(); /* TX_ROLLBACK when a database voted no or the timeout passed */
    }
  }
  switch (code) {
    case TX_OK: printf("committed: %ld moved\n", amount); break;
    case TX_ROLLBACK: printf("rolled back\n"); break;
    default: printf("tx code %d: %s\n", code, xatm_tx_last_error()); break;
  }
  tx_close();
  return code == TX_OK ? 0 : 1;
}
