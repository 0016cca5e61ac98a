#include "xatm/fake/fake_resource.h"

#include <atomic>
#include <thread>
#include <utility>

namespace xatm::fake {
namespace {

class FakeConnection : public XaConnection {
 public:
  explicit FakeConnection(std::shared_ptr<FakeResource> rm)
      : rm_(std::move(rm)), session_(rm_->open_session()), splits_(rm_->splits_verbs()) {}
  ~FakeConnection() override { rm_->close_session(session_); }

  XaReply start(const Xid& xid) override { return rm_->call(session_, Verb::kStart, &xid); }
  XaReply end(const Xid& xid) override { return rm_->call(session_, Verb::kEnd, &xid); }
  XaReply prepare(const Xid& xid) override { return rm_->call(session_, Verb::kPrepare, &xid); }
  XaReply commit(const Xid& xid, bool one_phase) override {
    return rm_->call(session_, one_phase ? Verb::kCommitOnePhase : Verb::kCommit, &xid);
  }
  XaReply rollback(const Xid& xid) override { return rm_->call(session_, Verb::kRollback, &xid); }
  XaReply forget(const Xid& xid) override { return rm_->call(session_, Verb::kForget, &xid); }
  Recovered recover() override {
    Recovered result{rm_->call(session_, Verb::kRecover, nullptr), {}};
    if (result.reply.ok()) {
      result.xids = rm_->prepared();
      for (const Xid& xid : rm_->heuristic()) result.xids.push_back(xid);
      result.unusable = rm_->unusable();
    }
    return result;
  }
  bool usable() const override { return rm_->session_usable(session_); }

  // The session number; end_session() closes that session as a real RM ends one: its
  // unprepared branch rolls back.
  std::string session_key() const override { return std::to_string(session_); }
  Status end_session(std::string_view key) override {
    XaReply reply = rm_->call(session_, Verb::kEndSession, nullptr);
    if (!reply.ok()) return unavailable_error("fake: end_session answered " + xa_code_name(reply.code));
    rm_->close_session(std::stoi(std::string(key)));
    return Status();
  }

  bool splits_verbs() const override { return splits_; }
  void send_prepare(const Xid& xid) override { send(Verb::kPrepare, xid); }
  void send_commit(const Xid& xid) override { send(Verb::kCommit, xid); }
  XaReply receive_reply() override {
    if (!sent_) return {XAER_PROTO, "fake: nothing was sent"};
    std::this_thread::sleep_until(answer_at_);
    XaReply reply = std::move(*sent_);
    sent_.reset();
    return reply;
  }

 private:
  void send(Verb verb, const Xid& xid) { sent_ = rm_->call(session_, verb, &xid, &answer_at_); }

  std::shared_ptr<FakeResource> rm_;
  int session_;
  bool splits_;
  std::optional<XaReply> sent_;  // the answer to the verb sent, once received
  std::chrono::steady_clock::time_point answer_at_;
};

class FakeHandle : public Resource {
 public:
  explicit FakeHandle(std::shared_ptr<FakeResource> rm) : rm_(std::move(rm)) {}
  const std::string& name() const override { return rm_->name(); }
  Result<std::unique_ptr<XaConnection>> connect() override {
    XaReply reply = rm_->call(0, Verb::kConnect, nullptr);
    if (!reply.ok()) {
      return unavailable_error("fake data source '" + rm_->name() + "': cannot connect (" +
                               xa_code_name(reply.code) + ")");
    }
    return std::unique_ptr<XaConnection>(std::make_unique<FakeConnection>(rm_));
  }

