// The Resource and XaConnection behind adopt_xa_switch() (xatm/xa_switch.h): each session is an
// rmid of its own, opened, driven and closed on its own ControlThread.
//
// Thread safety: as Resource and XaConnection; run_in_thread() may be called from any thread.
#ifndef XATM_SRC_XA_SWITCH_ADAPTER_H_
#define XATM_SRC_XA_SWITCH_ADAPTER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "xa/control_thread.h"
#include "xatm/driver/resource.h"
#include "xatm/xa_switch.h"

namespace xatm::internal {

class SwitchConnection : public XaConnection {
 public:
  // Opens rmid `rmid` of `config.xa_switch` on a new control thread; see open().
  static Result<std::unique_ptr<SwitchConnection>> open(const SwitchDataSource& config, int rmid);
  ~SwitchConnection() override;  // xa_close on the control thread

  XaReply start(const Xid& xid) override;
  XaReply end(const Xid& xid) override;
  XaReply prepare(const Xid& xid) override;
  XaReply commit(const Xid& xid, bool one_phase) override;
  XaReply rollback(const Xid& xid) override;
  XaReply forget(const Xid& xid) override;
  Recovered recover() override;
  bool usable() const override { return usable_; }

  int rmid() const { return rmid_; }
  // Runs work(rmid) on this session's thread of control.
  void run_in_thread(const std::function<void(int rmid)>& work);

 private:
  SwitchConnection(const SwitchDataSource& config, int rmid);
  // Calls `entry` with `xid` and `flags` on the control thread and classifies the answer.
  XaReply call(const char* verb, int (*entry)(XID*, int, long), const Xid& xid, long flags);
  // One xa_recover call into `buffer` (its size is the count); the number of XIDs, or a negative
  // code with `reply` set.
  int recover_batch(std::vector<XID>& buffer, long flags, XaReply& reply);
  // A switch's first batch came back full and its continuation empty: scans again with
  // TMSTARTRSCAN and a buffer twice as large until one comes back short; `found` gets it.
  bool rescan_growing(std::vector<XID>& found, XaReply& reply);
  // "XA switch '<name>': ", the start of every reply detail.
  std::string about_switch() const;

  const SwitchDataSource config_;  // a copy: a session never depends on its Resource
  const int rmid_;
  ControlThread thread_;
  bool open_ = false;
  bool usable_ = true;
};

class SwitchResource : public Resource {
 public:
  explicit SwitchResource(SwitchDataSource config) : config_(std::move(config)) {}

  const std::string& name() const override { return config_.name; }
  Result<std::unique_ptr<XaConnection>> connect() override;

 private:
  const SwitchDataSource config_;
};

// Checks `config` as adopt_xa_switch() documents; the message names the data source.
Status validate_switch(const SwitchDataSource& config);

}  // namespace xatm::internal

#endif  // XATM_SRC_XA_SWITCH_ADAPTER_H_
