#include "xa/xa_switch_adapter.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <vector>

#include "xatm/driver/logging.h"

namespace xatm::internal {
namespace {

// More prepared XIDs than this from one scan means the RM ignores the scan's cursor (it returns
// the same full batch forever) or something is badly wrong; the scan stops with XAER_RMERR.
constexpr std::size_t kMaxRecoveredXids = 1'000'000;

// rmids are unique in the process: two adopted sessions never share one, whichever switch
// they belong to, so an RM that keys its state by rmid alone is safe too.
int next_rmid() {
  static std::atomic<int> last{0};
  int rmid = last.fetch_add(1, std::memory_order_relaxed) + 1;
  while (rmid <= 0) {  // wrapped around after 2^31 sessions: start again at 1
    int expected = rmid - 1;
    last.compare_exchange_strong(expected, 0, std::memory_order_relaxed);
    rmid = last.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  return rmid;
}

std::string switch_name(const xa_switch_t& xa_switch) {
  return std::string(xa_switch.name, strnlen(xa_switch.name, RMNAMESZ));
}

// A writable, NUL-terminated copy of the info string: xa_open and xa_close take char*.
std::vector<char> info_buffer(const std::string& info) {
  std::vector<char> buffer(info.begin(), info.end());
  buffer.push_back('\0');
  return buffer;
}

std::string where(const SwitchDataSource& config, int rmid) {
  return "data source '" + config.name + "' (XA switch '" + switch_name(*config.xa_switch) +
         "', rmid " + std::to_string(rmid) + ")";
}

}  // namespace

Status validate_switch(const SwitchDataSource& config) {
  const std::string source = "XA switch data source '" + config.name + "'";
  if (config.name.empty()) return invalid_argument_error("an XA switch data source needs a name");
  if (config.xa_switch == nullptr) return invalid_argument_error(source + ": xa_switch is null");
  const xa_switch_t& sw = *config.xa_switch;
  const std::string named = source + " (switch '" + switch_name(sw) + "')";
  if (sw.version != 0) {
    return invalid_argument_error(named + ": switch version " + std::to_string(sw.version) +
                                  " is not supported (only 0 is standard)");
  }
  if ((sw.flags & TMREGISTER) != 0) {
    return invalid_argument_error(named +
                                  ": the RM asks for dynamic registration (TMREGISTER), which "
                                  "xatm does not offer (there is no ax_reg)");
  }
  const std::pair<const char*, bool> entries[] = {
      {"xa_open_entry", sw.xa_open_entry != nullptr},
      {"xa_close_entry", sw.xa_close_entry != nullptr},
      {"xa_start_entry", sw.xa_start_entry != nullptr},
      {"xa_end_entry", sw.xa_end_entry != nullptr},
      {"xa_rollback_entry", sw.xa_rollback_entry != nullptr},
      {"xa_prepare_entry", sw.xa_prepare_entry != nullptr},
      {"xa_commit_entry", sw.xa_commit_entry != nullptr},
      {"xa_recover_entry", sw.xa_recover_entry != nullptr},
      {"xa_forget_entry", sw.xa_forget_entry != nullptr},
  };
  for (const auto& [entry, present] : entries) {
    if (!present) return invalid_argument_error(named + ": " + entry + " is null");
  }
  if (config.open_info.size() >= MAXINFOSIZE) {
    return invalid_argument_error(named + ": the xa_open info string has " +
                                  std::to_string(config.open_info.size()) +
                                  " bytes; the limit is " + std::to_string(MAXINFOSIZE - 1));
  }
  if (config.recover_batch < 1) {
    return invalid_argument_error(named + ": recover_batch must be at least 1");
  }
  return Status();
}

SwitchConnection::SwitchConnection(const SwitchDataSource& config, int rmid)
    : config_(config), rmid_(rmid) {}

Result<std::unique_ptr<SwitchConnection>> SwitchConnection::open(const SwitchDataSource& config,
                                                                 int rmid) {
  std::unique_ptr<SwitchConnection> session(new SwitchConnection(config, rmid));
  int code = XA_OK;
  session->thread_.run([&] {
    std::vector<char> info = info_buffer(config.open_info);
    code = config.xa_switch->xa_open_entry(info.data(), rmid, TMNOFLAGS);
  });
  if (code == XA_OK) {
    session->open_ = true;
    return session;
  }
  const std::string message = where(config, rmid) + ": xa_open returned " + xa_code_name(code) +
                              " (the resource manager's own log says why)";
  if (code == XAER_INVAL) return invalid_argument_error(message);
  if (code == XAER_RMFAIL) return unavailable_error(message);
  return failed_precondition_error(message);
}

SwitchConnection::~SwitchConnection() {
  if (!open_) return;
  int code = XA_OK;
  thread_.run([&] {
    std::vector<char> info = info_buffer(config_.open_info);
    code = config_.xa_switch->xa_close_entry(info.data(), rmid_, TMNOFLAGS);
  });
  if (code != XA_OK) {
    XATM_LOG(warning) << where(config_, rmid_) << ": xa_close returned " << xa_code_name(code);
  }
}

XaReply SwitchConnection::call(const char* verb, int (*entry)(XID*, int, long), const Xid& xid,
                               long flags) {
  XID c_xid = xid.to_c();
  int code = XA_OK;
  thread_.run([&] { code = entry(&c_xid, rmid_, flags); });
  if (code == XAER_RMFAIL) usable_ = false;
  if (code == XA_OK) return {};
  return {code, about_switch() + verb + " returned " + xa_code_name(code)};
}

XaReply SwitchConnection::start(const Xid& xid) {
  return call("xa_start", config_.xa_switch->xa_start_entry, xid, TMNOFLAGS);
}

XaReply SwitchConnection::end(const Xid& xid) {
  return call("xa_end", config_.xa_switch->xa_end_entry, xid, TMSUCCESS);
}

XaReply SwitchConnection::prepare(const Xid& xid) {
  return call("xa_prepare", config_.xa_switch->xa_prepare_entry, xid, TMNOFLAGS);
}

XaReply SwitchConnection::commit(const Xid& xid, bool one_phase) {
  return call("xa_commit", config_.xa_switch->xa_commit_entry, xid,
              one_phase ? TMONEPHASE : TMNOFLAGS);
}

XaReply SwitchConnection::rollback(const Xid& xid) {
  return call("xa_rollback", config_.xa_switch->xa_rollback_entry, xid, TMNOFLAGS);
}

XaReply SwitchConnection::forget(const Xid& xid) {
  return call("xa_forget", config_.xa_switch->xa_forget_entry, xid, TMNOFLAGS);
}

XaConnection::Recovered SwitchConnection::recover() {
  // One scan: TMSTARTRSCAN, then TMNOFLAGS while full batches come back. A short batch ends the
  // scan (XA specification), so no separate TMENDRSCAN call is needed.
  //
  // Some switches answer only TMSTARTRSCAN and return nothing to TMNOFLAGS (LIXA's MariaDB and
  // PostgreSQL switches: their scan is one XA RECOVER, cut to the caller's buffer). After a full
  // first batch, an empty continuation is ambiguous; a fresh scan with a buffer twice as large
  // tells: as many XIDs as before means that was all, more means the switch restarts at every
  // TMSTARTRSCAN, and the buffer doubles until a scan comes back short.
  Recovered result;
  const std::size_t batch_size = static_cast<std::size_t>(config_.recover_batch);
  std::vector<XID> found;
  std::vector<XID> batch(batch_size);
  long flags = TMSTARTRSCAN;
  for (;;) {
    const int count = recover_batch(batch, flags, result.reply);
    if (count < 0) return result;
    found.insert(found.end(), batch.begin(), batch.begin() + count);
    if (static_cast<std::size_t>(count) < batch_size) {
      if (count == 0 && flags == TMNOFLAGS && found.size() == batch_size) {
        if (!rescan_growing(found, result.reply)) return result;
      }
      break;
    }
    if (found.size() > kMaxRecoveredXids) {
      result.reply = {XAER_RMERR, about_switch() + "xa_recover kept returning full batches past " +
                                      std::to_string(kMaxRecoveredXids) + " XIDs"};
      return result;
    }
    flags = TMNOFLAGS;
  }
  std::size_t undecodable = 0;
  for (const XID& raw : found) {
    Result<Xid> xid = Xid::from_c(raw);
    if (xid.ok()) {
      result.xids.push_back(*xid);
    } else {
      ++undecodable;
    }
  }
  if (undecodable > 0) {
    result.reply.detail = std::to_string(undecodable) +
                          " XID(s) from xa_recover were malformed and were skipped";
  }
  return result;
}

int SwitchConnection::recover_batch(std::vector<XID>& buffer, long flags, XaReply& reply) {
  const long size = static_cast<long>(buffer.size());
  int count = 0;
  thread_.run([&] { count = config_.xa_switch->xa_recover_entry(buffer.data(), size, rmid_, flags); });
  if (count < 0) {
    if (count == XAER_RMFAIL) usable_ = false;
    reply = {count, about_switch() + "xa_recover returned " + xa_code_name(count)};
  } else if (count > size) {
    reply = {XAER_RMERR, about_switch() + "xa_recover returned " + std::to_string(count) +
                             " XIDs for a buffer of " + std::to_string(size)};
    count = XAER_RMERR;
  }
  return count;
}

bool SwitchConnection::rescan_growing(std::vector<XID>& found, XaReply& reply) {
  for (std::size_t size = 2 * found.size(); size <= 2 * kMaxRecoveredXids; size *= 2) {
    std::vector<XID> buffer(size);
    const int count = recover_batch(buffer, TMSTARTRSCAN, reply);
    if (count < 0) return false;
    if (static_cast<std::size_t>(count) < size) {
      buffer.resize(static_cast<std::size_t>(count));
      found = std::move(buffer);  // a whole scan: the latest answer
      return true;
    }
  }
  reply = {XAER_RMERR, about_switch() + "xa_recover kept filling buffers past " +
                           std::to_string(kMaxRecoveredXids) + " XIDs"};
  return false;
}

std::string SwitchConnection::about_switch() const {
  return "XA switch '" + switch_name(*config_.xa_switch) + "': ";
}

void SwitchConnection::run_in_thread(const std::function<void(int rmid)>& work) {
  thread_.run([&] { work(rmid_); });
}

Result<std::unique_ptr<XaConnection>> SwitchResource::connect() {
  Result<std::unique_ptr<SwitchConnection>> session = SwitchConnection::open(config_, next_rmid());
  if (!session.ok()) return session.status();
  return std::unique_ptr<XaConnection>(std::move(*session));
}

}  // namespace xatm::internal
