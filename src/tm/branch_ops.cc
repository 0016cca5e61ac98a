#include "tm/branch_ops.h"

#include <algorithm>
#include <functional>
#include <thread>
#include <utility>

#include "heuristics.h"
#include "testing_hooks.h"
#include "xatm/driver/logging.h"

namespace xatm::internal {
namespace {

void note(Branch& branch, const XaReply& reply) {
  branch.last_code = reply.code;
  branch.detail = reply.detail;
}

// The session is gone or poisoned: drop it. The RM rolls back an unprepared branch of a lost
// session by itself; a prepared one survives and is reached again through a fresh session.
void drop_session(Branch& branch) { branch.connection.reset(); }

std::string describe(const Branch& branch, const XaReply& reply) {
  std::string text = "data source '" + *branch.data_source + "', branch " +
                     branch.xid.to_string() + ": " + xa_code_name(reply.code);
  if (!reply.detail.empty()) text += " (" + reply.detail + ")";
  return text;
}

// Marks the branch heuristic and records the outcome for the operator (heuristics.h).
void record_heuristic(Branch& branch, int code, DecisionLog& log) {
  branch.state = BranchState::kHeuristic;
  branch.heuristic_code = code;
  internal::record_heuristic(log, *branch.data_source, branch.xid, code, "");
}

// A heuristic completion that agrees with the decision: recorded, then forgotten on the RM.
void record_and_forget(Branch& branch, int code, DecisionLog& log, BranchState final_state) {
  record_heuristic(branch, code, log);
  branch.state = final_state;
  if (branch.connection != nullptr) {
    forget_heuristic(*branch.connection, *branch.data_source, branch.xid, code, "");
  }
}

// Calls `verb` on the branch's session until `is_final` accepts the answer or the window ends.
// A lost session is replaced by a fresh one from the pool. `answer_lost` tells whether some
// attempt's answer was lost (its effect is unknown), which changes what XAER_NOTA means.
// `first`, when given, is the answer to an attempt already made (a split verb's reply).
std::optional<XaReply> retry_until_final(Branch& branch, const RetryPolicy& retry,
                                         const std::function<XaReply(XaConnection&)>& verb,
                                         const std::function<bool(int)>& is_final,
                                         bool& answer_lost, std::optional<XaReply> first) {
  const auto give_up_at = std::chrono::steady_clock::now() + retry.window;
  std::chrono::milliseconds pause = retry.backoff;
  for (;;) {
    std::optional<XaReply> reply = std::exchange(first, std::nullopt);
    if (!reply) {
      if (branch.connection == nullptr || !branch.connection->usable()) {
        drop_session(branch);
        Result<std::unique_ptr<XaConnection>> fresh = branch.pool->acquire();
        if (fresh.ok()) {
          branch.connection = std::move(*fresh);
        } else {
          branch.last_code = XAER_RMFAIL;
          branch.detail = fresh.status().to_string();
        }
      }
      if (branch.connection != nullptr) reply = verb(*branch.connection);
    }
    if (reply) {
      note(branch, *reply);
      if (is_final(reply->code)) return reply;
      if (reply->code == XAER_RMFAIL) {
        answer_lost = true;
        drop_session(branch);
      }
      XATM_LOG(warning) << "will retry: " << describe(branch, *reply);
    }
    if (std::chrono::steady_clock::now() + pause > give_up_at) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, retry.backoff_max);
  }
}

void leave_pending(Branch& branch, const char* decision) {
  branch.state = BranchState::kPending;
  drop_session(branch);
  XATM_LOG(warning) << decision << " of data source '" << *branch.data_source << "', branch "
                    << branch.xid.to_string() << " not confirmed (last answer "
                    << xa_code_name(branch.last_code) << "); left to recovery";
}

// The first half of phase 1: xa_end, and whether the branch may go on to prepare.
bool end_for_prepare(Branch& branch, std::atomic<bool>& stop) {
  XaReply ended = branch.connection->end(branch.xid);
  note(branch, ended);
  if (!ended.ok()) {
    // XA_RB*: the RM rolled the branch back, but MariaDB still wants XA ROLLBACK to clear it,
    // so the branch stays "ended" and gets one. A lost session takes the branch with it.
    if (ended.code == XAER_RMFAIL) {
      drop_session(branch);
      branch.state = BranchState::kRolledBack;
    } else {
      branch.state = BranchState::kEnded;
    }
    stop = true;
    return false;
  }
  branch.state = BranchState::kEnded;
  if (stop) return false;
  XATM_CRASH_POINT(kCrashBeforePrepare);
  return true;
}

// The second half: what the vote means for the branch.
bool take_vote(Branch& branch, const XaReply& vote, std::atomic<bool>& stop) {
  note(branch, vote);
  XATM_CRASH_POINT(kCrashAfterPrepare);
  if (vote.code == XA_OK) {
    branch.state = BranchState::kPrepared;
    return true;
  }
  if (vote.code == XA_RDONLY) {
    branch.state = BranchState::kCommitted;
    branch.read_only = true;
    return true;
  }
  stop = true;
  if (is_rollback_code(vote.code) || vote.code == XAER_NOTA) {
    branch.state = BranchState::kRolledBack;  // the RM has no prepared branch to roll back
  } else if (vote.code == XAER_RMFAIL) {
    branch.state = BranchState::kInDoubt;  // the prepare may have happened before the loss
    drop_session(branch);
  }  // anything else (XAER_RMERR, XAER_PROTO, ...): stays kEnded and is rolled back
  return false;
}

}  // namespace

