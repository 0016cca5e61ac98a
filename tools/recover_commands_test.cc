// xatm-recover's recovery subcommands without a database: configuration errors, confirmation,
// and the log lock. (With real servers they run in tests/crash.)
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "recover_cli.h"
#include "tool_config.h"
#include "xatm/decision_log.h"

namespace xatm::tools {
namespace {

class RecoverCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "xatm-tool-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    config_ = dir_ + "/node.json";
    std::ofstream(config_) << R"({"node_name": "tool-node", "log_dir": ")" << dir_ << R"(/log",
      "data_sources": [{"name": "inventory", "driver": "mysql", "unix_socket": ")" << dir_
                           << R"(/no.sock", "user": "app", "password_env": "XATM_TOOL_TEST_SECRET"}]})";
    setenv("XATM_TOOL_TEST_SECRET", "s3cret-value", 1);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  int run(std::vector<std::string> args) {
    args.insert(args.begin(), "xatm-recover");
    std::vector<const char*> argv;
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    out_.str("");
    err_.str("");
    return run_recover_cli(static_cast<int>(argv.size()), argv.data(), out_, err_);
  }

  std::string dir_, config_;
  std::ostringstream out_, err_;
};

TEST_F(RecoverCommandsTest, UnknownConfigKeyIsRefusedWithItsPath) {
  Result<ToolConfig> config = parse_tool_config(
      R"({"node_name": "n", "log_dir": "/x", "data_sources": [{"name": "a", "drivr": "mysql"}]})");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("data_sources[0]"), std::string::npos)
      << config.status().message();
  Result<ToolConfig> extra = parse_tool_config(
      R"({"node_name": "n", "log_dir": "/x", "data_sources": [{"name": "a", "driver": "mysql", "user": "u", "colour": 1}]})");
  ASSERT_FALSE(extra.ok());
  EXPECT_NE(extra.status().message().find("data_sources[0]: unknown key 'colour'"), std::string::npos)
      << extra.status().message();
}

// JSON keeps the last of a key given twice; the config must not silently mean one of two things.
TEST_F(RecoverCommandsTest, AKeyGivenTwiceIsRefusedByName) {
  for (const std::string& text :
       {std::string(R"({"node_name": "n", "log_dir": "/x", "log_dir": "/y", "data_sources": []})"),
        std::string(R"({"node_name": "n", "log_dir": "/x", "data_sources": [{"name": "a", "driver": "mysql", "user": "u", "user": "v"}]})")}) {
    Result<ToolConfig> config = parse_tool_config(text);
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(config.status().message().find("is given twice"), std::string::npos) << config.status().message();
  }
  // The same key in two objects is not a repetition.
  Result<ToolConfig> two = parse_tool_config(
      R"({"node_name": "n", "log_dir": "/x", "data_sources": [{"name": "a", "driver": "mysql", "user": "u", "password_env": "XATM_TOOL_TEST_SECRET", "unix_socket": "/s"}, {"name": "b", "driver": "mysql", "user": "u", "password_env": "XATM_TOOL_TEST_SECRET", "unix_socket": "/s"}]})");
  EXPECT_TRUE(two.ok()) << two.status().message();
}

// A password file that is a directory or empty would give an empty password (and a confusing
// "Access denied" later): refused, naming the key.
TEST_F(RecoverCommandsTest, APasswordFileThatHoldsNoLineIsRefused) {
  const std::string empty = dir_ + "/empty-password";
  std::ofstream(empty).close();
  for (const std::string& file : {dir_, empty}) {
    Result<ToolConfig> config = parse_tool_config(
        R"({"node_name": "n", "log_dir": "/x", "data_sources": [{"name": "a", "driver": "mysql", "user": "u", "unix_socket": "/s", "password_file": ")" +
        file + R"("}]})");
    ASSERT_FALSE(config.ok()) << file;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(config.status().message().find("data_sources[0].password_file: cannot read a line"), std::string::npos)
        << config.status().message();
  }
}

