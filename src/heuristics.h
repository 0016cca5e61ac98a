// What the coordinator and recovery do alike when a resource manager answers with a heuristic
// outcome (XA_HEURCOM, XA_HEURRB, XA_HEURMIX, XA_HEURHAZ): record it durably for the operator,
// and forget it on the RM once it agrees with the decision (docs/recovery.md, "Heuristic
// outcomes").
//
// Thread safety: as safe as the DecisionLog and the session passed in.
#ifndef XATM_HEURISTICS_H_
#define XATM_HEURISTICS_H_

#include <string>
#include <string_view>

#include "xatm/decision_log.h"
#include "xatm/driver/resource.h"
#include "xatm/xid.h"

namespace xatm::internal {

// Logs the heuristic outcome `code` of branch `xid` of `data_source` at error level and writes a
// HEURISTIC record for it. A log that cannot take the record is reported in the process log;
// the outcome still reaches the caller (the application's Outcome, the recovery report).
// `who` prefixes the messages ("recovery", or empty for the coordinator).
void record_heuristic(DecisionLog& log, const std::string& data_source, const Xid& xid, int code,
                      std::string_view who);

// xa_forget of a heuristic branch whose outcome agrees with the decision, so that the RM can
// drop it. XAER_NOTA (already forgotten) is fine; anything else is logged as a warning.
void forget_heuristic(XaConnection& session, const std::string& data_source, const Xid& xid,
                      int code, std::string_view who);

}  // namespace xatm::internal

#endif  // XATM_HEURISTICS_H_
