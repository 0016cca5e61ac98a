// adopt_xa_switch (xatm/xa_switch.h): any xa_switch_t as a data source. The switch under test is
// a FakeResource exported through SwitchExport (fake_switch.h); some tests wrap its entry points
// to watch what the adapter passes.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "fake_switch.h"
#include "recording_log.h"
#include "xatm/transaction_manager.h"
#include "xatm/xa_switch.h"

namespace xatm::testing {
namespace {

using fake::FakeResource;
using fake::Step;
using fake::Verb;
using Verbs = std::vector<std::string>;

// What the wrapped entry points saw (one test at a time uses them).
struct Watched {
  std::mutex mutex;
  std::vector<long> recover_flags;
  std::vector<long> recover_counts;
  int opens = 0;
  int closes = 0;
  std::set<int> rmids;
};
Watched& watched() {
  static Watched instance;
  return instance;
}

// fake_xa_switch() with xa_recover answering as LIXA's MariaDB and PostgreSQL switches do: a
// TMSTARTRSCAN call lists the first `count` prepared XIDs, any other call none.
const xa_switch_t& one_scan_switch() {
  static const xa_switch_t xa_switch = [] {
    xa_switch_t copy = fake_xa_switch();
    copy.xa_recover_entry = [](XID* xids, long count, int rmid, long flags) {
      {
        std::lock_guard lock(watched().mutex);
        watched().recover_flags.push_back(flags);
        watched().recover_counts.push_back(count);
      }
      if ((flags & TMSTARTRSCAN) == 0) return 0;
      std::vector<XID> all(4096);
      const int listed = fake_xa_switch().xa_recover_entry(all.data(), 4096, rmid, TMSTARTRSCAN);
      if (listed < 0) return listed;
      const int returned = std::min(listed, static_cast<int>(count));
      std::copy_n(all.begin(), returned, xids);
      return returned;
    };
    return copy;
  }();
  return xa_switch;
}

// fake_xa_switch() with xa_open, xa_close and xa_recover wrapped to record their arguments.
const xa_switch_t& watched_switch() {
  static const xa_switch_t xa_switch = [] {
    xa_switch_t copy = fake_xa_switch();
    copy.xa_open_entry = [](char* info, int rmid, long flags) {
      {
        std::lock_guard lock(watched().mutex);
        ++watched().opens;
        watched().rmids.insert(rmid);
      }
      return fake_xa_switch().xa_open_entry(info, rmid, flags);
    };
    copy.xa_close_entry = [](char* info, int rmid, long flags) {
      {
        std::lock_guard lock(watched().mutex);
        ++watched().closes;
      }
      return fake_xa_switch().xa_close_entry(info, rmid, flags);
    };
    copy.xa_recover_entry = [](XID* xids, long count, int rmid, long flags) {
      {
        std::lock_guard lock(watched().mutex);
        watched().recover_flags.push_back(flags);
        watched().recover_counts.push_back(count);
      }
      return fake_xa_switch().xa_recover_entry(xids, count, rmid, flags);
    };
    return copy;
  }();
  return xa_switch;
}

Xid test_xid(std::uint16_t n) {
  const std::uint8_t gtrid[] = {'a', static_cast<std::uint8_t>(n >> 8),
                                static_cast<std::uint8_t>(n)};
  const std::uint8_t bqual[] = {0, 0};
  return *Xid::make(kXatmFormatId, gtrid, bqual);
}

class XaSwitchAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    register_fake_rm(a_);
    register_fake_rm(b_);
    std::lock_guard lock(watched().mutex);
    watched().recover_flags.clear();
    watched().recover_counts.clear();
    watched().opens = watched().closes = 0;
    watched().rmids.clear();
  }

  static std::unique_ptr<Resource> adopt(const std::string& name, const std::string& rm,
                                         long recover_batch = 64) {
    Result<std::unique_ptr<Resource>> resource = adopt_xa_switch(
        {.name = name, .xa_switch = &watched_switch(), .open_info = "rm=" + rm,
         .recover_batch = recover_batch});
    EXPECT_TRUE(resource.ok()) << resource.status().to_string();
    return resource.ok() ? std::move(*resource) : nullptr;
  }

  // Leaves test_xid(first) .. test_xid(last - 1) prepared on fake RM a; their XIDs, sorted.
  std::vector<Xid> prepare_on_a(std::uint16_t first, std::uint16_t last) {
    std::vector<Xid> prepared;
    for (std::uint16_t n = first; n < last; ++n) {
      prepared.push_back(test_xid(n));
      a_->prepare_detached(prepared.back());
    }
    std::sort(prepared.begin(), prepared.end());
    return prepared;
  }

