// xatm's one door to its log (docs/user-guide.md, "Logging"), for the core and for drivers.
//
// Records go to Boost.Log's core with the attributes "Severity" (boost::log::trivial levels, so
// an application's trivial filters apply) and "Channel" = "xatm". xatm never adds a sink: the
// application decides where records go. Messages name the XID and the data source and never
// contain a password, nor any value of an xa_open info string.
//
//   XATM_LOG(warning) << "data source 'billing': commit of " << xid.to_string() << " failed";
//
// This header is vendor-free: Boost.Log is used behind it, in the core library only. A record
// that Boost.Log's filters would drop costs one call and formats nothing.
//
// Thread safety: XATM_LOG may be used from any thread.
#ifndef XATM_DRIVER_LOGGING_H_
#define XATM_DRIVER_LOGGING_H_

#include <memory>
#include <ostream>

namespace xatm::driver {

// The levels of boost::log::trivial, in the same order.
enum class LogSeverity { trace, debug, info, warning, error, fatal };

// One record: open (when the filters let it through) from construction, pushed on destruction.
class LogLine {
 public:
  explicit LogLine(LogSeverity severity);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  // False when the record is filtered out: nothing is formatted then.
  explicit operator bool() const { return state_ != nullptr && !done_; }
  std::ostream& stream();
  void done() { done_ = true; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  bool done_ = false;
};

}  // namespace xatm::driver

// The for-loop runs its body at most once, only for a record the filters let through.
#define XATM_LOG(level)                                                                    \
  for (::xatm::driver::LogLine xatm_log_line_(::xatm::driver::LogSeverity::level); xatm_log_line_; \
       xatm_log_line_.done())                                                              \
  xatm_log_line_.stream()

#endif  // XATM_DRIVER_LOGGING_H_