// A port outside 1..65535 is refused by name, never wrapped into another port (70000 used to
// become PostgreSQL port 4464; MariaDB took 99999).
TEST_F(RecoverCommandsTest, PortsAndTimeoutsOutOfRangeAreRefusedByName) {
  const std::string out_of_range = "data_sources[0]: 'port' must be a whole number from 1 to 65535";
  const std::string not_a_number = "data_sources[0].port: expected a string or an integer";
  for (const auto& [source, expected] : std::vector<std::pair<std::string, std::string>>{
           {R"({"name": "a", "driver": "postgresql", "port": 70000})", out_of_range},
           {R"({"name": "a", "driver": "postgresql", "port": 0})", out_of_range},
           {R"({"name": "a", "driver": "mysql", "user": "u", "port": 99999})", out_of_range},
           {R"({"name": "a", "driver": "mysql", "user": "u", "port": -1})", out_of_range},
           {R"({"name": "a", "driver": "mysql", "user": "u", "port": 18446744073709551615})",
            out_of_range},
           {R"({"name": "a", "driver": "mysql", "user": "u", "port": "3306x"})", out_of_range},
           {R"({"name": "a", "driver": "mysql", "user": "u", "port": 3306.5})", not_a_number}}) {
    Result<ToolConfig> config = parse_tool_config(
        R"({"node_name": "n", "log_dir": "/x", "data_sources": [)" + source + "]}");
    ASSERT_FALSE(config.ok()) << source;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(config.status().message().find(expected), std::string::npos)
        << config.status().message();
    for (const char* value : {"70000", "99999", "-1", "18446744073709551615", "3306"}) {
      EXPECT_EQ(config.status().message().find(value), std::string::npos)
          << config.status().message();
    }
  }
  Result<ToolConfig> timeout = parse_tool_config(
      R"({"node_name": "n", "log_dir": "/x", "data_sources": [{"name": "a", "driver": "mysql",
          "user": "u", "write_timeout_s": 0}]})");
  ASSERT_FALSE(timeout.ok());
  // write_timeout_s is the driver's write_timeout, spelled as the config file always has.
  EXPECT_NE(timeout.status().message().find(
                "data_sources[0]: 'write_timeout' must be a whole number from 1 to 86400"),
            std::string::npos)
      << timeout.status().message();
  Result<ToolConfig> valid = parse_tool_config(
      R"({"node_name": "n", "log_dir": "/x", "data_sources": [{"name": "a", "driver": "postgresql",
          "port": 65535}, {"name": "b", "driver": "mysql", "user": "u", "port": 1, "write_timeout_s": 7}]})");
  EXPECT_TRUE(valid.ok()) << valid.status().message();
}

// A data source is its driver's settings (data_source_from_settings): every key the driver
// knows is a key of the file, and only those.
TEST_F(RecoverCommandsTest, DataSourceKeysAreTheDriversSettings) {
  auto parse = [](const std::string& source) {
    return parse_tool_config(R"({"node_name": "n", "log_dir": "/x", "data_sources": [)" + source +
                             "]}");
  };
  Result<ToolConfig> mysql = parse(
      R"({"name": "a", "driver": "mysql", "host": "db1", "port": "3307", "unix_socket": "",
          "user": "u", "password_env": "XATM_TOOL_TEST_SECRET", "database": "d",
          "connect_timeout": 2, "read_timeout_s": 3, "write_timeout_s": 4})");
  EXPECT_TRUE(mysql.ok()) << mysql.status().message();
  Result<ToolConfig> postgresql = parse(
      R"({"name": "b", "driver": "postgresql", "conninfo": "sslmode=disable", "host": "/run/pg",
          "port": 5433, "user": "u", "password_env": "XATM_TOOL_TEST_SECRET", "dbname": "d",
          "connect_timeout_s": 9})");
  EXPECT_TRUE(postgresql.ok()) << postgresql.status().message();

  auto refused = [&parse](const std::string& source, const std::string& expected) {
    Result<ToolConfig> config = parse(source);
    ASSERT_FALSE(config.ok()) << source;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(config.status().message().find(expected), std::string::npos)
        << config.status().message();
    EXPECT_EQ(config.status().message().find("s3cret"), std::string::npos)
        << config.status().message();
  };
  refused(R"({"name": "a", "driver": "mysql", "prot": 3306})",
          "config.data_sources[0]: unknown key 'prot' (known: name, host, port,");
  refused(R"({"name": "a", "driver": "postgresql", "database": "d"})",
          "config.data_sources[0]: unknown key 'database' (known: name, conninfo,");
  refused(R"({"name": "a", "driver": "mysql", "connect_timeout": 2, "connect_timeout_s": 2})",
          "config.data_sources[0]: key 'connect_timeout' (or connect_timeout_s) is given twice");
  refused(R"({"name": "a", "driver": "mysql", "password": "s3cret"})",
          "config.data_sources[0].password: a password is never written in the config file: use "
          "password_file or password_env");
  refused(R"({"name": "a", "driver": "postgresql", "user": ["s3cret"]})",
          "config.data_sources[0].user: expected a string or an integer");
  refused(R"({"name": "a", "driver": "postgresql", "port": true})",
          "config.data_sources[0].port: expected a string or an integer");
  refused(R"({"driver": "postgresql", "dbname": "d"})",
          "config.data_sources[0]: key 'name' is missing or empty");
  refused(R"({"name": "a", "driver": "postgresql", "conninfo": "colour=blue password=s3cret"})",
          "config.data_sources[0]: data source 'a': invalid conninfo");
}

