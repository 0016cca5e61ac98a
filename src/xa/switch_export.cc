#include "xatm/driver/switch_export.h"

#include <algorithm>

#include "xatm/driver/logging.h"

namespace xatm::driver {
namespace {

int code_for(const Status& status) {
  if (status.code() == StatusCode::kInvalidArgument) return XAER_INVAL;
  if (status.code() == StatusCode::kUnavailable) return XAER_RMFAIL;
  return XAER_RMERR;
}

}  // namespace

int SwitchExport::reject(int rmid, const char* verb, int code, const std::string& why) {
  XATM_LOG(warning) << "XA switch '" << rm_name_ << "' rmid " << rmid << ": " << verb << " "
                    << xa_code_name(code) << ": " << why;
  return code;
}

int SwitchExport::open(const char* info, int rmid, long flags) {
  if (info == nullptr) return reject(rmid, "xa_open", XAER_INVAL, "the info string is null");
  if (flags != TMNOFLAGS) {
    return reject(rmid, "xa_open", XAER_INVAL, "only TMNOFLAGS is supported");
  }
  if (open_.contains(rmid)) return XA_OK;  // opened already by this thread: nothing to do
  Result<std::shared_ptr<Resource>> resource = resource_from_info_(info);
  if (!resource.ok()) {
    return reject(rmid, "xa_open", code_for(resource.status()), resource.status().to_string());
  }
  Result<std::unique_ptr<XaConnection>> connection = (*resource)->connect();
  if (!connection.ok()) {
    return reject(rmid, "xa_open", code_for(connection.status()),
                  connection.status().to_string());
  }
  Open& entry = open_[rmid];
  entry.resource = std::move(*resource);
  entry.connection = std::move(*connection);
  return XA_OK;
}

int SwitchExport::close(const char* /*info*/, int rmid, long flags) {
  if (flags != TMNOFLAGS) {
    return reject(rmid, "xa_close", XAER_INVAL, "only TMNOFLAGS is supported");
  }
  auto it = open_.find(rmid);
  if (it == open_.end()) return XA_OK;  // closing what is not open is a no-op
  if (it->second.associated) {
    return reject(rmid, "xa_close", XAER_PROTO,
                  "branch " + it->second.associated->to_string() + " is still associated");
  }
  open_.erase(it);
  return XA_OK;
}

SwitchExport::Open* SwitchExport::find(int rmid, const char* verb, int* code) {
  auto it = open_.find(rmid);
  if (it == open_.end()) {
    *code = reject(rmid, verb, XAER_PROTO, "the rmid is not open on this thread (xa_open first)");
    return nullptr;
  }
  Open& entry = it->second;
  if (entry.connection == nullptr || !entry.connection->usable()) {
    // The session was lost: whatever it carried is gone with it. A new session answers for the
    // branches the RM still knows; if none can be opened the rmid stays open without one, and
    // the next verb tries again.
    entry.connection.reset();
    entry.associated.reset();
    entry.scanning = false;
    Result<std::unique_ptr<XaConnection>> connection = entry.resource->connect();
    if (!connection.ok()) {
      *code = reject(rmid, verb, XAER_RMFAIL, connection.status().to_string());
      return nullptr;
    }
    entry.connection = std::move(*connection);
  }
  return &entry;
}

std::optional<Xid> SwitchExport::decode(const XID* xid, int rmid, const char* verb) {
  if (xid == nullptr) {
    reject(rmid, verb, XAER_INVAL, "the XID is null");
    return std::nullopt;
  }
  Result<Xid> decoded = Xid::from_c(*xid);
  if (!decoded.ok()) {
    reject(rmid, verb, XAER_INVAL, decoded.status().to_string());
    return std::nullopt;
  }
  return *decoded;
}

int SwitchExport::answer(Open& open, int rmid, const char* verb, const Xid& xid,
                         XaReply reply) {
  if (open.associated == xid) open.associated.reset();
  // The drivers answer XA_RETRY from rollback too (a branch still attached to another session:
  // try again later), which xatm's coordinator understands but the XA specification allows only
  // from xa_commit. Other TMs get the standard code for "try again later": XAER_RMFAIL.
  if (reply.code == XA_RETRY && std::string_view(verb) != "xa_commit") {
    reply.detail = "XA_RETRY answered as XAER_RMFAIL: " + reply.detail;
    reply.code = XAER_RMFAIL;
  }
  if (reply.code < XA_OK) {  // an error; rollback votes and heuristics are the RM's answers
    XATM_LOG(info) << "XA switch '" << rm_name_ << "' rmid " << rmid << ": " << verb << " "
                   << xid.to_string() << " " << xa_code_name(reply.code) << ": " << reply.detail;
  }
  return reply.code;
}

int SwitchExport::start(const XID* xid, int rmid, long flags) {
  if (flags != TMNOFLAGS) {
    return reject(rmid, "xa_start", XAER_INVAL,
                  "only TMNOFLAGS is supported (no TMJOIN, TMRESUME or TMASYNC)");
  }
  std::optional<Xid> branch = decode(xid, rmid, "xa_start");
  if (!branch) return XAER_INVAL;
  int code = XA_OK;
  Open* open = find(rmid, "xa_start", &code);
  if (open == nullptr) return code;
  if (open->associated) {
    return reject(rmid, "xa_start", XAER_PROTO,
                  "the session is associated with " + open->associated->to_string());
  }
  const int answered = answer(*open, rmid, "xa_start", *branch, open->connection->start(*branch));
  if (answered == XA_OK) open->associated = *branch;
  return answered;
}

int SwitchExport::end(const XID* xid, int rmid, long flags) {
  if (flags != TMSUCCESS && flags != TMFAIL) {
    return reject(rmid, "xa_end", XAER_INVAL,
                  "only TMSUCCESS and TMFAIL are supported (no TMSUSPEND or TMMIGRATE)");
  }
  std::optional<Xid> branch = decode(xid, rmid, "xa_end");
  if (!branch) return XAER_INVAL;
  int code = XA_OK;
  Open* open = find(rmid, "xa_end", &code);
  if (open == nullptr) return code;
  if (flags == TMFAIL) {
    // The work failed: the branch can only roll back, so end it, roll it back and say so.
    // An XA_RB* answer to the end means the RM rolled it back already.
    XaReply reply = open->connection->end(*branch);
    if (reply.ok()) reply = open->connection->rollback(*branch);
    if (reply.ok()) reply = {XA_RBROLLBACK, "xa_end(TMFAIL): rolled back"};
    return answer(*open, rmid, "xa_end", *branch, reply);
  }
  return answer(*open, rmid, "xa_end", *branch, open->connection->end(*branch));
}

int SwitchExport::plain_verb(const char* verb, const XID* xid, int rmid, long flags,
                             const std::function<XaReply(XaConnection&, const Xid&)>& call) {
  if (flags != TMNOFLAGS) return reject(rmid, verb, XAER_INVAL, "only TMNOFLAGS is supported");
  std::optional<Xid> branch = decode(xid, rmid, verb);
  if (!branch) return XAER_INVAL;
  int code = XA_OK;
  Open* open = find(rmid, verb, &code);
  if (open == nullptr) return code;
  return answer(*open, rmid, verb, *branch, call(*open->connection, *branch));
}

int SwitchExport::prepare(const XID* xid, int rmid, long flags) {
  return plain_verb("xa_prepare", xid, rmid, flags,
                    [](XaConnection& session, const Xid& branch) { return session.prepare(branch); });
}

int SwitchExport::commit(const XID* xid, int rmid, long flags) {
  // TMNOWAIT is accepted as a hint the switch does not act on: every call may block.
  if ((flags & ~(TMONEPHASE | TMNOWAIT)) != 0) {
    return reject(rmid, "xa_commit", XAER_INVAL, "only TMONEPHASE and TMNOWAIT are supported");
  }
  std::optional<Xid> branch = decode(xid, rmid, "xa_commit");
  if (!branch) return XAER_INVAL;
  int code = XA_OK;
  Open* open = find(rmid, "xa_commit", &code);
  if (open == nullptr) return code;
  const bool one_phase = (flags & TMONEPHASE) != 0;
  return answer(*open, rmid, "xa_commit", *branch, open->connection->commit(*branch, one_phase));
}

int SwitchExport::rollback(const XID* xid, int rmid, long flags) {
  return plain_verb("xa_rollback", xid, rmid, flags,
                    [](XaConnection& session, const Xid& branch) { return session.rollback(branch); });
}

int SwitchExport::forget(const XID* xid, int rmid, long flags) {
  return plain_verb("xa_forget", xid, rmid, flags,
                    [](XaConnection& session, const Xid& branch) { return session.forget(branch); });
}

int SwitchExport::recover(XID* xids, long count, int rmid, long flags) {
  if (count < 0 || (xids == nullptr && count > 0)) {
    return reject(rmid, "xa_recover", XAER_INVAL, "count < 0, or a null array with count > 0");
  }
  if ((flags & ~(TMSTARTRSCAN | TMENDRSCAN)) != 0) {
    return reject(rmid, "xa_recover", XAER_INVAL, "only TMSTARTRSCAN and TMENDRSCAN");
  }
  int code = XA_OK;
  Open* open = find(rmid, "xa_recover", &code);
  if (open == nullptr) return code;
  if ((flags & TMSTARTRSCAN) != 0) {
    XaConnection::Recovered recovered = open->connection->recover();
    if (!recovered.reply.ok()) {
      open->scanning = false;
      return reject(rmid, "xa_recover", recovered.reply.code, recovered.reply.detail);
    }
    if (!recovered.reply.detail.empty()) {
      XATM_LOG(warning) << "XA switch '" << rm_name_ << "' rmid " << rmid
                        << ": xa_recover: " << recovered.reply.detail;
    }
    open->scan.clear();
    for (const Xid& xid : recovered.xids) open->scan.push_back(xid.to_c());
    open->cursor = 0;
    open->scanning = true;
  } else if (!open->scanning) {
    // A short batch ended the scan already (XA); a caller that ends it once more, as LIXA does,
    // is told "nothing more".
    if (flags == TMENDRSCAN) return 0;
    return reject(rmid, "xa_recover", XAER_INVAL, "no recovery scan is open (TMSTARTRSCAN first)");
  }
  const std::size_t remaining = open->scan.size() - open->cursor;
  const std::size_t returned = std::min(remaining, static_cast<std::size_t>(count));
  std::copy_n(open->scan.begin() + static_cast<std::ptrdiff_t>(open->cursor), returned, xids);
  open->cursor += returned;
  if (returned < static_cast<std::size_t>(count) || (flags & TMENDRSCAN) != 0) {
    open->scanning = false;
    open->scan.clear();
  }
  return static_cast<int>(returned);
}

int SwitchExport::complete(int* /*handle*/, int* /*retval*/, int rmid, long /*flags*/) {
  return reject(rmid, "xa_complete", XAER_PROTO, "no asynchronous operation is outstanding");
}

XaConnection* SwitchExport::session(int rmid) {
  auto it = open_.find(rmid);
  return it == open_.end() ? nullptr : it->second.connection.get();
}

}  // namespace xatm::driver
