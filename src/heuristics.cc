#include "heuristics.h"

#include "xatm/driver/logging.h"

namespace xatm::internal {
namespace {

std::string prefix(std::string_view who) { return who.empty() ? std::string() : std::string(who) + ": "; }

std::string describe(const std::string& data_source, const Xid& xid) {
  return "data source '" + data_source + "', branch " + xid.to_string();
}

}  // namespace

void record_heuristic(DecisionLog& log, const std::string& data_source, const Xid& xid, int code,
                      std::string_view who) {
  XATM_LOG(error) << prefix(who) << "heuristic outcome " << xa_code_name(code) << " on "
                  << describe(data_source, xid);
  const Status logged = log.log_heuristic({{data_source, xid}, code});
  if (!logged.ok()) {
    XATM_LOG(error) << prefix(who) << "could not record the heuristic outcome of "
                    << describe(data_source, xid) << ": " << logged.to_string();
  }
}

void forget_heuristic(XaConnection& session, const std::string& data_source, const Xid& xid,
                      int code, std::string_view who) {
  const XaReply forgot = session.forget(xid);
  if (!forgot.ok() && forgot.code != XAER_NOTA) {
    XATM_LOG(warning) << prefix(who) << "xa_forget after " << xa_code_name(code) << " on "
                      << describe(data_source, xid) << ": " << xa_code_name(forgot.code)
                      << (forgot.detail.empty() ? "" : " (" + forgot.detail + ")");
  }
}

}  // namespace xatm::internal
