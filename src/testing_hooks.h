// The library's side of the test-only crash points (testing/crash_points.h).
//
// XATM_CRASH_POINT(kCrashBeforeDecision) marks a place where a test may stop the process. Only a
// build with XATM_TESTING_HOOKS=ON (the test builds and CI) compiles the point in; otherwise it
// is an empty statement, so an installed library never ends a process because of something in
// its environment (XATM_CRASH_AT).
#ifndef XATM_SRC_TESTING_HOOKS_H_
#define XATM_SRC_TESTING_HOOKS_H_

#ifdef XATM_TESTING_HOOKS
#include "testing/crash_points.h"
#define XATM_CRASH_POINT(name) ::xatm::internal::crash_point(::xatm::internal::name)
#else
#define XATM_CRASH_POINT(name) static_cast<void>(0)
#endif

#endif  // XATM_SRC_TESTING_HOOKS_H_
