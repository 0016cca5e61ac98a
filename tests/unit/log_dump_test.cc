// `xatm-recover log dump|verify` as a library (xatm/log_tools.h): what they print, the damage
// they name by file and offset, and that they only read.
#include "log/log_dump.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "testing/log/fault_injection_env.h"
#include "log/file_log.h"
#include "log/posix_env.h"
#include "log/segment_writer.h"
#include "testing/log/log_test_util.h"
#include "xatm/decision_log.h"
#include "xatm/log_tools.h"

namespace xatm::internal {
namespace {

using testing::read_bytes;
using testing::records_end;
using testing::segment_files;
using testing::TempDir;
using testing::test_commit;
using testing::test_global;
using testing::test_heuristic;
using testing::write_bytes;
using testing::written_bytes;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The last line of `text`.
std::string last_line(const std::string& text) {
  std::size_t end = text.find_last_not_of('\n');
  std::size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1, end - start);
}

class LogDumpTest : public ::testing::Test {
 protected:
  FileLogOptions options() const {
    FileLogOptions options;
    options.dir = dir_;
    options.create_if_missing = true;
    options.node_name = "node-a";
    options.max_segment_bytes = 4096;
    return options;
  }

  std::unique_ptr<DecisionLog> open_ok() {
    Result<std::unique_ptr<DecisionLog>> log = xatm::open_file_log(options());
    EXPECT_TRUE(log.ok()) << log.status().to_string();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  // COMMIT 1, COMMIT 2 (3 branches), HEURISTIC 2, DONE 1.
  void write_log() {
    auto log = open_ok();
    ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
    ASSERT_TRUE(log->log_commit(test_commit(2, 3)).ok());
    ASSERT_TRUE(log->log_heuristic(test_heuristic(2)).ok());
    ASSERT_TRUE(log->log_done(test_global(1)).ok());
  }

  Status dump(std::string& output) {
    std::ostringstream out;
    Status status = xatm::dump_log(dir_, out);
    output = out.str();
    return status;
  }

  Status verify(std::string& output) {
    std::ostringstream out;
    Status status = xatm::verify_log(dir_, out);
    output = out.str();
    return status;
  }

  TempDir tmp_;
  std::string dir_ = tmp_.path() + "/log";
  std::string segment_ = dir_ + "/000000000001.xlog";
};

TEST_F(LogDumpTest, DumpPrintsEveryRecordWithFileAndOffsetThenTheLiveOnes) {
  write_log();
  std::string output;
  ASSERT_TRUE(dump(output).ok()) << output;
  std::string commit_1 = "000000000001.xlog@" + std::to_string(kSegmentHeaderSize + testing::kLogInfoRecordSize) +
                         " COMMIT " + test_global(1).to_string() +
                         " ds-0=" + test_global(1).branch(0).to_string() +
                         " ds-1=" + test_global(1).branch(1).to_string() + "\n";
  EXPECT_TRUE(contains(output, "log " + dir_ + ": node node-a, 1 segment\n")) << output;
  EXPECT_TRUE(contains(output, "000000000001.xlog@64 LOG-INFO birth ")) << output;
  EXPECT_TRUE(contains(output, commit_1)) << output;
  EXPECT_TRUE(
      contains(output, " HEURISTIC ds-1=" + test_global(2).branch(1).to_string() + " XA_HEURRB\n"))
      << output;
  EXPECT_TRUE(contains(output, " DONE " + test_global(1).to_string() + "\n")) << output;
  EXPECT_TRUE(contains(output, "\nlive COMMIT " + test_global(2).to_string())) << output;
  EXPECT_FALSE(contains(output, "live COMMIT " + test_global(1).to_string())) << output;
  EXPECT_EQ(last_line(output),
            "dump: OK: 1 segment, 5 records, 1 live decisions, 1 live heuristics");
}

TEST_F(LogDumpTest, VerifyOfACleanLogSaysOkAndNamesThePreallocatedTail) {
  write_log();
  std::uint64_t end = records_end(segment_);
  std::string output;
  ASSERT_TRUE(verify(output).ok()) << output;
  EXPECT_TRUE(contains(output, "000000000001.xlog: 5 records, clean end at offset " +
                                   std::to_string(end) + " (" + std::to_string(4096 - end) +
                                   " zero bytes preallocated after it)\n"))
      << output;
  EXPECT_EQ(last_line(output),
            "verify: OK: 1 segment, 5 records, 1 live decisions, 1 live heuristics");
}

TEST_F(LogDumpTest, VerifyNamesFileAndOffsetOfDamageAndFails) {
  write_log();
  std::string bytes = read_bytes(segment_);
  bytes[70] = static_cast<char>(bytes[70] ^ 0x10);  // inside the first record
  write_bytes(segment_, bytes);
  std::string output;
  Status status = verify(output);
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(contains(status.message(), segment_ + " is damaged at offset 64:"))
      << status.message();
  EXPECT_TRUE(contains(output, "000000000001.xlog: DAMAGE at offset 64: ")) << output;
  EXPECT_TRUE(last_line(output).starts_with("verify: DAMAGED: 1 problem; first: decision log " +
                                            segment_ + " is damaged at offset 64"))
      << output;
  // What open_file_log says about the same log: the same place.
  Result<std::unique_ptr<DecisionLog>> log = xatm::open_file_log(options());
  EXPECT_TRUE(contains(log.status().message(), segment_ + " is damaged at offset 64:"));
}

TEST_F(LogDumpTest, TornTailIsReportedAsCrashLeftoverNotDamageAndLeftAlone) {
  write_log();
  std::string written = written_bytes(segment_);
  std::string torn = written.substr(0, written.size() - 5);
  write_bytes(segment_, torn);
  std::string output;
  ASSERT_TRUE(verify(output).ok()) << output;
  EXPECT_TRUE(contains(output, ": 4 records, torn tail at offset ")) << output;
  EXPECT_TRUE(contains(output, "; left by a crash, opening the log truncates it\n")) << output;
  EXPECT_EQ(read_bytes(segment_), torn);  // nothing repaired, nothing preallocated
}

TEST_F(LogDumpTest, DumpGoesOnAfterDamageAndVerifyCountsEveryProblem) {
  write_log();
  std::string first = written_bytes(segment_);
  // A second segment holding COMMIT 7, and a third of another node.
  std::string second =
      encode_segment_header(2, "node-a") +
      encode_record(RecordType::kCommit, 2, encode_payload(test_commit(7)).value());
  write_bytes(dir_ + "/000000000002.xlog", second);
  write_bytes(dir_ + "/000000000003.xlog", encode_segment_header(3, "node-b"));
  first[first.size() - 30] = static_cast<char>(first[first.size() - 30] ^ 1);  // DONE 1
  write_bytes(segment_, first);

  std::string output;
  Status status = dump(output);
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(contains(output, "000000000001.xlog: DAMAGE at offset ")) << output;
  EXPECT_TRUE(contains(output, "000000000002.xlog@64 COMMIT " + test_global(7).to_string()))
      << output;
  EXPECT_TRUE(contains(output,
                       "000000000003.xlog: DAMAGE at offset 21: segment of node "
                       "'node-b' in the log of node 'node-a'"))
      << output;
  EXPECT_TRUE(
      contains(last_line(output), "dump: DAMAGED: 2 problems; first: decision log " + segment_))
      << output;
}

TEST_F(LogDumpTest, LiveTransactionManagerIsReportedAndKeepsWorking) {
  write_log();
  auto log = open_ok();
  std::string output;
  ASSERT_TRUE(verify(output).ok()) << output;
  EXPECT_TRUE(contains(output, "warning: a live transaction manager holds the lock on " + dir_))
      << output;
  EXPECT_TRUE(log->log_commit(test_commit(9)).ok());
}

TEST_F(LogDumpTest, ReadingHoldsTheLockSoNoLogOpensMeanwhile) {
  write_log();
  FaultInjectionEnv env(posix_env());
  Status opened_meanwhile;
  env.set_call_hook([&](const EnvCall& call) {
    if (call.op == EnvOp::kReadFile && opened_meanwhile.ok()) {
      opened_meanwhile = xatm::open_file_log(options()).status();
      if (opened_meanwhile.ok()) opened_meanwhile = internal_error("opened");
    }
  });
  std::ostringstream out;
  ASSERT_TRUE(inspect_log(env, dir_, LogDumpMode::kVerify, out).ok()) << out.str();
  EXPECT_EQ(opened_meanwhile.code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(contains(out.str(), "warning")) << out.str();
  EXPECT_NE(open_ok(), nullptr);  // released afterwards
}

TEST_F(LogDumpTest, ReadsWithoutCreatingOrChangingAnything) {
  write_log();
  const auto names = [this] {
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) found.push_back(entry.path().filename());
    return found;
  };
  const std::vector<std::string> files_before = names();
  std::string before = read_bytes(segment_);
  FaultInjectionEnv env(posix_env());
  std::ostringstream out;
  ASSERT_TRUE(inspect_log(env, dir_, LogDumpMode::kDump, out).ok()) << out.str();
  for (const EnvCall& call : env.calls()) {
    // The lock is on the directory itself: taking it creates nothing.
    EXPECT_TRUE(call.op == EnvOp::kListDir || call.op == EnvOp::kReadFile || call.op == EnvOp::kLockDir)
        << env_op_name(call.op) << " " << call.path;
  }
  EXPECT_EQ(names(), files_before);
  EXPECT_EQ(read_bytes(segment_), before);
}

TEST_F(LogDumpTest, DirectoryWithoutSegmentsIsNotFound) {
  std::filesystem::create_directories(dir_);
  std::string output;
  EXPECT_EQ(verify(output).code(), StatusCode::kNotFound);
  EXPECT_EQ(dump(output).code(), StatusCode::kNotFound);
}

// A segment emptied (or a creation cut short) leaves a log of this format without its LOG-INFO:
// the read-only view vouches for nothing before it was read, as the TM's open would, so that
// `list` and `run --dry-run` never plan a presumed abort that `run` would refuse.
TEST_F(LogDumpTest, ASnapshotOfALogWithoutItsBirthVouchesForNothingBeforeNow) {
  write_log();
  std::filesystem::resize_file(segment_, 0);
  const auto before = std::chrono::system_clock::now();
  Result<LogSnapshot> snapshot = xatm::open_log_snapshot(dir_, "node-a");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().to_string();
  EXPECT_GE(snapshot->log->birth(), before);
  EXPECT_TRUE(snapshot->log->open_decisions().empty());
}

}  // namespace
}  // namespace xatm::internal
