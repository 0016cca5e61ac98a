// The one source file of the loadable XA switch modules (libxatm_<driver>_switch.so). It is empty
// on purpose: a module's content is its driver's static library, pulled in by
// -Wl,--undefined=<switch symbol> (xatm_add_switch_module in drivers/CMakeLists.txt).
