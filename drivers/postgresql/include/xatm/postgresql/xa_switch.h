/* xatm's PostgreSQL driver as an X/Open XA switch, for C programs and any XA transaction
 * manager: the switch named "xatm-postgresql", in libxatm_postgresql (linked) and in the loadable module
 * libxatm_postgresql_switch.so. The module also exports LIXA's getter, struct xa_switch_t
 * *lixa_get_xa_switch(void), which returns this switch, so that LIXA loads it as it is.
 * docs/xa-switch.md lists what xa_open takes and what each verb and flag does. Plain C. */
#ifndef XATM_POSTGRESQL_XA_SWITCH_H_
#define XATM_POSTGRESQL_XA_SWITCH_H_

#include "xatm/xa.h"

#ifdef __cplusplus
extern "C" {
#endif

extern struct xa_switch_t xatm_postgresql_xa_switch;

/* The libpq session that xa_open(info, rmid, ...) of this switch opened on the calling thread:
 * the branch that xa_start associated with rmid runs its SQL here. NULL when the calling thread
 * has not opened rmid (or its session was lost and is not reopened yet: the next verb reopens
 * it). The session belongs to the switch: never PQfinish it. */
struct pg_conn;
struct pg_conn *xatm_postgresql_switch_connection(int rmid);

#ifdef __cplusplus
}
#endif

#endif /* XATM_POSTGRESQL_XA_SWITCH_H_ */
