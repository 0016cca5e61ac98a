// Any X/Open XA resource manager as an xatm data source: adopt its xa_switch_t.
//
//   xatm::Result<const xa_switch_t*> rm = xatm::load_xa_switch("/opt/rm/librm_xa.so", "rm_switch");
//   xatm::Result<std::unique_ptr<xatm::Resource>> ledger = xatm::adopt_xa_switch(
//       {.name = "ledger", .xa_switch = *rm, .open_info = "server=ledger1 user=app"});
//   XATM_RETURN_IF_ERROR(tm.add(std::move(*ledger)));
//   ...
//   XATM_RETURN_IF_ERROR(xatm::run_in_thread_of_control(*tx, "ledger", [](int rmid) {
//     // the RM's own API, e.g. its "connection of this thread for rmid" call, then SQL
//   }));
//
// The XA specification ties an RM's state to the thread of control that called xa_open: the
// RM finds the session of a verb by (calling thread, rmid). xatm runs a transaction's phases on
// worker threads, so every session of an adopted switch gets a thread of its own, its thread of
// control: xa_open, every verb and xa_close of that session run there, and so does the
// application's work in the branch (run_in_thread_of_control). Each session has its own rmid,
// unique in the process. A verb costs two thread hand-offs on top of the RM's own work.
//
// What is not supported, and refused at adoption: dynamic registration (TMREGISTER in the
// switch's flags: xatm has no ax_reg), and switch versions other than 0. xatm never passes
// TMASYNC, TMJOIN, TMSUSPEND or TMMIGRATE.
//
// Thread safety: all functions may be called from any thread.
#ifndef XATM_XA_SWITCH_H_
#define XATM_XA_SWITCH_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "xatm/driver/resource.h"
#include "xatm/status.h"
#include "xatm/xa.h"

namespace xatm {

class Transaction;

// An XA resource manager reached through its switch.
struct SwitchDataSource {
  // The data source's name in the TransactionManager; written into the decision log, so it
  // must stay the same across restarts.
  std::string name;
  // The RM's switch. It must stay valid while any Resource adopted from it exists (a switch
  // from load_xa_switch() stays valid until the process exits).
  const xa_switch_t* xa_switch = nullptr;
  // The xa_open info string, in the RM's own syntax; at most MAXINFOSIZE - 1 bytes. It may hold
  // a password: xatm never logs it.
  std::string open_info;
  // Prepared XIDs fetched per xa_recover call.
  long recover_batch = 64;
};

// A Resource over `config.xa_switch`. kInvalidArgument, naming the data source and the reason,
// for an empty name, a null switch or entry point, a switch version other than 0, TMREGISTER,
// an info string longer than MAXINFOSIZE - 1 or a recover_batch < 1. Nothing is opened here: the
// first connect() calls xa_open.
Result<std::unique_ptr<Resource>> adopt_xa_switch(SwitchDataSource config);

// The xa_switch_t that `symbol` names in the shared object `library` (dlopen with RTLD_NOW and
// RTLD_LOCAL). The symbol is either the switch itself, a `struct xa_switch_t` object (the XA
// specification's convention, e.g. xatm_postgresql_xa_switch, Oracle's xaosw), or a function
// taking nothing and returning a pointer to one (LIXA's convention: lixa_get_xa_switch, which
// xatm's modules export too); the symbol's ELF type tells which. The library stays loaded until
// the process exits. An empty `library` looks in the program and the libraries it links
// (dlopen(NULL)): a switch linked in, whose RM state the program's own calls then share (a
// module loaded from a file would hold a second copy when the RM's library is static; an
// executable's own symbols need -rdynamic). kNotFound when the file or the symbol is missing,
// with dlerror()'s explanation, or when the function returns null; kInvalidArgument for a
// symbol that is neither (e.g. an object smaller than an xa_switch_t).
Result<const xa_switch_t*> load_xa_switch(const std::string& library, const std::string& symbol);

// Enlists `data_source` in `tx` like Transaction::enlist() and runs work(rmid) on the thread of
// control of its session, where the RM's per-thread API reaches the branch's connection. Returns
// when work has returned; work must not throw. Errors: those of Transaction::enlist(), and
// kInvalidArgument when `data_source` was not adopted with adopt_xa_switch().
Status run_in_thread_of_control(Transaction& tx, std::string_view data_source,
                                const std::function<void(int rmid)>& work);

}  // namespace xatm

#endif  // XATM_XA_SWITCH_H_
