// A scripted, in-memory resource manager for tests: needs no database.
//
// A FakeResource simulates an RM's branch table (active, ended, prepared, heuristic) shared by
// all of its sessions, and answers every verb as a well-behaved RM would. A test overrides any
// answer with a Step: a queue per verb, consumed one call at a time across all sessions. Every
// call is recorded with its answer and its start/end times, so tests can assert the exact
// sequence of XA calls and whether phases overlapped.
//
//   auto rm = std::make_shared<xatm::fake::FakeResource>("billing");
//   rm->script(Verb::kPrepare, {.code = XA_RBDEADLOCK});
//   tm.add(rm->make_handle());
//   ...
//   EXPECT_EQ(rm->verbs(), (std::vector<std::string>{"start", "end", "prepare", "rollback"}));
//
// Thread safety: every method may be called from any thread; delays and actions run outside
// the internal lock, so scripted delays of different sessions overlap.
#ifndef XATM_FAKE_FAKE_RESOURCE_H_
#define XATM_FAKE_FAKE_RESOURCE_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "xatm/driver/resource.h"

namespace xatm::fake {

// kEndSession: XaConnection::end_session() of another session (the reaper's).
enum class Verb { kConnect, kStart, kEnd, kPrepare, kCommit, kCommitOnePhase, kRollback, kForget,
                  kRecover, kEndSession };

// "start", "end", "prepare", "commit", "commit1pc", "rollback", "forget", "recover", "connect",
// "end_session".
std::string verb_name(Verb verb);

// A scripted answer for one call.
struct Step {
  // The XA code to answer; nullopt answers what the simulated RM would.
  std::optional<int> code;
  // For a scripted XAER_RMFAIL: whether the verb took effect on the RM before the answer was
  // lost (e.g. the branch did get prepared). The session is lost either way.
  bool applied = false;
  // Slept before answering, outside the lock.
  std::chrono::milliseconds delay{0};
  // Run before answering (e.g. to end the process at this exact call: a crash).
  std::function<void()> action;
};

struct Call {
  Verb verb;
  std::string xid;  // text form; empty for connect and recover
  int code;         // what was answered (for connect: XA_OK or XAER_RMFAIL)
  int session;      // which session (1, 2, ...) of this resource
  std::uint64_t sequence;  // global order of calls across all fakes (next_event_sequence)
  std::chrono::steady_clock::time_point began;
  std::chrono::steady_clock::time_point ended;
};

// A process-wide counter shared by every fake, so tests can order fake calls against other
// events (e.g. decision log appends recorded by a test double).
std::uint64_t next_event_sequence();

class FakeResource : public std::enable_shared_from_this<FakeResource> {
 public:
  explicit FakeResource(std::string name);

  const std::string& name() const { return name_; }

  // A Resource to add() to a TransactionManager; it shares this fake's state, so the test
  // keeps its shared_ptr to script and inspect.
  std::unique_ptr<Resource> make_handle();

  // Queues `step` for the next call of `verb` that has no earlier queued step.
  void script(Verb verb, Step step);
  // The step used for every call of `verb` once its queue is empty (replaces the previous one).
  void script_always(Verb verb, Step step);

  // Every call so far, in order.
  std::vector<Call> calls() const;
  // The verbs of calls() as names, e.g. {"start", "end", "prepare", "commit"}.
  std::vector<std::string> verbs() const;
  // Forgets the calls so far (e.g. those of TransactionManager::start()'s recovery pass).
  void clear_calls();

  // Simulated RM state.
  std::vector<Xid> prepared() const;    // prepared branches (what recover() lists)
  std::set<Xid> committed() const;      // branches committed so far
  std::set<Xid> rolled_back() const;    // branches rolled back so far
  std::set<Xid> heuristic() const;      // heuristically completed, not yet forgotten

  // Leaves `xid` prepared and detached from any session, as a crashed TM would: start, end and
  // prepare on a session that is then closed. Recorded in calls() like any other work.
  void prepare_detached(const Xid& xid);

  // Simulates the RM completing a prepared branch on its own (code: XA_HEURCOM, ...).
  void complete_heuristically(const Xid& xid, int code);

  // Makes recover() list `entry` as a branch its sessions cannot finish (another database of
  // the same server, say: XaConnection::Recovered::unusable).
  void add_unusable(XaConnection::Unusable entry);
  std::vector<XaConnection::Unusable> unusable() const;

  // Makes the sessions opened from now on split prepare and two-phase commit
  // (XaConnection::splits_verbs), as the PostgreSQL driver does. The RM takes the verb at
  // send_*: its step's action runs, its answer is decided and applied, and the call is recorded
  // then, ending when its scripted delay is over; receive_reply() waits for that and answers.
  void split_verbs(bool split);

  // Internal: used by the sessions. With `answer_at`, the verb is split: the delay is not slept
  // but returned there, as the time the answer arrives.
  XaReply call(int session, Verb verb, const Xid* xid,
               std::chrono::steady_clock::time_point* answer_at = nullptr);
  bool splits_verbs() const;
  int open_session();
  void close_session(int session);
  bool session_usable(int session) const;

 private:
  enum class BranchState { kActive, kEnded, kPrepared, kHeuristic };
  struct Branch {
    BranchState state;
    int session;  // the session it is attached to; 0 once detached (prepared, session closed)
  };

  Step next_step(Verb verb);          // REQUIRES: mutex_ held
  int natural_answer(int session, Verb verb, const Xid* xid) const;  // REQUIRES: mutex_ held
  void apply(int session, Verb verb, const Xid* xid, int code);     // REQUIRES: mutex_ held
  void forget_branch(Xid xid, bool committed);  // by value: callers pass map keys. REQUIRES: mutex_ held

  const std::string name_;
  mutable std::mutex mutex_;
  std::map<Verb, std::deque<Step>> queued_;  // guarded by mutex_
  std::map<Verb, Step> always_;              // guarded by mutex_
  std::vector<Call> calls_;                  // guarded by mutex_
  std::map<Xid, Branch> branches_;           // guarded by mutex_
  std::vector<XaConnection::Unusable> unusable_;  // guarded by mutex_
  std::set<Xid> committed_, rolled_back_;    // guarded by mutex_
  std::set<int> lost_sessions_;              // guarded by mutex_
  int sessions_opened_ = 0;                  // guarded by mutex_
  bool split_verbs_ = false;                 // guarded by mutex_
};

}  // namespace xatm::fake

#endif  // XATM_FAKE_FAKE_RESOURCE_H_
