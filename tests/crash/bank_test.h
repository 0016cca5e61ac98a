// What the crash-label tests share: the servers of scripts/test-servers.sh as ServerSettings, and
// a fixture that opens the bank and resets its accounts before each test.
#ifndef XATM_TESTS_CRASH_BANK_TEST_H_
#define XATM_TESTS_CRASH_BANK_TEST_H_

#include <gtest/gtest.h>

#include <memory>

#include "bank.h"
#include "driver_under_test.h"

namespace xatm::crash {

inline ServerSettings test_servers() {
  using testing::test_setting;
  return {test_setting("MYSQL_SOCKET"), test_setting("MYSQL_USER"), test_setting("MYSQL_PASSWORD"),
          test_setting("MYSQL_DATABASE"), test_setting("PG_CONNINFO")};
}

// A derived SetUp() calls BankTest::SetUp() first and returns if HasFatalFailure().
class BankTest : public ::testing::Test {
 protected:
  void SetUp() override {
    servers_ = test_servers();
    Result<std::unique_ptr<Bank>> bank = Bank::open(servers_);
    ASSERT_TRUE(bank.ok()) << bank.status().to_string();
    bank_ = std::move(*bank);
    ASSERT_TRUE(bank_->reset().ok());
  }

  ServerSettings servers_;
  std::unique_ptr<Bank> bank_;
};

}  // namespace xatm::crash

#endif  // XATM_TESTS_CRASH_BANK_TEST_H_
