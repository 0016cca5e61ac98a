// Uses the installed xatm: builds an XID, round-trips its text form, reports through Status.
#include <xatm/status.h>
#include <xatm/xid.h>

#include <chrono>
#include <cstdio>

namespace {

xatm::Status check() {
  xatm::GtridInfo info;
  info.node_name = "consumer-1";
  info.created = std::chrono::system_clock::now();
  info.timeout = std::chrono::seconds(60);
  info.sequence = 1;
  xatm::Result<xatm::Xid> global = xatm::make_global_xid(info);
  if (!global.ok()) return global.status();

  const xatm::Xid branch = global->branch(1);
  xatm::Result<xatm::Xid> parsed = xatm::Xid::parse(branch.to_string());
  if (!parsed.ok()) return parsed.status();
  if (*parsed != branch) return xatm::internal_error("text form did not round-trip");

  xatm::Result<xatm::Xid> bad = xatm::Xid::parse("not an xid");
  if (bad.ok() || bad.status().code() != xatm::StatusCode::kInvalidArgument) {
    return xatm::internal_error("a malformed XID was accepted");
  }
  std::printf("xid %s\n", branch.to_string().c_str());
  return xatm::Status();
}

}  // namespace

int main() {
  const xatm::Status status = check();
  std::printf("%s\n", status.to_string().c_str());
  return status.ok() ? 0 : 1;
}
