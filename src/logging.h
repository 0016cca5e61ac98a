// xatm's one door to Boost.Log (DESIGN §9).
//
// Records go to Boost.Log's core with the attributes "Severity" (boost::log::trivial levels,
// so an application's trivial filters apply) and "Channel" = "xatm". xatm never adds a sink:
// the application decides where records go. Messages name the XID and the data source and
// never contain a password.
//
//   XATM_LOG(warning) << "data source 'billing': commit of " << xid.to_string() << " failed";
//
// Thread safety: XATM_LOG may be used from any thread.
#ifndef XATM_SRC_LOGGING_H_
#define XATM_SRC_LOGGING_H_

#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_channel_logger.hpp>
#include <boost/log/trivial.hpp>
#include <string>

namespace xatm::internal {

using Logger =
    boost::log::sources::severity_channel_logger_mt<boost::log::trivial::severity_level,
                                                    std::string>;

// The library's logger (channel "xatm").
Logger& logger();

}  // namespace xatm::internal

#define XATM_LOG(level) \
  BOOST_LOG_SEV(::xatm::internal::logger(), ::boost::log::trivial::level)

#endif  // XATM_SRC_LOGGING_H_
