# Install rules, the CMake package (find_package(fedactor) ->
# fedactor::fedactor) and the CPack .deb.
#
# Layout under the prefix:
#   bin/fl-node
#   include/fedactor/fedactor.hpp          the umbrella header
#   include/fedactor/{actors,cli,messages,runtime}/...  the headers it uses,
#                                          by their source-tree paths
#   lib/<multiarch>/libfl_*.a              the static libraries
#   lib/<multiarch>/cmake/fedactor/        package config, targets, FindCAF
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(FL_LIBRARY_TARGETS fl_core fl_data fl_training fl_torch fl_compression
    fl_aggregation fl_storage fl_federation fl_gossip fl_net fl_messages fl_actors
    fl_bench fl_cli)
set(FL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/fedactor)

install(TARGETS fedactor ${FL_LIBRARY_TARGETS}
  EXPORT fedactorTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
                       ${CMAKE_INSTALL_INCLUDEDIR}/fedactor)
install(TARGETS fl-node RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(DIRECTORY actors cli messages runtime
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fedactor
  FILES_MATCHING PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/messages/fl.capnp.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fedactor/messages)
install(FILES cli/fedactor.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fedactor)
# The wire schema, for peers written in other languages.
install(FILES messages/fl.capnp
  DESTINATION ${CMAKE_INSTALL_DATADIR}/fedactor)

install(EXPORT fedactorTargets NAMESPACE fedactor::
  DESTINATION ${FL_CMAKE_DIR})
configure_package_config_file(cmake/fedactorConfig.cmake.in
  ${PROJECT_BINARY_DIR}/fedactorConfig.cmake
  INSTALL_DESTINATION ${FL_CMAKE_DIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/fedactorConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/fedactorConfig.cmake
              ${PROJECT_BINARY_DIR}/fedactorConfigVersion.cmake
              cmake/FindCAF.cmake
  DESTINATION ${FL_CMAKE_DIR})

# One .deb with fl-node, the library and its CMake package. The -dev
# packages it depends on bring the runtime libraries fl-node needs and the
# headers an application building against the package needs.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fedactor)
set(CPACK_PACKAGE_VENDOR "fedactor")
set(CPACK_PACKAGE_CONTACT "fedactor maintainers <fedactor@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Federated-learning engine on the C++ Actor Framework (fl-node, library)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libcaf-dev (>= 0.17), libcapnp-dev, capnproto, libtorch-dev (>= 1.13), \
libopenblas0-openmp, libspdlog-dev, libfmt-dev, libcli11-dev, \
libtomlplusplus-dev, zlib1g-dev, libssl-dev")
# The exact shared libraries fl-node links (e.g. libcaf-core0.17), from
# dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
include(CPack)
