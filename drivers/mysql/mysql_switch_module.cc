// What the loadable module libxatm_mysql_switch.so adds to the driver: LIXA's getter (LIXA loads
// a switch module by calling lixa_get_xa_switch). Only in the module, which holds one switch:
// a program that links both drivers gets no clashing getters.
#include "xatm/mysql/xa_switch.h"

extern "C" struct xa_switch_t* lixa_get_xa_switch() { return &xatm_mysql_xa_switch; }
