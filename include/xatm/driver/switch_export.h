// The xa_switch_t that each xatm driver exports, over the driver's own Resource/XaConnection.
//
// A switch's entry points carry no context but the rmid, and the XA specification ties an RM's
// state to the thread of control that called xa_open. So each driver keeps one SwitchExport per
// thread (thread_local) and forwards every entry point to it:
//
//   SwitchExport& exported() {
//     thread_local SwitchExport state("xatm-mysql", &resource_from_open_info);
//     return state;
//   }
//   int xa_start_entry(XID* xid, int rmid, long flags) { return exported().start(xid, rmid, flags); }
//
// What the switch does with each verb and flag (docs/xa-switch.md):
//   - xa_open connects at once; opening an rmid already open on this thread is a no-op (XA_OK);
//   - a verb on an rmid this thread has not opened is XAER_PROTO; a null or malformed XID,
//     or a flag the switch does not support (TMJOIN, TMRESUME, TMSUSPEND, TMMIGRATE, TMASYNC),
//     is XAER_INVAL;
//   - xa_end(TMFAIL) rolls the branch back and answers XA_RBROLLBACK;
//   - xa_recover follows the scan protocol: TMSTARTRSCAN reads the RM's prepared XIDs, later calls
//     continue from the cursor, a short batch or TMENDRSCAN ends the scan;
//   - XA_RETRY from any verb but xa_commit (where the specification allows it) is XAER_RMFAIL;
//   - after a lost session (XAER_RMFAIL) the session is replaced by a new one at the next verb;
//   - xa_close with a branch still associated is XAER_PROTO; of an rmid not open, XA_OK.
// Why a call failed (the bare XA code says little) goes to the "xatm" Boost.Log channel.
//
// Thread safety: one object per thread; not shared.
#ifndef XATM_DRIVER_SWITCH_EXPORT_H_
#define XATM_DRIVER_SWITCH_EXPORT_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xatm/driver/resource.h"
#include "xatm/xa.h"

namespace xatm::driver {

class SwitchExport {
 public:
  // The driver's Resource for an xa_open info string (kInvalidArgument for a bad one). It may
  // hand out one Resource for every rmid opened with the same info (the MySQL driver does, so
  // that its sessions share what they know of each other).
  using ResourceFromInfo = Result<std::shared_ptr<Resource>> (*)(std::string_view info);

  SwitchExport(std::string rm_name, ResourceFromInfo resource_from_info)
      : rm_name_(std::move(rm_name)), resource_from_info_(resource_from_info) {}

  int open(const char* info, int rmid, long flags);
  int close(const char* info, int rmid, long flags);
  int start(const XID* xid, int rmid, long flags);
  int end(const XID* xid, int rmid, long flags);
  int prepare(const XID* xid, int rmid, long flags);
  int commit(const XID* xid, int rmid, long flags);
  int rollback(const XID* xid, int rmid, long flags);
  int forget(const XID* xid, int rmid, long flags);
  int recover(XID* xids, long count, int rmid, long flags);
  // No operation is ever asynchronous: XAER_PROTO.
  int complete(int* handle, int* retval, int rmid, long flags);

  // This thread's session of `rmid`, or null when the rmid is not open here (or lost its session
  // and could not reconnect yet). Valid until the next xa_ call on this rmid: after XAER_RMFAIL
  // the next verb replaces the session.
  XaConnection* session(int rmid);

 private:
  struct Open {
    std::shared_ptr<Resource> resource;
    std::unique_ptr<XaConnection> connection;  // null after a failed reconnect
    std::optional<Xid> associated;  // the branch xa_start associated with the session
    std::vector<XID> scan;          // the recovery scan in progress, if any
    std::size_t cursor = 0;
    bool scanning = false;
  };

  // The open rmid with a usable connection, reconnecting after a failure; or an XA error code.
  Open* find(int rmid, const char* verb, int* code);
  // The XID, or nullopt after logging why it is not valid (the caller answers XAER_INVAL).
  std::optional<Xid> decode(const XID* xid, int rmid, const char* verb);
  int reject(int rmid, const char* verb, int code, const std::string& why);
  int answer(Open& open, int rmid, const char* verb, const Xid& xid, XaReply reply);
  // A verb that takes TMNOFLAGS and hands the XID to `call`.
  int plain_verb(const char* verb, const XID* xid, int rmid, long flags,
                 const std::function<XaReply(XaConnection&, const Xid&)>& call);

  const std::string rm_name_;
  const ResourceFromInfo resource_from_info_;
  std::map<int, Open> open_;
};

// The xa_switch_t named `name` whose entry points call the SwitchExport that State() returns
// (the calling thread's). Sessions stay with the thread that opened them, hence TMNOMIGRATE.
template <SwitchExport& (*State)()>
constexpr xa_switch_t exported_switch(std::string_view name) {
  struct Entries {
    static int open(char* info, int rmid, long flags) { return State().open(info, rmid, flags); }
    static int close(char* info, int rmid, long flags) { return State().close(info, rmid, flags); }
    static int start(XID* xid, int rmid, long flags) { return State().start(xid, rmid, flags); }
    static int end(XID* xid, int rmid, long flags) { return State().end(xid, rmid, flags); }
    static int rollback(XID* xid, int rmid, long flags) {
      return State().rollback(xid, rmid, flags);
    }
    static int prepare(XID* xid, int rmid, long flags) { return State().prepare(xid, rmid, flags); }
    static int commit(XID* xid, int rmid, long flags) { return State().commit(xid, rmid, flags); }
    static int recover(XID* xids, long count, int rmid, long flags) {
      return State().recover(xids, count, rmid, flags);
    }
    static int forget(XID* xid, int rmid, long flags) { return State().forget(xid, rmid, flags); }
    static int complete(int* handle, int* retval, int rmid, long flags) {
      return State().complete(handle, retval, rmid, flags);
    }
  };
  xa_switch_t xa_switch{{}, TMNOMIGRATE, 0, &Entries::open, &Entries::close, &Entries::start,
                        &Entries::end, &Entries::rollback, &Entries::prepare, &Entries::commit,
                        &Entries::recover, &Entries::forget, &Entries::complete};
  for (std::size_t i = 0; i < name.size() && i + 1 < RMNAMESZ; ++i) xa_switch.name[i] = name[i];
  return xa_switch;
}

}  // namespace xatm::driver

#endif  // XATM_DRIVER_SWITCH_EXPORT_H_