bool end_and_prepare(Branch& branch, std::atomic<bool>& stop) {
  if (!end_for_prepare(branch, stop)) return false;
  XaReply vote = branch.connection->prepare(branch.xid);
  return take_vote(branch, vote, stop);
}

bool send_end_and_prepare(Branch& branch, std::atomic<bool>& stop) {
  if (!end_for_prepare(branch, stop)) return false;
  branch.connection->send_prepare(branch.xid);
  XATM_CRASH_POINT(kCrashPrepareSent);  // the prepare's statement (if it needed one) is on its way
  return true;
}

bool receive_vote(Branch& branch, std::atomic<bool>& stop) {
  XaReply vote = branch.connection->receive_reply();
  return take_vote(branch, vote, stop);
}

namespace {

// xa_end, then `commit` (a one-phase commit of the ended branch), as commit_one_phase says.
template <typename Commit>
void end_and_commit_one_phase(Branch& branch, DecisionLog& log, Commit commit) {
  XaReply ended = branch.connection->end(branch.xid);
  note(branch, ended);
  if (!ended.ok()) {
    branch.state = ended.code == XAER_RMFAIL ? BranchState::kRolledBack : BranchState::kEnded;
    if (ended.code == XAER_RMFAIL) drop_session(branch);
    return;  // the caller rolls back what is still there
  }
  branch.state = BranchState::kEnded;
  XaReply reply = commit();
  note(branch, reply);
  switch (reply.code) {
    case XA_OK: branch.state = BranchState::kCommitted; return;
    case XA_HEURCOM: record_and_forget(branch, reply.code, log, BranchState::kCommitted); return;
    case XA_HEURRB: record_and_forget(branch, reply.code, log, BranchState::kRolledBack); return;
    case XA_HEURMIX:
    case XA_HEURHAZ: record_heuristic(branch, reply.code, log); return;
    case XAER_RMFAIL:  // the commit may or may not have happened: only the RM knows
      branch.state = BranchState::kPending;
      drop_session(branch);
      return;
    default:
      // XA_RB*, XAER_NOTA, XAER_RMERR: the RM rolled the branch back. Anything else (XA_RETRY,
      // XAER_PROTO) did nothing: the branch stays ended and the caller rolls it back.
      if (is_rollback_code(reply.code) || reply.code == XAER_NOTA || reply.code == XAER_RMERR) {
        branch.state = BranchState::kRolledBack;
      }
      return;
  }
}

}  // namespace

void commit_one_phase(Branch& branch, DecisionLog& log) {
  end_and_commit_one_phase(branch, log, [&] { return branch.connection->commit(branch.xid, true); });
}

void commit_with_decision(Branch& branch, const DecisionRow& row) {
  XaReply reply = branch.connection->commit_with_decision(branch.xid, row);
  note(branch, reply);
  if (reply.ok()) {
    branch.state = BranchState::kCommitted;
  } else if (reply.code == XAER_RMFAIL) {
    branch.state = BranchState::kPending;  // the decision's outcome is unknown until fenced
    drop_session(branch);
  } else if (is_rollback_code(reply.code) || reply.code == XAER_NOTA || reply.code == XAER_RMERR) {
    branch.state = BranchState::kRolledBack;
  }  // anything else did nothing: the branch is still active and the caller rolls it back
}

