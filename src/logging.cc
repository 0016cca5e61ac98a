#include "logging.h"

#include <boost/log/keywords/channel.hpp>

namespace xatm::internal {

Logger& logger() {
  // A function-local static: constructed on first use, thread-safe since C++11, and never
  // touches Boost.Log's sinks.
  static Logger instance(boost::log::keywords::channel = "xatm");
  return instance;
}

}  // namespace xatm::internal
