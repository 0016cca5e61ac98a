// The decision log's contract suite (testing/log/decision_log_contract.h) over the file log;
// here, it also runs under the sanitizers.
#include <atomic>
#include <memory>
#include <string>

#include "testing/log/decision_log_contract.h"
#include "testing/log/log_test_util.h"
#include "xatm/decision_log.h"

namespace xatm::internal::testing {
namespace {

class FileLogOpener final : public LogOpener {
 public:
  Result<std::unique_ptr<DecisionLog>> open() override {
    // Small segments: the suite's concurrent appends rotate segments too.
    return open_file_log({.dir = dir_.path() + "/log",
                          .create_if_missing = true,
                          .node_name = "contract-node",
                          .max_segment_bytes = 4096});
  }

 private:
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(File, DecisionLogContractTest,
                         ::testing::Values(LogBackend{"file", [] { return std::make_unique<FileLogOpener>(); }}),
                         log_backend_name);

}  // namespace
}  // namespace xatm::internal::testing
