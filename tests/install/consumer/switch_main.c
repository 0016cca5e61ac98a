/* A C program (compiled as C) that links the PostgreSQL driver through pkg-config, reads its XA
 * switch from the C header and calls the switch's C accessor: no session is open on this thread,
 * so it answers NULL. */
#include <stdio.h>
#include <string.h>

#include <xatm/postgresql/xa_switch.h>

int main(void) {
  if (strcmp(xatm_postgresql_xa_switch.name, "xatm-postgresql") != 0) return 1;
  if (xatm_postgresql_xa_switch.version != 0 || xatm_postgresql_xa_switch.xa_open_entry == NULL) return 1;
  if (xatm_postgresql_switch_connection(1) != NULL) return 1;
  printf("switch %s\n", xatm_postgresql_xa_switch.name);
  return 0;
}
