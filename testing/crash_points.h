// Named crash points: places in the coordinator where a test can stop it. Test-only: the library
// calls them through XATM_CRASH_POINT (src/testing_hooks.h), which compiles to nothing unless the
// build has XATM_TESTING_HOOKS=ON, so a release library has no such hook at all.
//
// A crash point does nothing unless armed. Tests arm it in two ways:
//   - in-process: set_crash_hook() installs a function called with the point's name (a unit
//     test records the order, or throws/exits at the point it wants);
//   - across processes: the environment variable XATM_CRASH_AT=<name>[:<n>] makes the n-th hit
//     (default the first) of that point end the process at once with _exit(kCrashExitCode),
//     like a kill -9: no destructor, no flush.
//
// Thread safety: crash_point() may be called from any thread; set_crash_hook() is for test setup.
#ifndef XATM_TESTING_CRASH_POINTS_H_
#define XATM_TESTING_CRASH_POINTS_H_

#include <functional>
#include <string_view>

namespace xatm::internal {

inline constexpr int kCrashExitCode = 86;

// The points the coordinator passes, in protocol order.
inline constexpr std::string_view kCrashBeforePrepare = "phase1.before_prepare";
inline constexpr std::string_view kCrashPrepareSent = "phase1.prepare_sent";  // split verbs
inline constexpr std::string_view kCrashAfterPrepare = "phase1.after_prepare";  // each branch
inline constexpr std::string_view kCrashBeforeDecision = "decision.before_log";
inline constexpr std::string_view kCrashAfterDecision = "decision.after_log";
inline constexpr std::string_view kCrashBeforeDecisionCommit = "decision.before_table_commit";
inline constexpr std::string_view kCrashAfterDecisionCommit = "decision.after_table_commit";
inline constexpr std::string_view kCrashCommitSent = "phase2.commit_sent";  // split verbs
inline constexpr std::string_view kCrashAfterCommit = "phase2.after_commit";  // each branch
inline constexpr std::string_view kCrashBeforeDone = "phase2.before_done";
inline constexpr std::string_view kCrashLogBeforeSync = "log.before_sync";  // each batch write
inline constexpr std::string_view kCrashRecoveryResolved = "recovery.after_resolve";  // each branch

// Installs `hook` (an empty function disarms). Not for concurrent use with itself.
void set_crash_hook(std::function<void(std::string_view)> hook);

void crash_point(std::string_view name);

}  // namespace xatm::internal

#endif  // XATM_TESTING_CRASH_POINTS_H_
