// The log tools of xatm/log_tools.h over any Env (tests use an in-memory one).
//
// Thread safety: as xatm/log_tools.h. `env` must outlive the call.
#ifndef XATM_SRC_LOG_LOG_DUMP_H_
#define XATM_SRC_LOG_LOG_DUMP_H_

#include <ostream>
#include <string>

#include "log/env.h"
#include "xatm/status.h"

namespace xatm::internal {

// What to write for each segment.
enum class LogDumpMode {
  kDump,    // every record, then the live decisions and heuristics
  kVerify,  // one line per segment and a verdict
};

// dump_log (kDump) or verify_log (kVerify) over `env`.
Status inspect_log(Env& env, const std::string& dir, LogDumpMode mode, std::ostream& out);

}  // namespace xatm::internal

#endif  // XATM_SRC_LOG_LOG_DUMP_H_
