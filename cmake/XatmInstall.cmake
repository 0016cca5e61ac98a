# `cmake --install` puts the headers, the libraries, a CMake package config and pkg-config files
# in place, so that an outside project can `find_package(xatm)` and link `xatm::core` (or use
# `pkg-config xatm`). Every install() names its package component (XatmPackaging.cmake).
include(CMakePackageConfigHelpers)

install(DIRECTORY include/xatm DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
install(EXPORT xatmTargets NAMESPACE xatm:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/xatm
        COMPONENT dev)
configure_package_config_file(cmake/xatmConfig.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/xatmConfig.cmake"
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/xatm)
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/xatmConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/xatmConfig.cmake"
              "${CMAKE_CURRENT_BINARY_DIR}/xatmConfigVersion.cmake"
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/xatm COMPONENT dev)

include(XatmPackaging)