TEST_F(RecoverCommandsTest, XaSwitchDataSourcesAreLoadedOrRefusedByName) {
  Result<ToolConfig> missing = parse_tool_config(
      R"({"node_name": "n", "log_dir": "/x", "data_sources": [{"name": "ledger",
          "driver": "xa_switch", "library": "/nonexistent/libledger.so", "symbol": "ledger_xa"}]})");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("data_sources[0].library"), std::string::npos);
  EXPECT_NE(missing.status().message().find("/nonexistent/libledger.so"), std::string::npos);

  unsetenv("XATM_TOOL_TEST_INFO");
  Result<ToolConfig> unset = parse_tool_config(
      R"({"node_name": "n", "log_dir": "/x", "data_sources": [{"name": "ledger",
          "driver": "xa_switch", "library": "libc.so.6", "symbol": "s",
          "open_info_env": "XATM_TOOL_TEST_INFO"}]})");
  ASSERT_FALSE(unset.ok());
  EXPECT_NE(unset.status().message().find(
                "data_sources[0].open_info_env: XATM_TOOL_TEST_INFO is not set"),
            std::string::npos)
      << unset.status().message();

  // No "library": looked up in the program (here a symbol of libc it links, which is no
  // switch); an empty one is refused as a likely mistake.
  Result<ToolConfig> in_program = parse_tool_config(
      R"({"node_name": "n", "log_dir": "/x", "data_sources": [{"name": "ledger",
          "driver": "xa_switch", "symbol": "no_such_xa_switch"}]})");
  ASSERT_FALSE(in_program.ok());
  EXPECT_NE(in_program.status().message().find("the program has no XA switch symbol"),
            std::string::npos)
      << in_program.status().message();
  Result<ToolConfig> empty = parse_tool_config(
      R"({"node_name": "n", "log_dir": "/x", "data_sources": [{"name": "ledger",
          "driver": "xa_switch", "library": "", "symbol": "s"}]})");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("data_sources[0].library: empty"), std::string::npos)
      << empty.status().message();

#ifdef XATM_TEST_SWITCH_MODULE
  setenv("XATM_TOOL_TEST_INFO", "name=billing dbname=x password='s3cret'", 1);
  Result<ToolConfig> loaded = parse_tool_config(
      R"({"node_name": "n", "log_dir": "/x", "data_sources": [{"name": "billing",
          "driver": "xa_switch", "library": ")" XATM_TEST_SWITCH_MODULE R"(",
          "symbol": "xatm_postgresql_xa_switch", "open_info_env": "XATM_TOOL_TEST_INFO"}]})");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  ASSERT_EQ(loaded->data_sources.size(), 1U);
  EXPECT_EQ(loaded->data_sources[0]->name(), "billing");
#endif
}

