# `cmake --install build --prefix P`: what an outside project needs to build
# and run its own Lambda function with lambda-c:
#
#   P/lib/liblambda_runtime.a                 the runtime (static)
#   P/include/lambda/runtime.h                its one public header
#   P/lib/liblambda_durable.a                 lambda::durable (durable functions)
#   P/include/lambda/durable.h                its one public header
#   P/bin/lambda-local                        the local Lambda (when built)
#   P/lib/cmake/lambda-c/                     the CMake package:
#       lambda-c-config.cmake                 find_package(lambda-c 0.2 CONFIG)
#       lambda-c-config-version.cmake         0.2.x is compatible with 0.2
#       lambda-c-targets.cmake                imported targets lambda::runtime,
#                                             lambda::durable
#       LambdaPackage.cmake + scripts         lambda_package(<target>)
#
# The static musl toolchains (sdk-static) install more under P/share/lambda-c
# and P/lib/lambda-c; see packaging/CMakeLists.txt.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
include(${PROJECT_SOURCE_DIR}/packaging/LambdaPackage.cmake)
lambda_package_arch(LAMBDA_INSTALL_ARCH)

set(LAMBDA_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/lambda-c" CACHE STRING
    "Where the CMake package is installed, relative to the prefix")

# Outside this tree the runtime is lambda::runtime, as the in-tree alias.
set_target_properties(lambda_runtime PROPERTIES EXPORT_NAME runtime)
install(TARGETS lambda_runtime EXPORT lambda-c-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/runtime/include/lambda/runtime.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lambda COMPONENT runtime)
# lambda::durable (durable/): the durable-functions SDK and its header.
if(TARGET lambda_durable)
  set_target_properties(lambda_durable PROPERTIES EXPORT_NAME durable)
  install(TARGETS lambda_durable EXPORT lambda-c-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime)
  install(FILES ${PROJECT_SOURCE_DIR}/durable/include/lambda/durable.h
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lambda COMPONENT runtime)
endif()
install(EXPORT lambda-c-targets NAMESPACE lambda:: FILE lambda-c-targets.cmake
  DESTINATION ${LAMBDA_CMAKE_INSTALL_DIR} COMPONENT runtime)

# lambda::durable signs its calls with OpenSSL's libcrypto (an imported
# target the package config finds), or in the static sysroot with mbedTLS,
# linked by name (cmake/LambdaSigV4.cmake).
if(TARGET lambda_durable AND NOT LAMBDA_USE_MBEDTLS)
  set(LAMBDA_CONFIG_FIND_OPENSSL ON)
else()
  set(LAMBDA_CONFIG_FIND_OPENSSL OFF)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/packaging/cmake/lambda-c-config.cmake.in
  ${PROJECT_BINARY_DIR}/lambda-c-config.cmake
  INSTALL_DESTINATION ${LAMBDA_CMAKE_INSTALL_DIR})
# 0.x: a minor version may change the API, so 0.2 accepts 0.2.* only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lambda-c-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/lambda-c-config.cmake
  ${PROJECT_BINARY_DIR}/lambda-c-config-version.cmake
  ${PROJECT_SOURCE_DIR}/packaging/LambdaPackage.cmake
  DESTINATION ${LAMBDA_CMAKE_INSTALL_DIR} COMPONENT runtime)
install(PROGRAMS
  ${PROJECT_SOURCE_DIR}/packaging/make-zip.sh
  ${PROJECT_SOURCE_DIR}/packaging/make-glibc-bundle.sh
  DESTINATION ${LAMBDA_CMAKE_INSTALL_DIR} COMPONENT runtime)

if(TARGET lambda-local)
  install(TARGETS lambda-local RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT local)
endif()

# The static musl toolchains, when `sdk-static` has built them: the sysroot
# as P/lib/lambda-c/musl-<arch>/ (its musl-gcc wrapper and specs name this
# build tree, so they stay behind: the toolchain file writes its own specs)
# and P/share/lambda-c/toolchain-musl-<arch>.cmake (fixed folders: the
# toolchain file finds the sysroot relative to itself).
if(LAMBDA_PACKAGING)
  foreach(arch x86_64 aarch64)
    if(arch STREQUAL "x86_64")
      set(dir "${CMAKE_BINARY_DIR}/musl")
    else()
      set(dir "${CMAKE_BINARY_DIR}/musl-${arch}")
    endif()
    install(DIRECTORY "${dir}/prefix/" DESTINATION lib/lambda-c/musl-${arch}
      COMPONENT sdk-static OPTIONAL USE_SOURCE_PERMISSIONS
      PATTERN "bin" EXCLUDE PATTERN "musl-gcc.specs" EXCLUDE PATTERN "*.la" EXCLUDE)
    install(FILES "${dir}/sdk/toolchain-musl-${arch}.cmake"
      DESTINATION share/lambda-c COMPONENT sdk-static OPTIONAL)
  endforeach()
endif()

# The starter: `lambda-c-new NAME [DIR]` copies share/lambda-c/starter/.
install(PROGRAMS ${PROJECT_SOURCE_DIR}/packaging/lambda-c-new
  DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT starter)
# The architecture a SAM function deploys as, for the starter's Makefile.
install(PROGRAMS ${PROJECT_SOURCE_DIR}/packaging/sam-architecture.py
  DESTINATION share/lambda-c COMPONENT starter)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/packaging/starter/
  DESTINATION share/lambda-c/starter COMPONENT starter)
