/* xatm's MariaDB/MySQL driver as an X/Open XA switch, for C programs and any XA transaction
 * manager: the switch named "xatm-mysql", in libxatm_mysql (linked) and in the loadable module
 * libxatm_mysql_switch.so. The module also exports LIXA's getter, struct xa_switch_t
 * *lixa_get_xa_switch(void), which returns this switch, so that LIXA loads it as it is.
 * docs/xa-switch.md lists what xa_open takes and what each verb and flag does. Plain C. */
#ifndef XATM_MYSQL_XA_SWITCH_H_
#define XATM_MYSQL_XA_SWITCH_H_

#include <stddef.h>

#include "xatm/xa.h"

#ifdef __cplusplus
extern "C" {
#endif

extern struct xa_switch_t xatm_mysql_xa_switch;

/* Runs `statement` (its rows, if any, are dropped) on the session that xa_open(info, rmid, ...)
 * of this switch opened on the calling thread, inside the branch xa_start associated with rmid.
 * The session is Connector/C++'s, which has no C handle: C programs reach MariaDB through this
 * call (C++: xatm::mysql::switch_connection). 0 when it ran; -1 when it failed, with why in
 * `error` (the server's code and message, or that rmid is not open on this thread), cut to
 * error_size - 1 bytes and always terminated when error_size > 0. MariaDB undoes only a failed
 * statement, not the branch: roll the branch back unless the program means to keep the rest. */
int xatm_mysql_switch_execute(int rmid, const char *statement, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* XATM_MYSQL_XA_SWITCH_H_ */
