#include "testing/crash_points.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

namespace xatm::internal {
namespace {

struct CrashTarget {
  std::string name;
  long hit = 1;  // which hit of the point ends the process
};

// Parsed once from XATM_CRASH_AT; empty name when unset.
const CrashTarget& env_target() {
  static const CrashTarget target = [] {
    CrashTarget t;
    const char* spec = std::getenv("XATM_CRASH_AT");  // NOLINT(concurrency-mt-unsafe): read once
    if (spec == nullptr) return t;
    std::string text(spec);
    auto colon = text.rfind(':');
    t.name = text.substr(0, colon);
    if (colon != std::string::npos) t.hit = std::strtol(text.c_str() + colon + 1, nullptr, 10);
    return t;
  }();
  return target;
}

std::mutex hook_mutex;
std::function<void(std::string_view)> hook;  // guarded by hook_mutex
std::atomic<bool> hook_armed{false};
std::atomic<long> env_hits{0};

}  // namespace

void set_crash_hook(std::function<void(std::string_view)> new_hook) {
  std::lock_guard lock(hook_mutex);
  hook = std::move(new_hook);
  hook_armed.store(static_cast<bool>(hook), std::memory_order_release);
}

void crash_point(std::string_view name) {
  const CrashTarget& target = env_target();
  if (!target.name.empty() && target.name == name &&
      env_hits.fetch_add(1, std::memory_order_relaxed) + 1 == target.hit) {
    _exit(kCrashExitCode);  // no destructors, no buffered output: a crash, not an exit
  }
  if (!hook_armed.load(std::memory_order_acquire)) return;
  std::function<void(std::string_view)> current;
  {
    std::lock_guard lock(hook_mutex);
    current = hook;
  }
  if (current) current(name);
}

}  // namespace xatm::internal
