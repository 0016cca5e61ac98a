# Finds MySQL Connector/C++ 1.1 (the legacy JDBC-like API: cppconn/*.h, mysql_driver.h,
# libmysqlcppconn). On Debian it is the libmysqlcppconn-dev package.
#
# Defines MySQLConnectorCpp_FOUND, MySQLConnectorCpp_INCLUDE_DIR, MySQLConnectorCpp_LIBRARY,
# MySQLConnectorCpp_VERSION (from cppconn/version_info.h when present) and the imported target
# MySQLConnectorCpp::MySQLConnectorCpp.
find_path(MySQLConnectorCpp_INCLUDE_DIR NAMES mysql_driver.h cppconn/driver.h
          PATH_SUFFIXES mysql-cppconn-8 mysql-cppconn)
find_library(MySQLConnectorCpp_LIBRARY NAMES mysqlcppconn)

if(MySQLConnectorCpp_INCLUDE_DIR AND EXISTS "${MySQLConnectorCpp_INCLUDE_DIR}/cppconn/version_info.h")
  set(MySQLConnectorCpp_VERSION "")
  foreach(_xatm_part MAJOR MINOR PATCH)
    file(STRINGS "${MySQLConnectorCpp_INCLUDE_DIR}/cppconn/version_info.h" _xatm_line
         REGEX "^#define MYCPPCONN_DM_${_xatm_part}_VERSION[ \t]+[0-9]+")
    string(REGEX REPLACE ".*VERSION[ \t]+([0-9]+).*" "\\1" _xatm_number "${_xatm_line}")
    list(APPEND MySQLConnectorCpp_VERSION "${_xatm_number}")
  endforeach()
  list(JOIN MySQLConnectorCpp_VERSION "." MySQLConnectorCpp_VERSION)
  unset(_xatm_part)
  unset(_xatm_line)
  unset(_xatm_number)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(MySQLConnectorCpp
  REQUIRED_VARS MySQLConnectorCpp_LIBRARY MySQLConnectorCpp_INCLUDE_DIR
  VERSION_VAR MySQLConnectorCpp_VERSION)
mark_as_advanced(MySQLConnectorCpp_INCLUDE_DIR MySQLConnectorCpp_LIBRARY)

if(MySQLConnectorCpp_FOUND AND NOT TARGET MySQLConnectorCpp::MySQLConnectorCpp)
  add_library(MySQLConnectorCpp::MySQLConnectorCpp UNKNOWN IMPORTED)
  set_target_properties(MySQLConnectorCpp::MySQLConnectorCpp PROPERTIES
    IMPORTED_LOCATION "${MySQLConnectorCpp_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${MySQLConnectorCpp_INCLUDE_DIR}")
endif()
