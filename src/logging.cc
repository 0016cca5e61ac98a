#include "xatm/driver/logging.h"

#include <boost/log/keywords/channel.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_channel_logger.hpp>
#include <boost/log/trivial.hpp>
#include <string>

namespace xatm::driver {
namespace {

using Logger =
    boost::log::sources::severity_channel_logger_mt<boost::log::trivial::severity_level,
                                                    std::string>;

// The library's logger (channel "xatm"). A function-local static: constructed on first use,
// thread-safe since C++11, and never touches Boost.Log's sinks.
Logger& logger() {
  static Logger instance(boost::log::keywords::channel = "xatm");
  return instance;
}

}  // namespace

struct LogLine::State {
  explicit State(boost::log::record opened) : record(std::move(opened)), out(record) {}
  boost::log::record record;
  boost::log::record_ostream out;
};

LogLine::LogLine(LogSeverity severity) {
  boost::log::record record = logger().open_record(
      boost::log::keywords::severity = static_cast<boost::log::trivial::severity_level>(severity));
  if (record) state_ = std::make_unique<State>(std::move(record));
}

LogLine::~LogLine() {
  if (state_ == nullptr) return;
  state_->out.flush();
  state_->out.detach_from_record();
  logger().push_record(std::move(state_->record));
}

std::ostream& LogLine::stream() { return state_->out.stream(); }

}  // namespace xatm::driver
