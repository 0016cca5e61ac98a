// A FakeResource exported as an xa_switch_t through the same SwitchExport the real drivers use:
// xa_open("rm=<name>") opens a session of the fake registered under <name>.
//
// Tests may copy fake_xa_switch() and replace entry points with wrappers that record the calls.
#ifndef XATM_TESTS_UNIT_FAKE_SWITCH_H_
#define XATM_TESTS_UNIT_FAKE_SWITCH_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "xatm/driver/open_info.h"
#include "xatm/driver/switch_export.h"
#include "xatm/fake/fake_resource.h"

namespace xatm::testing {

struct FakeSwitchRegistry {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<fake::FakeResource>> fakes;  // guarded by mutex

  static FakeSwitchRegistry& instance() {
    static FakeSwitchRegistry registry;
    return registry;
  }
};

// Makes `rm` reachable as xa_open("rm=<rm->name()>").
inline void register_fake_rm(const std::shared_ptr<fake::FakeResource>& rm) {
  FakeSwitchRegistry& registry = FakeSwitchRegistry::instance();
  std::lock_guard lock(registry.mutex);
  registry.fakes[rm->name()] = rm;
}

inline Result<std::shared_ptr<Resource>> fake_resource_from_info(std::string_view info) {
  Result<driver::Settings> pairs = driver::parse_open_info(info);
  if (!pairs.ok()) return pairs.status();
  FakeSwitchRegistry& registry = FakeSwitchRegistry::instance();
  std::lock_guard lock(registry.mutex);
  for (const auto& [key, value] : *pairs) {
    if (key != "rm") continue;
    auto it = registry.fakes.find(value);
    if (it == registry.fakes.end()) return invalid_argument_error("no fake RM '" + value + "'");
    return std::shared_ptr<Resource>(it->second->make_handle());
  }
  return invalid_argument_error("the info string names no rm");
}

// The calling thread's state of the fake switch.
inline driver::SwitchExport& fake_switch_state() {
  thread_local driver::SwitchExport state("xatm-fake", &fake_resource_from_info);
  return state;
}

inline const xa_switch_t& fake_xa_switch() {
  static const xa_switch_t xa_switch = driver::exported_switch<&fake_switch_state>("xatm-fake");
  return xa_switch;
}

}  // namespace xatm::testing

#endif  // XATM_TESTS_UNIT_FAKE_SWITCH_H_
