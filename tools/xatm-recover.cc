// xatm-recover: the operator's tool (docs/recovery.md). A thin main; the subcommands live in
// recover_cli.cc, over library functions (xatm/log_tools.h, ...).
#include <iostream>

#include "recover_cli.h"

int main(int argc, char** argv) {
  return xatm::tools::run_recover_cli(argc, argv, std::cout, std::cerr);
}
