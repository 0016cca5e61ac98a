/* A C program against the installed X/Open TX API (xatm/tx.h, pkg-config xatm-tx): outside
 * tx_open every call is a protocol error, and tx_open without XATM_CONFIG fails. */
#define _POSIX_C_SOURCE 200112L /* unsetenv */

#include <stdio.h>
#include <stdlib.h>

#include <xatm/tx.h>

int main(void) {
  if (tx_info(NULL) != TX_PROTOCOL_ERROR || tx_begin() != TX_PROTOCOL_ERROR) return 1;
  unsetenv(XATM_TX_CONFIG_ENV);
  if (tx_open() != TX_FAIL) return 1;
  printf("tx: %s\n", xatm_tx_last_error());
  return 0;
}
