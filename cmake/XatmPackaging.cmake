# Shared-library versions, pkg-config files and Debian packages (issue 17, DESIGN §12).
#
# - Every library gets VERSION and SOVERSION: with -DBUILD_SHARED_LIBS=ON it is
#   libxatm.so.<major>.<minor> (0.x releases may break the ABI at every minor version, so
#   the minor is part of the SONAME until 1.0). Static libraries (the default) are unchanged.
# - One pkg-config file per library (xatm, xatm-mysql, xatm-postgresql, xatm-tx, xatm-prometheus) beside
#   the CMake package, with the private link lines a static build needs (pkg-config --static).
# - CPack: `cpack -G DEB` in a build tree makes libxatm (shared libraries and the switch
#   modules), libxatm-dev (headers, CMake package, pkg-config files) and xatm-tools
#   (xatm-recover). Build the tree with -DBUILD_SHARED_LIBS=ON for packages.

if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(XATM_SOVERSION "${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}")
else()
  set(XATM_SOVERSION "${PROJECT_VERSION_MAJOR}")
endif()
foreach(target IN ITEMS xatm_core xatm_mysql xatm_postgresql xatm_prometheus xatm_tx)
  if(TARGET ${target})
    set_target_properties(${target} PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${XATM_SOVERSION})
  endif()
endforeach()

# --- pkg-config ---
set(xatm_pc_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
file(RELATIVE_PATH XATM_PC_TO_PREFIX "/prefix/${xatm_pc_dir}" "/prefix")
string(REGEX REPLACE "/$" "" XATM_PC_TO_PREFIX "${XATM_PC_TO_PREFIX}")

# xatm_pkg_config(<file> <target> <description> REQUIRES ... PRIVATE_REQUIRES ... LIBS ...
#                 PRIVATE_LIBS ...)
function(xatm_pkg_config file target description)
  cmake_parse_arguments(PARSE_ARGV 3 arg "" "" "REQUIRES;PRIVATE_REQUIRES;LIBS;PRIVATE_LIBS")
  set(XATM_PC_NAME ${file})
  get_target_property(XATM_PC_LIBRARY ${target} OUTPUT_NAME)
  if(NOT XATM_PC_LIBRARY)
    set(XATM_PC_LIBRARY ${target})
  endif()
  set(XATM_PC_DESCRIPTION ${description})
  list(JOIN arg_REQUIRES ", " XATM_PC_REQUIRES)
  list(JOIN arg_PRIVATE_REQUIRES ", " XATM_PC_REQUIRES_PRIVATE)
  list(JOIN arg_LIBS " " XATM_PC_LIBS)
  list(JOIN arg_PRIVATE_LIBS " " XATM_PC_LIBS_PRIVATE)
  set(XATM_PC_CFLAGS "")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/pkgconfig/xatm.pc.in
                 ${PROJECT_BINARY_DIR}/pkgconfig/${file}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${file}.pc DESTINATION ${xatm_pc_dir}
          COMPONENT dev)
endfunction()

# Boost.Log's own libraries and what they pull in, for static links (Debian's Boost has no
# pkg-config files).
xatm_pkg_config(xatm xatm_core "xatm transaction manager: the core (XA TM, decision log, recovery)"
  LIBS -lpthread -ldl
  PRIVATE_LIBS -lboost_log_setup -lboost_log -lboost_thread -lboost_filesystem -lboost_regex
               -lboost_atomic -lboost_chrono)
if(TARGET xatm_mysql)
  xatm_pkg_config(xatm-mysql xatm_mysql "xatm's MariaDB/MySQL driver (Connector/C++)"
    REQUIRES xatm LIBS -lmysqlcppconn)
endif()
# libpq by name, not `Requires.private: libpq`: with --static that would ask for libpq's own
# static dependencies, while xatm always links the shared libpq (the public header does not
# include libpq-fe.h).
if(TARGET xatm_postgresql)
  xatm_pkg_config(xatm-postgresql xatm_postgresql "xatm's PostgreSQL driver (libpq)"
    REQUIRES xatm PRIVATE_LIBS -lpq)
endif()
if(TARGET xatm_tx)
  xatm_pkg_config(xatm-tx xatm_tx "xatm's X/Open TX C API (tx.h)"
    REQUIRES xatm-mysql xatm-postgresql LIBS -lpq)
endif()
if(TARGET xatm_prometheus)
  xatm_pkg_config(xatm-prometheus xatm_prometheus "xatm's metrics on a prometheus-cpp registry"
    REQUIRES xatm LIBS -lprometheus-cpp-core)
endif()

# --- Debian packages ---
set(CPACK_PACKAGE_NAME xatm)
set(CPACK_PACKAGE_VENDOR "xatm")
set(CPACK_PACKAGE_CONTACT "xatm maintainers <maintainers@xatm.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "XA transaction manager for MariaDB/MySQL and PostgreSQL")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
# dpkg-shlibdeps works out what the shared libraries and the tool need (Boost.Log, libpq,
# Connector/C++); our own libraries are found in the package being built.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
    ${PROJECT_BINARY_DIR}/src ${PROJECT_BINARY_DIR}/drivers/mysql ${PROJECT_BINARY_DIR}/drivers/postgresql
    ${PROJECT_BINARY_DIR}/src/prometheus)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libxatm)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libxatm-dev)
set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME xatm-tools)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libxatm (= ${PROJECT_VERSION}), libboost-log-dev, libmysqlcppconn-dev, libpq-dev")
if(TARGET xatm_prometheus)  # xatmConfig.cmake then finds prometheus-cpp
  string(APPEND CPACK_DEBIAN_DEV_PACKAGE_DEPENDS ", prometheus-cpp-dev")
endif()
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS "libxatm (= ${PROJECT_VERSION})")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "xatm: shared libraries and XA switch modules")
set(CPACK_COMPONENT_DEV_DESCRIPTION "xatm: headers, CMake package and pkg-config files")
set(CPACK_COMPONENT_TOOLS_DESCRIPTION "xatm: xatm-recover, the recovery tool")
include(CPack)