TEST_F(RecoverCommandsTest, DefaultTimeoutIsReadInWholeSecondsWithinWhatAnXidCarries) {
  const std::string head = R"({"node_name": "n", "log_dir": "/x", "data_sources": [{"name": "pg",
      "driver": "postgresql", "conninfo": "dbname=x"}])";
  Result<ToolConfig> absent = parse_tool_config(head + "}");
  ASSERT_TRUE(absent.ok()) << absent.status().to_string();
  EXPECT_FALSE(absent->default_timeout.has_value());
  Result<ToolConfig> given = parse_tool_config(head + R"(, "default_timeout_s": 90})");
  ASSERT_TRUE(given.ok()) << given.status().to_string();
  EXPECT_EQ(given->default_timeout, std::chrono::milliseconds(90'000));
  for (const char* bad : {"0", "4294968", "1.5", "\"60\""}) {
    Result<ToolConfig> refused =
        parse_tool_config(head + R"(, "default_timeout_s": )" + bad + "}");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("config.default_timeout_s"), std::string::npos)
        << refused.status().message();
  }
}

TEST_F(RecoverCommandsTest, MissingPasswordVariableIsNamedAndNoSecretIsPrinted) {
  unsetenv("XATM_TOOL_TEST_SECRET");
  EXPECT_EQ(run({"list", "--config", config_}), kExitUsage);
  EXPECT_NE(err_.str().find("XATM_TOOL_TEST_SECRET is not set"), std::string::npos) << err_.str();
  setenv("XATM_TOOL_TEST_SECRET", "s3cret-value", 1);
  run({"list", "--config", config_});
  EXPECT_EQ((out_.str() + err_.str()).find("s3cret-value"), std::string::npos);
}

TEST_F(RecoverCommandsTest, OperatorDecisionsNeedConfirmation) {
  EXPECT_EQ(run({"commit", "--config", config_, "2019652717:0a0b:"}), kExitUsage);
  EXPECT_NE(err_.str().find("--yes"), std::string::npos) << err_.str();
}

TEST_F(RecoverCommandsTest, MalformedXidIsAUsageErrorNamingIt) {
  EXPECT_EQ(run({"rollback", "--config", config_, "--yes", "12:xyz:"}), kExitUsage);
  EXPECT_NE(err_.str().find("xyz"), std::string::npos) << err_.str();
}

TEST_F(RecoverCommandsTest, RefusesWhileALiveManagerHoldsTheLog) {
  Result<std::unique_ptr<DecisionLog>> live = open_file_log({.dir = dir_ + "/log", .create_if_missing = true, .node_name = "tool-node"});
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(run({"run", "--config", config_}), kExitRefused);
  EXPECT_NE(err_.str().find("--force"), std::string::npos) << err_.str();
}

TEST_F(RecoverCommandsTest, ForceReadsTheLogBesideALiveManager) {
  Result<std::unique_ptr<DecisionLog>> live = open_file_log({.dir = dir_ + "/log", .create_if_missing = true, .node_name = "tool-node"});
  ASSERT_TRUE(live.ok());
  // The data source cannot be reached (no socket): reported, exit 1, but the log was read.
  EXPECT_EQ(run({"run", "--config", config_, "--force"}), kExitProblem);
  EXPECT_NE(err_.str().find("warning: a live transaction manager"), std::string::npos) << err_.str();
  EXPECT_NE(out_.str().find("problem: data source 'inventory'"), std::string::npos) << out_.str();
  // list only reads, with or without a live TM.
  EXPECT_EQ(run({"list", "--config", config_}), kExitProblem);
  EXPECT_NE(out_.str().find("problem: data source 'inventory'"), std::string::npos) << out_.str();
}