 private:
  std::shared_ptr<FakeResource> rm_;
};

}  // namespace

std::string verb_name(Verb verb) {
  switch (verb) {
    case Verb::kConnect: return "connect";
    case Verb::kStart: return "start";
    case Verb::kEnd: return "end";
    case Verb::kPrepare: return "prepare";
    case Verb::kCommit: return "commit";
    case Verb::kCommitOnePhase: return "commit1pc";
    case Verb::kRollback: return "rollback";
    case Verb::kForget: return "forget";
    case Verb::kRecover: return "recover";
    case Verb::kEndSession: return "end_session";
  }
  return "?";
}

std::uint64_t next_event_sequence() {
  static std::atomic<std::uint64_t> sequence{0};
  return ++sequence;
}

FakeResource::FakeResource(std::string name) : name_(std::move(name)) {}

std::unique_ptr<Resource> FakeResource::make_handle() {
  return std::make_unique<FakeHandle>(shared_from_this());
}

void FakeResource::script(Verb verb, Step step) {
  std::lock_guard lock(mutex_);
  queued_[verb].push_back(std::move(step));
}

void FakeResource::script_always(Verb verb, Step step) {
  std::lock_guard lock(mutex_);
  always_[verb] = std::move(step);
}

std::vector<Call> FakeResource::calls() const {
  std::lock_guard lock(mutex_);
  return calls_;
}

void FakeResource::clear_calls() {
  std::lock_guard lock(mutex_);
  calls_.clear();
}

std::vector<std::string> FakeResource::verbs() const {
  std::vector<std::string> names;
  for (const Call& call : calls()) {
    if (call.verb != Verb::kConnect) names.push_back(verb_name(call.verb));
  }
  return names;
}

std::vector<Xid> FakeResource::prepared() const {
  std::lock_guard lock(mutex_);
  std::vector<Xid> xids;
  for (const auto& [xid, branch] : branches_) {
    if (branch.state == BranchState::kPrepared) xids.push_back(xid);
  }
  return xids;
}

std::set<Xid> FakeResource::committed() const {
  std::lock_guard lock(mutex_);
  return committed_;
}

std::set<Xid> FakeResource::rolled_back() const {
  std::lock_guard lock(mutex_);
  return rolled_back_;
}

void FakeResource::add_unusable(XaConnection::Unusable entry) {
  std::lock_guard lock(mutex_);
  unusable_.push_back(std::move(entry));
}

std::vector<XaConnection::Unusable> FakeResource::unusable() const {
  std::lock_guard lock(mutex_);
  return unusable_;
}

std::set<Xid> FakeResource::heuristic() const {
  std::lock_guard lock(mutex_);
  std::set<Xid> xids;
  for (const auto& [xid, branch] : branches_) {
    if (branch.state == BranchState::kHeuristic) xids.insert(xid);
  }
  return xids;
}

void FakeResource::prepare_detached(const Xid& xid) {
  FakeConnection session(shared_from_this());
  (void)session.start(xid);
  (void)session.end(xid);
  (void)session.prepare(xid);
}  // closing the session detaches the prepared branch

void FakeResource::complete_heuristically(const Xid& xid, int code) {
  std::lock_guard lock(mutex_);
  apply(0, Verb::kCommit, &xid, code);
}

int FakeResource::open_session() {
  std::lock_guard lock(mutex_);
  return ++sessions_opened_;
}

bool FakeResource::session_usable(int session) const {
  std::lock_guard lock(mutex_);
  return lost_sessions_.count(session) == 0;
}

void FakeResource::close_session(int session) {
  std::lock_guard lock(mutex_);
  lost_sessions_.insert(session);
  // Like a real RM: unprepared work of a closed session is rolled back, prepared work detaches.
  for (auto it = branches_.begin(); it != branches_.end();) {
    Branch& branch = it->second;
    auto next = std::next(it);
    if (branch.session == session) {
      if (branch.state == BranchState::kActive || branch.state == BranchState::kEnded) {
        forget_branch(it->first, /*committed=*/false);
      } else {
        branch.session = 0;
      }
    }
    it = next;
  }
}

void FakeResource::split_verbs(bool split) {
  std::lock_guard lock(mutex_);
  split_verbs_ = split;
}

bool FakeResource::splits_verbs() const {
  std::lock_guard lock(mutex_);
  return split_verbs_;
}

XaReply FakeResource::call(int session, Verb verb, const Xid* xid,
                           std::chrono::steady_clock::time_point* answer_at) {
  Step step;
  {
    std::lock_guard lock(mutex_);
    step = next_step(verb);
  }
  const auto began = std::chrono::steady_clock::now();
  if (step.action) step.action();
  if (answer_at != nullptr) {
    *answer_at = began + step.delay;
  } else if (step.delay.count() > 0) {
    std::this_thread::sleep_for(step.delay);
  }
  std::unique_lock lock(mutex_);
  int code = XAER_RMFAIL;
  const bool lost = session != 0 && lost_sessions_.count(session) > 0;
  if (!lost) {
    code = step.code.value_or(natural_answer(session, verb, xid));
    if (code == XAER_RMFAIL) {
      if (step.applied) apply(session, verb, xid, natural_answer(session, verb, xid));
    } else {
      apply(session, verb, xid, code);
    }
  }
  const auto ended = answer_at != nullptr ? *answer_at : std::chrono::steady_clock::now();
  calls_.push_back({verb, xid ? xid->to_string() : "", code, session, next_event_sequence(),
                    began, ended});
  lock.unlock();
  if (code == XAER_RMFAIL && session != 0 && !lost) close_session(session);
  return {code, code == XA_OK ? "" : "fake '" + name_ + "' answered " + xa_code_name(code)};
}

Step FakeResource::next_step(Verb verb) {
  auto queued = queued_.find(verb);
  if (queued != queued_.end() && !queued->second.empty()) {
    Step step = std::move(queued->second.front());
    queued->second.pop_front();
    return step;
  }
  auto always = always_.find(verb);
  return always == always_.end() ? Step{} : always->second;
}

int FakeResource::natural_answer(int session, Verb verb, const Xid* xid) const {
  if (verb == Verb::kConnect || verb == Verb::kRecover || verb == Verb::kEndSession) return XA_OK;
  auto it = branches_.find(*xid);
  if (verb == Verb::kStart) {
    if (it != branches_.end()) return XAER_DUPID;
    for (const auto& [other, branch] : branches_) {
      if (branch.session == session && branch.state != BranchState::kPrepared) return XAER_PROTO;
    }
    return XA_OK;
  }
  if (it == branches_.end()) return XAER_NOTA;
  const Branch& branch = it->second;
  const bool mine = branch.session == session;
  const bool reachable = mine || branch.session == 0;  // attached elsewhere: MariaDB says NOTA
  switch (verb) {
    case Verb::kEnd: return mine && branch.state == BranchState::kActive ? XA_OK : XAER_PROTO;
    case Verb::kPrepare:
    case Verb::kCommitOnePhase:
      return mine && branch.state == BranchState::kEnded ? XA_OK : XAER_PROTO;
    case Verb::kCommit:
      if (!reachable) return XAER_NOTA;
      return branch.state == BranchState::kPrepared ? XA_OK : XAER_PROTO;
    case Verb::kRollback:
      if (!reachable) return XAER_NOTA;
      return branch.state == BranchState::kEnded || branch.state == BranchState::kPrepared
                 ? XA_OK
                 : XAER_PROTO;
    case Verb::kForget: return branch.state == BranchState::kHeuristic ? XA_OK : XAER_NOTA;
    default: return XAER_PROTO;
  }
}

void FakeResource::apply(int session, Verb verb, const Xid* xid, int code) {
  if (xid == nullptr) return;
  auto it = branches_.find(*xid);
  const bool known = it != branches_.end();
  if (code == XA_HEURCOM || code == XA_HEURRB || code == XA_HEURMIX || code == XA_HEURHAZ) {
    if (code == XA_HEURCOM) committed_.insert(*xid);
    if (code == XA_HEURRB) rolled_back_.insert(*xid);
    branches_[*xid] = {BranchState::kHeuristic, 0};
    return;
  }
  switch (verb) {
    case Verb::kStart:
      if (code == XA_OK) branches_[*xid] = {BranchState::kActive, session};
      return;
    case Verb::kEnd:
      if (code == XA_OK && known) it->second.state = BranchState::kEnded;
      if (is_rollback_code(code) && known) forget_branch(*xid, false);
      return;
    case Verb::kPrepare:
      if (code == XA_OK && known) it->second.state = BranchState::kPrepared;
      if (code == XA_RDONLY && known) forget_branch(*xid, true);
      if ((is_rollback_code(code) || code == XAER_RMERR) && known) forget_branch(*xid, false);
      return;
    case Verb::kCommit:
    case Verb::kCommitOnePhase:
      if (code == XA_OK && known) forget_branch(*xid, true);
      if ((is_rollback_code(code) || code == XAER_RMERR) && known) forget_branch(*xid, false);
      return;
    case Verb::kRollback:
      if ((code == XA_OK || is_rollback_code(code)) && known) forget_branch(*xid, false);
      return;
    case Verb::kForget:
      if (code == XA_OK && known) branches_.erase(it);
      return;
    default: return;
  }
}

void FakeResource::forget_branch(Xid xid, bool committed) {
  branches_.erase(xid);
  (committed ? committed_ : rolled_back_).insert(xid);
}

}  // namespace xatm::fake