void commit_prepared(Branch& branch, DecisionLog& log, const RetryPolicy& retry,
                     std::optional<XaReply> first_answer) {
  bool answer_lost = false;
  auto is_final = [](int code) {
    return code != XAER_RMFAIL && code != XA_RETRY && code != XAER_PROTO &&
           code != XAER_INVAL && code != XAER_OUTSIDE && code != XAER_ASYNC;
  };
  std::optional<XaReply> reply = retry_until_final(
      branch, retry, [&](XaConnection& c) { return c.commit(branch.xid, false); }, is_final,
      answer_lost, std::move(first_answer));
  if (!reply) return leave_pending(branch, "commit");
  switch (reply->code) {
    case XA_OK: branch.state = BranchState::kCommitted; break;
    case XA_HEURCOM: record_and_forget(branch, reply->code, log, BranchState::kCommitted); break;
    case XAER_NOTA:
      if (answer_lost) {
        branch.state = BranchState::kCommitted;  // an earlier attempt got through
      } else {
        record_heuristic(branch, XA_HEURHAZ, log);  // prepared, yet unknown to its RM
      }
      break;
    case XA_HEURMIX:
    case XA_HEURHAZ: record_heuristic(branch, reply->code, log); break;
    default:  // XA_HEURRB, XAER_RMERR, XA_RB*: the RM rolled back a branch decided to commit
      record_heuristic(branch, XA_HEURRB, log);
      break;
  }
  XATM_CRASH_POINT(kCrashAfterCommit);
}

void rollback_branch(Branch& branch, DecisionLog& log, const RetryPolicy& retry) {
  if (branch.state == BranchState::kActive) {
    XaReply ended = branch.connection->end(branch.xid);
    note(branch, ended);
    if (ended.code == XAER_RMFAIL) drop_session(branch);
    branch.state = ended.code == XAER_RMFAIL ? BranchState::kRolledBack : BranchState::kEnded;
  }
  if (branch.state == BranchState::kEnded) {
    // Never prepared: one attempt on its own session. If that fails, closing the session makes
    // the RM roll the branch back, so the branch is rolled back either way.
    XaReply reply = branch.connection->rollback(branch.xid);
    note(branch, reply);
    if (!reply.ok() && !is_rollback_code(reply.code) && reply.code != XAER_NOTA) {
      drop_session(branch);
    }
    branch.state = BranchState::kRolledBack;
    return;
  }
  if (branch.state != BranchState::kPrepared && branch.state != BranchState::kInDoubt) return;
  bool answer_lost = false;
  auto is_final = [](int code) {
    return code == XA_OK || is_rollback_code(code) || code == XAER_NOTA || code == XA_HEURRB ||
           code == XA_HEURCOM || code == XA_HEURMIX || code == XA_HEURHAZ;
  };
  std::optional<XaReply> reply = retry_until_final(
      branch, retry, [&](XaConnection& c) { return c.rollback(branch.xid); }, is_final,
      answer_lost, std::nullopt);
  if (!reply) return leave_pending(branch, "rollback");
  switch (reply->code) {
    case XA_HEURRB: record_and_forget(branch, reply->code, log, BranchState::kRolledBack); break;
    case XA_HEURCOM:
    case XA_HEURMIX:
    case XA_HEURHAZ: record_heuristic(branch, reply->code, log); break;
    default: branch.state = BranchState::kRolledBack; break;  // OK, XA_RB*, XAER_NOTA
  }
}

bool send_commit(Branch& branch) {
  if (branch.state != BranchState::kPrepared || branch.connection == nullptr ||
      !branch.connection->usable()) {
    return false;  // commit_prepared's retries find a fresh session
  }
  branch.connection->send_commit(branch.xid);
  XATM_CRASH_POINT(kCrashCommitSent);
  return true;
}

void receive_commit(Branch& branch, DecisionLog& log, const RetryPolicy& retry) {
  commit_prepared(branch, log, retry, branch.connection->receive_reply());
}

void release_session(Branch& branch) {
  const bool finished = branch.state == BranchState::kCommitted ||
                        branch.state == BranchState::kRolledBack ||
                        branch.state == BranchState::kHeuristic;
  if (finished && branch.connection != nullptr && !branch.session_ended) {
    branch.pool->release(std::move(branch.connection));
  }
  branch.connection.reset();
}

}  // namespace xatm::internal
