// The fixture of the conformance suite: a resource of the driver under test, a table of
// balances, and unique XIDs per test.
#ifndef XATM_TESTS_INTEGRATION_COMMON_CONFORMANCE_FIXTURE_H_
#define XATM_TESTS_INTEGRATION_COMMON_CONFORMANCE_FIXTURE_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "driver_under_test.h"
#include "xatm/driver/resource.h"
#include "xatm/xid.h"

namespace xatm::testing {

class ConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    table_ = "conformance_" + std::to_string(counter_++);
    ASSERT_TRUE(driver().reset_table(table_, 4).ok());
    resource_ = driver().make_resource("conformance");
  }

  static DriverUnderTest& driver() { return driver_under_test(); }

  std::unique_ptr<XaConnection> connect() {
    Result<std::unique_ptr<XaConnection>> session = resource_->connect();
    EXPECT_TRUE(session.ok()) << session.status().to_string();
    return session.ok() ? std::move(*session) : nullptr;
  }

  // Connects, retrying while a restarted server comes back.
  std::unique_ptr<XaConnection> connect_patiently() {
    for (int attempt = 0; attempt < 100; ++attempt) {
      Result<std::unique_ptr<XaConnection>> session = resource_->connect();
      if (session.ok()) return std::move(*session);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return connect();
  }

  // A fresh XID of xatm's format, unique across runs.
  static Xid new_xid(std::uint16_t branch = 0) {
    static std::atomic<std::uint64_t> sequence{static_cast<std::uint64_t>(
        std::chrono::system_clock::now().time_since_epoch().count())};
    auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
    return make_global_xid({"conformance", now, std::chrono::seconds(60), ++sequence})
        ->branch(branch);
  }

  std::string add_one(int id) const {
    return "UPDATE " + table_ + " SET balance = balance + 1 WHERE id = " + std::to_string(id);
  }
  std::int64_t balance(int id) {
    Result<std::int64_t> value =
        driver().query_int("SELECT balance FROM " + table_ + " WHERE id = " + std::to_string(id));
    EXPECT_TRUE(value.ok()) << value.status().to_string();
    return value.ok() ? *value : -1;
  }
  bool is_prepared(const Xid& xid) {
    Result<std::vector<Xid>> xids = driver().prepared_xids();
    EXPECT_TRUE(xids.ok()) << xids.status().to_string();
    return xids.ok() && std::find(xids->begin(), xids->end(), xid) != xids->end();
  }

  // Starts `xid` on `session`, adds one to row `id`, ends and prepares it.
  void prepare_update(XaConnection& session, const Xid& xid, int id) {
    ASSERT_EQ(session.start(xid).code, XA_OK);
    ASSERT_TRUE(driver().execute(session, add_one(id)).ok());
    ASSERT_EQ(session.end(xid).code, XA_OK);
    XaReply vote = session.prepare(xid);
    ASSERT_EQ(vote.code, XA_OK) << vote.detail;
  }

  std::string table_;
  std::unique_ptr<Resource> resource_;
  static inline int counter_ = 0;
};

}  // namespace xatm::testing

#endif  // XATM_TESTS_INTEGRATION_COMMON_CONFORMANCE_FIXTURE_H_
