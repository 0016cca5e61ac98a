// The queue of finished transactions whose decision rows a driver deletes in batches.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "xatm/driver/decision_table.h"

namespace xatm {
namespace {

Xid global(int i) {
  const std::string gtrid = "g" + std::to_string(i);
  return Xid::make(kXatmFormatId, {reinterpret_cast<const std::uint8_t*>(gtrid.data()), gtrid.size()}, {})
      .value();
}

TEST(FinishedDecisionsTest, RowsGoInBatchesAndComeBackWhenTheirDecisionFailed) {
  FinishedDecisions queue;
  for (int i = 0; i < static_cast<int>(FinishedDecisions::kMinBatch) - 1; ++i) queue.add(global(i));
  EXPECT_TRUE(queue.take_batch().empty()) << "fewer than a batch wait";
  for (int i = 0; i < 100; ++i) queue.add(global(1000 + i));
  std::vector<Xid> first = queue.take_batch();
  EXPECT_EQ(first.size(), FinishedDecisions::kMaxBatch);
  queue.give_back(first);
  EXPECT_TRUE(first.empty());
  std::size_t total = 0;
  for (std::vector<Xid> batch = queue.take_batch(); !batch.empty(); batch = queue.take_batch()) {
    EXPECT_GE(batch.size(), FinishedDecisions::kMinBatch);
    total += batch.size();
  }
  EXPECT_GE(total, 131u - FinishedDecisions::kMinBatch + 1) << "every row is taken once a batch waits";
}

}  // namespace
}  // namespace xatm
