/* xatm's MariaDB/MySQL driver as an X/Open XA switch, for C programs and any XA transaction
 * manager: the switch named "xatm-mysql", in libxatm_mysql (linked) and in the loadable module
 * libxatm_mysql_switch.so. The module also exports LIXA's getter, struct xa_switch_t
 * *lixa_get_xa_switch(void), which returns this switch, so that LIXA loads it as it is.
 * docs/xa-switch.md lists what xa_open takes and what each verb and flag does. Plain C. */
#ifndef XATM_MYSQL_XA_SWITCH_H_
#define XATM_MYSQL_XA_SWITCH_H_

#include "xatm/xa.h"

#ifdef __cplusplus
extern "C" {
#endif

extern struct xa_switch_t xatm_mysql_xa_switch;

#ifdef __cplusplus
}
#endif

#endif /* XATM_MYSQL_XA_SWITCH_H_ */