  // recover() on `session`, sorted; a failure fails the test.
  static std::vector<Xid> recovered_by(XaConnection& session) {
    XaConnection::Recovered recovered = session.recover();
    EXPECT_TRUE(recovered.reply.ok()) << recovered.reply.detail;
    std::sort(recovered.xids.begin(), recovered.xids.end());
    return recovered.xids;
  }

  static std::unique_ptr<XaConnection> open_session(Resource& resource) {
    Result<std::unique_ptr<XaConnection>> session = resource.connect();
    EXPECT_TRUE(session.ok()) << session.status().to_string();
    return session.ok() ? std::move(*session) : nullptr;
  }

  std::shared_ptr<FakeResource> a_ = std::make_shared<FakeResource>("switch-a");
  std::shared_ptr<FakeResource> b_ = std::make_shared<FakeResource>("switch-b");
};

TEST_F(XaSwitchAdapterTest, RefusesSwitchesItCannotDrive) {
  auto refused = [](SwitchDataSource config, const std::string& why) {
    Result<std::unique_ptr<Resource>> resource = adopt_xa_switch(std::move(config));
    ASSERT_FALSE(resource.ok()) << why;
    EXPECT_EQ(resource.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(resource.status().message().find(why), std::string::npos)
        << resource.status().to_string();
  };
  xa_switch_t version_one = fake_xa_switch();
  version_one.version = 1;
  xa_switch_t registering = fake_xa_switch();
  registering.flags |= TMREGISTER;
  xa_switch_t no_prepare = fake_xa_switch();
  no_prepare.xa_prepare_entry = nullptr;

  refused({.name = "", .xa_switch = &fake_xa_switch()}, "needs a name");
  refused({.name = "ledger", .xa_switch = nullptr}, "'ledger': xa_switch is null");
  refused({.name = "ledger", .xa_switch = &version_one}, "switch version 1");
  refused({.name = "ledger", .xa_switch = &registering}, "TMREGISTER");
  refused({.name = "ledger", .xa_switch = &no_prepare}, "xa_prepare_entry is null");
  refused({.name = "ledger", .xa_switch = &fake_xa_switch(), .open_info = std::string(256, 'x')},
          "the limit is 255");
  refused({.name = "ledger", .xa_switch = &fake_xa_switch(), .recover_batch = 0},
          "recover_batch");
}

TEST_F(XaSwitchAdapterTest, FailedXaOpenNamesTheDataSourceAndTheCode) {
  std::unique_ptr<Resource> unknown = adopt("ledger", "nobody");
  Result<std::unique_ptr<XaConnection>> session = unknown->connect();
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(session.status().message().find("data source 'ledger' (XA switch 'xatm-fake'"),
            std::string::npos)
      << session.status().to_string();
  EXPECT_NE(session.status().message().find("xa_open returned XAER_INVAL"), std::string::npos);

  a_->script(Verb::kConnect, {.code = XAER_RMFAIL});
  session = adopt("ledger", "switch-a")->connect();
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(watched().closes, 0) << "nothing to close after a failed xa_open";
}

TEST_F(XaSwitchAdapterTest, EverySessionHasItsOwnRmidAndThreadOfControl) {
  std::unique_ptr<Resource> resource = adopt("ledger", "switch-a");
  std::vector<std::thread::id> threads;
  auto record_thread = [&] { threads.push_back(std::this_thread::get_id()); };
  for (Verb verb : {Verb::kStart, Verb::kEnd, Verb::kPrepare, Verb::kCommit}) {
    a_->script(verb, {.action = record_thread});
  }
  {
    std::unique_ptr<XaConnection> first = open_session(*resource);
    std::unique_ptr<XaConnection> second = open_session(*resource);
    const Xid xid = test_xid(1);
    EXPECT_EQ(first->start(xid).code, XA_OK);
    EXPECT_EQ(first->end(xid).code, XA_OK);
    EXPECT_EQ(first->prepare(xid).code, XA_OK);
    // Phase 2 from another thread, as the coordinator's phase threads do.
    std::thread([&] { EXPECT_EQ(first->commit(xid, false).code, XA_OK); }).join();
    EXPECT_EQ(watched().rmids.size(), 2U);
  }
  ASSERT_EQ(threads.size(), 4U);
  EXPECT_TRUE(std::all_of(threads.begin(), threads.end(),
                          [&](std::thread::id id) { return id == threads.front(); }))
      << "every verb of a session runs on its one thread of control";
  EXPECT_NE(threads.front(), std::this_thread::get_id());
  EXPECT_EQ(watched().opens, 2);
  EXPECT_EQ(watched().closes, 2) << "destroying a session closes its rmid";
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "prepare", "commit"}));
}

