// ControlThread (src/control_thread.h): every call runs on the one thread, callers are served one
// at a time, and a call from inside a call runs in place instead of waiting for itself.
#include "xa/control_thread.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace xatm::internal {
namespace {

TEST(ControlThreadTest, RunsEveryCallOnItsThreadOneAtATime) {
  ControlThread control;
  std::set<std::thread::id> seen;  // only touched on the control thread
  int inside = 0;
  int overlaps = 0;
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        control.run([&] {
          if (++inside != 1) ++overlaps;
          seen.insert(std::this_thread::get_id());
          --inside;
        });
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  control.run([] {});  // orders the reads below after every call
  EXPECT_EQ(overlaps, 0);
  EXPECT_EQ(seen, std::set<std::thread::id>{control.id()});
}

TEST(ControlThreadTest, ANestedCallRunsInPlace) {
  ControlThread control;
  std::thread::id outer;
  std::thread::id inner;
  control.run([&] {
    outer = std::this_thread::get_id();
    control.run([&] { inner = std::this_thread::get_id(); });
  });
  EXPECT_EQ(outer, control.id());
  EXPECT_EQ(inner, control.id());
}

}  // namespace
}  // namespace xatm::internal