// A mistyped log_dir once made `list` create a new, empty log, in which `run` then found no
// decision and rolled committed work back.
TEST_F(RecoverCommandsTest, MissingLogDirectoryIsNeverCreated) {
  for (const char* command : {"list", "run"}) {
    EXPECT_EQ(run({command, "--config", config_}), kExitNotFound) << command;
    EXPECT_NE(err_.str().find("holds no decision log"), std::string::npos) << err_.str();
    EXPECT_NE(err_.str().find("log_dir"), std::string::npos) << err_.str();
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/log")) << command << " created the log";
  }
  EXPECT_EQ(run({"run", "--config", config_, "--dry-run"}), kExitNotFound);
  EXPECT_EQ(run({"rollback", "--config", config_, "--yes", "2019652717:0a0b:"}), kExitNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/log"));
  // Only when the operator says so.
  run({"run", "--config", config_, "--create-log"});
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/log/000000000001.xlog")) << err_.str();
}

TEST_F(RecoverCommandsTest, NegativeOrAbsurdGraceIsAUsageError) {
  for (const char* grace : {"-5", "0", "99999999999999"}) {
    EXPECT_EQ(run({"run", "--config", config_, "--force", "--grace-seconds", grace}), kExitUsage) << grace;
    EXPECT_NE(err_.str().find("--grace-seconds"), std::string::npos) << err_.str();
  }
}

TEST_F(RecoverCommandsTest, ForgetOfAnXidWithoutAHeuristicOutcomeExitsThree) {
  ASSERT_TRUE(open_file_log({.dir = dir_ + "/log", .create_if_missing = true, .node_name = "tool-node"}).ok());
  EXPECT_EQ(run({"forget", "--config", config_, "--yes", "2019652717:0a0b:"}), kExitNotFound);
  EXPECT_NE(err_.str().find("no open heuristic outcome"), std::string::npos) << err_.str();
}

TEST_F(RecoverCommandsTest, DryRunExitsAsRunWouldWhenSomethingIsInDoubt) {
  ASSERT_TRUE(open_file_log({.dir = dir_ + "/log", .create_if_missing = true, .node_name = "tool-node"}).ok());
  // The data source cannot be reached: run would exit 1, so the dry run does too.
  EXPECT_EQ(run({"run", "--config", config_, "--dry-run"}), kExitProblem);
  EXPECT_NE(out_.str().find("dry run"), std::string::npos) << out_.str();
}

// The decision log is a file log (log_dir) or a database log (log), exactly one of them; the
// database log's keys are a postgresql data source's settings plus backend and table.
TEST_F(RecoverCommandsTest, TheLogIsADirectoryOrADatabaseOneOfThem) {
  const std::string sources = R"("data_sources": [{"name": "a", "driver": "postgresql"}])";
  Result<ToolConfig> both = parse_tool_config(
      R"({"node_name": "n", "log_dir": "/x", "log": {"backend": "postgresql"}, )" + sources + "}");
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("log_dir"), std::string::npos) << both.status().message();
  Result<ToolConfig> neither = parse_tool_config(R"({"node_name": "n", )" + sources + "}");
  EXPECT_FALSE(neither.ok());
  Result<ToolConfig> database = parse_tool_config(
      R"({"node_name": "n", "log": {"backend": "postgresql", "table": "orders_log",
          "conninfo": "host=/run/pg dbname=xatm", "password_env": "XATM_TOOL_TEST_SECRET"}, )" +
      sources + "}");
  ASSERT_TRUE(database.ok()) << database.status().message();
  EXPECT_TRUE(database->log_dir.empty());
  ASSERT_TRUE(database->database_log.has_value());
  EXPECT_NE(database->database_log->description.find("orders_log"), std::string::npos);
  Result<ToolConfig> backend = parse_tool_config(
      R"({"node_name": "n", "log": {"backend": "oracle"}, )" + sources + "}");
  ASSERT_FALSE(backend.ok());
  EXPECT_NE(backend.status().message().find("config.log.backend: unknown backend 'oracle'"),
            std::string::npos)
      << backend.status().message();
  Result<ToolConfig> key = parse_tool_config(
      R"({"node_name": "n", "log": {"backend": "postgresql", "colour": "red"}, )" + sources + "}");
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find("config.log: unknown key 'colour'"), std::string::npos)
      << key.status().message();
  Result<ToolConfig> table = parse_tool_config(
      R"({"node_name": "n", "log": {"backend": "postgresql", "table": "bad-name"}, )" + sources + "}");
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.status().message().find("bad-name"), std::string::npos) << table.status().message();
  Result<ToolConfig> secret = parse_tool_config(
      R"({"node_name": "n", "log": {"backend": "postgresql", "password": "hunter2"}, )" + sources + "}");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().message().find("hunter2"), std::string::npos) << secret.status().message();
}

TEST_F(RecoverCommandsTest, TakeOverNeedsADatabaseLogAndNodeIsChecked) {
  EXPECT_EQ(run({"run", "--config", config_, "--take-over"}), 2);
  EXPECT_NE(err_.str().find("--take-over needs a database log"), std::string::npos) << err_.str();
  EXPECT_EQ(run({"run", "--config", config_, "--node", "bad node!"}), 2);
  EXPECT_NE(err_.str().find("--node"), std::string::npos) << err_.str();
}

}  // namespace
}  // namespace xatm::tools
