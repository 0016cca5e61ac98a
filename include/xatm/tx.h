/* The X/Open TX interface (X/Open CAE Specification "Distributed Transaction Processing: The TX
 * (Transaction Demarcation) Specification", C504), over xatm: a C program demarcates global
 * transactions over MariaDB/MySQL and PostgreSQL with tx_begin / tx_commit / tx_rollback, as it
 * would with LIXA or Tuxedo. Every value here is the standard one.
 *
 *   export XATM_CONFIG=/etc/orders/xatm.json    (the config file of xatm-recover)
 *   tx_open();
 *   tx_begin();
 *   PGconn *orders = xatm_tx_postgresql_connection("orders");
 *   xatm_tx_execute("inventory", "UPDATE stock SET n = n - 1 WHERE sku = 'A1'");
 *   if (tx_commit() != TX_OK) ...
 *   tx_close();
 *
 * Threads: the TX state (open, the current transaction, the settings) belongs to the calling
 * thread, as the specification says; the threads of a process share one TransactionManager,
 * started by the first tx_open() and stopped by the last tx_close() (a thread that ends without
 * tx_close() counts as closed; its transaction rolls back). docs/user-guide.md ("C
 * programs") says how each return code arises. Link with xatm::tx (CMake) or `pkg-config
 * xatm-tx`. Plain C. */
#ifndef XATM_TX_H_
#define XATM_TX_H_

#include "xatm/xa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes. */
#define TX_NOT_SUPPORTED 1   /* option not supported */
#define TX_OK 0              /* normal execution */
#define TX_OUTSIDE (-1)      /* the application is in an RM local transaction */
#define TX_ROLLBACK (-2)     /* the transaction was rolled back */
#define TX_MIXED (-3)        /* partially committed and partially rolled back */
#define TX_HAZARD (-4)       /* may have been partially committed and partially rolled back */
#define TX_PROTOCOL_ERROR (-5) /* routine invoked in an improper context */
#define TX_ERROR (-6)        /* transient error */
#define TX_FAIL (-7)         /* fatal error */
#define TX_EINVAL (-8)       /* invalid arguments were given */
#define TX_COMMITTED (-9)    /* the transaction was heuristically committed */
#define TX_NO_BEGIN (-100)   /* committed, and a new transaction could not be started */
#define TX_ROLLBACK_NO_BEGIN (TX_ROLLBACK + TX_NO_BEGIN)
#define TX_MIXED_NO_BEGIN (TX_MIXED + TX_NO_BEGIN)
#define TX_HAZARD_NO_BEGIN (TX_HAZARD + TX_NO_BEGIN)
#define TX_COMMITTED_NO_BEGIN (TX_COMMITTED + TX_NO_BEGIN)

typedef long COMMIT_RETURN;
#define TX_COMMIT_COMPLETED 0
#define TX_COMMIT_DECISION_LOGGED 1

typedef long TRANSACTION_CONTROL;
#define TX_UNCHAINED 0
#define TX_CHAINED 1

/* Seconds; 0: the config's default_timeout_s (60 when absent), not "no timeout" as in the
 * specification (every xatm transaction has a deadline: docs/user-guide.md says why); more than
 * 4294967 is cut to that. */
typedef long TRANSACTION_TIMEOUT;

typedef long TRANSACTION_STATE;
#define TX_ACTIVE 0
#define TX_TIMEOUT_ROLLBACK_ONLY 1
#define TX_ROLLBACK_ONLY 2

struct tx_info_t {
  XID xid; /* formatID -1 outside a transaction */
  COMMIT_RETURN when_return;
  TRANSACTION_CONTROL transaction_control;
  TRANSACTION_TIMEOUT transaction_timeout;
  TRANSACTION_STATE transaction_state;
};
typedef struct tx_info_t TXINFO;

int tx_open(void);
int tx_close(void);
int tx_begin(void);
int tx_commit(void);
int tx_rollback(void);
int tx_info(TXINFO *info); /* 1 in a transaction, 0 outside, or a negative TX code */
int tx_set_commit_return(COMMIT_RETURN when_return);
int tx_set_transaction_control(TRANSACTION_CONTROL control);
int tx_set_transaction_timeout(TRANSACTION_TIMEOUT timeout);

/* xatm's additions, for the calling thread's transaction. */

/* The environment variable tx_open() reads the config file's path from. */
#define XATM_TX_CONFIG_ENV "XATM_CONFIG"

/* The libpq session of PostgreSQL data source `data_source` in the current transaction (the
 * branch starts on first use); NULL outside a transaction or on error (xatm_tx_last_error). */
struct pg_conn;
struct pg_conn *xatm_tx_postgresql_connection(const char *data_source);

/* Runs `statement` (one that returns no rows, or whose rows are dropped) on `data_source`, of
 * either driver, inside the current transaction: TX_OK, TX_PROTOCOL_ERROR outside a transaction,
 * TX_ERROR when it failed (the statement's error in xatm_tx_last_error; the transaction is then
 * rollback-only, so tx_commit answers TX_ROLLBACK, whatever the database kept of it), TX_EINVAL
 * for an unknown data source. */
int xatm_tx_execute(const char *data_source, const char *statement);

/* For a data source adopted from an xa_switch_t (driver "xa_switch"): starts its branch in the
 * current transaction (on first use) and runs work(rmid, arg) on the thread of control of the
 * branch's session, the thread the RM's per-thread API answers on: inside `work`, the RM's own
 * accessor reaches the branch's connection (for xatm's switches
 * xatm_postgresql_switch_connection(rmid) and xatm_mysql_switch_execute(rmid, ...), for
 * LIXA's lixa_pq_get_conn_by_rmid(rmid) or lixa_my_get_conn_by_rmid(rmid)). Returns when work
 * has returned. `work` answers 0 when it did what it meant to; any other answer makes the
 * transaction rollback-only, as a failed xatm_tx_execute does. TX_OK when work ran and answered
 * 0; TX_ERROR when it answered otherwise, or when the branch could not start (why in
 * xatm_tx_last_error); TX_PROTOCOL_ERROR outside a transaction; TX_EINVAL for a null argument,
 * an unknown data source, or one not adopted from a switch. */
int xatm_tx_run_in_thread_of_control(const char *data_source, int (*work)(int rmid, void *arg),
                                     void *arg);

/* What the calling thread's last failed call said (never a password); "" when none. */
const char *xatm_tx_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* XATM_TX_H_ */