TEST_F(XaSwitchAdapterTest, PassesTheFlagsOfEachVerb) {
  std::unique_ptr<XaConnection> session = open_session(*adopt("ledger", "switch-a"));
  const Xid one = test_xid(2);
  ASSERT_EQ(session->start(one).code, XA_OK);
  ASSERT_EQ(session->end(one).code, XA_OK);
  EXPECT_EQ(session->commit(one, true).code, XA_OK);  // TMONEPHASE
  const Xid two = test_xid(3);
  ASSERT_EQ(session->start(two).code, XA_OK);
  ASSERT_EQ(session->end(two).code, XA_OK);
  EXPECT_EQ(session->rollback(two).code, XA_OK);
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "commit1pc", "start", "end", "rollback"}));
}

TEST_F(XaSwitchAdapterTest, ErrorsCarryTheCodeAndRmfailRetiresTheSession) {
  std::unique_ptr<XaConnection> session = open_session(*adopt("ledger", "switch-a"));
  XaReply unknown = session->commit(test_xid(4), false);
  EXPECT_EQ(unknown.code, XAER_NOTA);
  EXPECT_EQ(unknown.detail, "XA switch 'xatm-fake': xa_commit returned XAER_NOTA");
  EXPECT_TRUE(session->usable());
  a_->script(Verb::kStart, {.code = XAER_RMFAIL});
  EXPECT_EQ(session->start(test_xid(5)).code, XAER_RMFAIL);
  EXPECT_FALSE(session->usable()) << "the pool must discard it";
}

TEST_F(XaSwitchAdapterTest, RecoverScansInBatchesUntilAShortOne) {
  const std::vector<Xid> prepared = prepare_on_a(100, 250);
  std::unique_ptr<XaConnection> session = open_session(*adopt("ledger", "switch-a", 64));
  EXPECT_EQ(recovered_by(*session), prepared);
  EXPECT_EQ(watched().recover_flags, (std::vector<long>{TMSTARTRSCAN, TMNOFLAGS, TMNOFLAGS}));
  EXPECT_EQ(watched().recover_counts, (std::vector<long>{64, 64, 64}));
}

TEST_F(XaSwitchAdapterTest, RecoverFindsEveryXidOfASwitchThatOnlyAnswersTheFirstCall) {
  const std::vector<Xid> prepared = prepare_on_a(300, 450);
  Result<std::unique_ptr<Resource>> resource = adopt_xa_switch(
      {.name = "ledger", .xa_switch = &one_scan_switch(), .open_info = "rm=switch-a", .recover_batch = 64});
  ASSERT_TRUE(resource.ok()) << resource.status().to_string();
  std::unique_ptr<XaConnection> session = open_session(**resource);
  EXPECT_EQ(recovered_by(*session), prepared);
  // The empty continuation after a full batch: new scans with larger buffers until one is short.
  EXPECT_EQ(watched().recover_flags,
            (std::vector<long>{TMSTARTRSCAN, TMNOFLAGS, TMSTARTRSCAN, TMSTARTRSCAN}));
  EXPECT_EQ(watched().recover_counts, (std::vector<long>{64, 64, 128, 256}));
}

TEST_F(XaSwitchAdapterTest, RecoverOfExactlyOneFullBatchChecksOnceWithALargerBuffer) {
  const std::vector<Xid> prepared = prepare_on_a(500, 564);
  std::unique_ptr<XaConnection> session = open_session(*adopt("ledger", "switch-a", 64));
  EXPECT_EQ(recovered_by(*session), prepared);
  EXPECT_EQ(watched().recover_flags, (std::vector<long>{TMSTARTRSCAN, TMNOFLAGS, TMSTARTRSCAN}));
  EXPECT_EQ(watched().recover_counts, (std::vector<long>{64, 64, 128}));
}

