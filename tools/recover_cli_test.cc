// xatm-recover's command line: subcommands, exit codes, where output goes.
#include "recover_cli.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "testing/log/log_test_util.h"
#include "xatm/decision_log.h"

namespace xatm::tools {
namespace {

using internal::testing::read_bytes;
using internal::testing::TempDir;
using internal::testing::test_commit;
using internal::testing::write_bytes;

struct CliRun {
  int exit_code;
  std::string out;
  std::string err;
};

CliRun run(std::initializer_list<std::string> args) {
  std::vector<const char*> argv{"xatm-recover"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out;
  std::ostringstream err;
  int exit_code = run_recover_cli(static_cast<int>(argv.size()), argv.data(), out, err);
  return {exit_code, out.str(), err.str()};
}

class RecoverCliTest : public ::testing::Test {
 protected:
  void write_log() {
    auto log = xatm::open_file_log({.dir = dir_, .create_if_missing = true, .node_name = "node-a"}).value();
    ASSERT_TRUE(log->log_commit(test_commit(1)).ok());
    ASSERT_TRUE(log->log_commit(test_commit(2)).ok());
  }

  TempDir tmp_;
  std::string dir_ = tmp_.path() + "/log";
};

TEST(RecoverCliVersionTest, VersionPrintsTheProjectVersion) {
  CliRun result = run({"--version"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, std::string("xatm-recover ") + XATM_VERSION + "\n");
}

TEST_F(RecoverCliTest, VerifyOfACleanLogExitsZero) {
  write_log();
  CliRun result = run({"log", "verify", dir_});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_NE(result.out.find("verify: OK"), std::string::npos) << result.out;
  EXPECT_EQ(result.err, "");
}

TEST_F(RecoverCliTest, DumpPrintsTheRecords) {
  write_log();
  CliRun result = run({"log", "dump", dir_});
  EXPECT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_NE(result.out.find("000000000001.xlog@64 LOG-INFO "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("000000000001.xlog@89 COMMIT "), std::string::npos) << result.out;
}

TEST_F(RecoverCliTest, DamageExitsFiveAndNamesFileAndOffset) {
  write_log();
  std::string segment = dir_ + "/000000000001.xlog";
  std::string bytes = read_bytes(segment);
  bytes[80] = static_cast<char>(bytes[80] ^ 4);  // the first record: a valid one follows
  write_bytes(segment, bytes);
  for (const char* command : {"verify", "dump"}) {
    CliRun result = run({"log", command, dir_});
    EXPECT_EQ(result.exit_code, kExitDamaged) << command;
    EXPECT_NE(result.err.find(segment + " is damaged at offset 64"), std::string::npos)
        << result.err;
  }
}

TEST_F(RecoverCliTest, UsageErrorsExitTwo) {
  std::filesystem::create_directories(dir_);  // no segment in it: not a log directory
  for (auto args : {std::initializer_list<std::string>{},
                    {"log"},
                    {"log", "verify"},
                    {"log", "frobnicate", dir_},
                    {"log", "verify", dir_, "extra"},
                    {"nosuchcommand"}}) {
    CliRun result = run(args);
    EXPECT_EQ(result.exit_code, kExitUsage) << result.out << result.err;
    EXPECT_NE(result.err, "");
  }
}

// A password typed in the wrong place must not end up in a terminal log or a CI transcript:
// no message of a usage error quotes an argument's value.
TEST_F(RecoverCliTest, UsageErrorsNeverEchoAValue) {
  const std::string secret = "s3cr/et@pa:ss?#'\" %x";
  for (auto args : {std::initializer_list<std::string>{"log", "verify", dir_, secret},
                    {secret},
                    {"list", "--config", dir_ + "/c.json", secret},
                    {"list", "--config", dir_ + "/c.json", "--grace-seconds", secret},
                    {"run", "--config", dir_ + "/c.json", "--dry-run=" + secret},
                    {"commit", "--config", dir_ + "/c.json", "1:ab:", "--yes", secret}}) {
    CliRun result = run(args);
    EXPECT_EQ(result.exit_code, kExitUsage) << result.err;
    EXPECT_NE(result.err, "");
    EXPECT_EQ(result.err.find("s3cr"), std::string::npos) << result.err;
    EXPECT_EQ(result.out.find("s3cr"), std::string::npos) << result.out;
  }
}

// Not a usage error: the command was right, what it names is not there (docs/recovery.md).
TEST_F(RecoverCliTest, DirectoryWithoutALogExitsThree) {
  std::filesystem::create_directories(dir_);  // no segment in it: not a log directory
  for (const std::string& dir : {tmp_.path() + "/missing", dir_}) {
    CliRun result = run({"log", "verify", dir});
    EXPECT_EQ(result.exit_code, kExitNotFound) << result.out << result.err;
    EXPECT_NE(result.err, "");
  }
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/missing"));
}

TEST_F(RecoverCliTest, HelpExitsZero) {
  CliRun result = run({"--help"});
  EXPECT_EQ(result.exit_code, kExitOk);
  EXPECT_NE(result.out.find("log"), std::string::npos) << result.out;
  result = run({"log", "verify", "--help"});
  EXPECT_EQ(result.exit_code, kExitOk);
  EXPECT_NE(result.out.find("DIR"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace xatm::tools
