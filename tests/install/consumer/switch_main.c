/* A C program (compiled as C) that links the PostgreSQL driver through pkg-config and reads its
 * XA switch from the C header. */
#include <stdio.h>
#include <string.h>

#include <xatm/postgresql/xa_switch.h>

int main(void) {
  if (strcmp(xatm_postgresql_xa_switch.name, "xatm-postgresql") != 0) return 1;
  if (xatm_postgresql_xa_switch.version != 0 || xatm_postgresql_xa_switch.xa_open_entry == NULL) return 1;
  printf("switch %s\n", xatm_postgresql_xa_switch.name);
  return 0;
}