// The whole path: a TransactionManager over two adopted switches commits in two phases, the
// application's work runs on each branch's thread of control, and recovery sees through them.
TEST_F(XaSwitchAdapterTest, TransactionManagerCommitsAcrossAdoptedSwitches) {
  Options options;
  options.node_name = "switch-node";
  options.recovery_interval = std::chrono::milliseconds::zero();
  auto log = std::make_unique<RecordingLog>();
  RecordingLog* events = log.get();
  TransactionManager tm(options, std::move(log));
  ASSERT_TRUE(tm.add(adopt("ledger", "switch-a")).ok());
  ASSERT_TRUE(tm.add(adopt("audit", "switch-b")).ok());
  auto plain = std::make_shared<FakeResource>("plain");
  ASSERT_TRUE(tm.add(plain->make_handle()).ok());
  ASSERT_TRUE(tm.start().ok());
  for (const auto& rm : {a_, b_, plain}) rm->clear_calls();  // start()'s recovery pass

  Result<Transaction> tx = tm.begin();
  ASSERT_TRUE(tx.ok());
  std::set<std::thread::id> work_threads;
  for (const char* source : {"ledger", "audit"}) {
    Status status = run_in_thread_of_control(*tx, source, [&](int rmid) {
      work_threads.insert(std::this_thread::get_id());
      // The RM's per-thread API reaches this branch's session here, and only here.
      EXPECT_NE(fake_switch_state().session(rmid), nullptr);
    });
    EXPECT_TRUE(status.ok()) << status.to_string();
  }
  EXPECT_EQ(work_threads.size(), 2U);
  EXPECT_FALSE(work_threads.contains(std::this_thread::get_id()));

  Status not_a_switch = run_in_thread_of_control(*tx, "plain", [](int) {});
  EXPECT_EQ(not_a_switch.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(not_a_switch.message().find("'plain' was not adopted from an xa_switch_t"),
            std::string::npos);

  Outcome outcome = tx->commit();
  EXPECT_TRUE(outcome.committed()) << outcome.to_string();
  EXPECT_EQ(a_->verbs(), (Verbs{"start", "end", "prepare", "commit"}));
  EXPECT_EQ(b_->verbs(), (Verbs{"start", "end", "prepare", "commit"}));
  EXPECT_EQ(plain->verbs(), (Verbs{"start", "end", "prepare", "commit"}));
  EXPECT_EQ(events->types(), (std::vector<std::string>{"commit", "done"}));

  // A branch that an earlier incarnation of this node left prepared, with no decision logged,
  // is presumed aborted by recovery, which reaches it through the switch.
  const auto an_hour_ago = std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now() - std::chrono::hours(1));
  const Xid orphan =
      make_global_xid({"switch-node", an_hour_ago, std::chrono::seconds(1), 1})->branch(0);
  a_->prepare_detached(orphan);
  Result<RecoveryReport> report = tm.recover();
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_TRUE(a_->prepared().empty());
  EXPECT_TRUE(a_->rolled_back().contains(orphan));
}

TEST_F(XaSwitchAdapterTest, LoadReportsAMissingLibraryOrSymbol) {
  Result<const xa_switch_t*> missing = load_xa_switch("/nonexistent/librm.so", "rm_switch");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'/nonexistent/librm.so'"), std::string::npos);

  Result<const xa_switch_t*> no_symbol = load_xa_switch("libc.so.6", "no_such_xa_switch");
  ASSERT_FALSE(no_symbol.ok());
  EXPECT_EQ(no_symbol.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_symbol.status().message().find("no XA switch symbol 'no_such_xa_switch'"),
            std::string::npos)
      << no_symbol.status().to_string();

  // A symbol that is an object, but too small for an xa_switch_t (a char**).
  Result<const xa_switch_t*> not_a_switch = load_xa_switch("libc.so.6", "environ");
  ASSERT_FALSE(not_a_switch.ok());
  EXPECT_EQ(not_a_switch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(not_a_switch.status().message().find("-byte object, not an xa_switch_t"), std::string::npos)
      << not_a_switch.status().to_string();
}

TEST_F(XaSwitchAdapterTest, LoadWithoutALibraryLooksInTheProgramAndWhatItLinks) {
  // environ is libc's, which the program links: found, and told apart from a switch.
  Result<const xa_switch_t*> linked = load_xa_switch("", "environ");
  ASSERT_FALSE(linked.ok());
  EXPECT_EQ(linked.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(linked.status().message().find("'environ' in the program"), std::string::npos)
      << linked.status().to_string();

  Result<const xa_switch_t*> missing = load_xa_switch("", "no_such_xa_switch");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("the program has no XA switch symbol 'no_such_xa_switch'"),
            std::string::npos)
      << missing.status().to_string();
  EXPECT_NE(missing.status().message().find("-rdynamic"), std::string::npos);
}

}  // namespace
}  // namespace xatm::testing
