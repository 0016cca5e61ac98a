// A property check for the fuzz targets: a failed one is a crash, which libFuzzer reports with
// the input that caused it.
#ifndef XATM_TESTS_FUZZ_FUZZ_CHECK_H_
#define XATM_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define XATM_FUZZ_CHECK(condition)                                                       \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (false)

#endif  // XATM_TESTS_FUZZ_FUZZ_CHECK_H_
