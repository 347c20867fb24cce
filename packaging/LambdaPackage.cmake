# lambda_package(): zip a Lambda function executable for provided.al2023.
#
#   find_package(lambda-c CONFIG REQUIRED)  # or add_subdirectory(lambda-c)
#   add_executable(my-function main.c)
#   target_link_libraries(my-function PRIVATE lambda::runtime)
#   lambda_package(my-function)             # -> target my-function-package
#
#   cmake --build build --target my-function-package
#
# What the zip holds depends on how the project is configured:
#  - with a static musl toolchain of lambda-c (toolchain-musl-<arch>.cmake,
#    which sets LAMBDA_C_STATIC_TOOLCHAIN): the executable itself, stripped,
#    as `bootstrap`: build/dist/my-function-<arch>.zip;
#  - otherwise the glibc bundle (see make-glibc-bundle.sh): the executable
#    as built against this machine's libraries, plus those libraries and the
#    dynamic loader, started by a `bootstrap` shell script:
#    build/dist/my-function-<arch>-glibc.zip.
# <arch> is Lambda's name (x86_64 or arm64) of the architecture the project
# builds for (CMAKE_SYSTEM_PROCESSOR). Either zip is reproducible
# (make-zip.sh). Options:
#   NAME <base>         zip base name (default: the target's name)
#   OUTPUT_DIR <dir>    default: ${CMAKE_BINARY_DIR}/dist
#   TARGET_NAME <name>  name of the custom target (default <target>-package)
# The zip's path is left in the target's LAMBDA_PACKAGE_ZIP property.
include_guard(GLOBAL)

# Where make-zip.sh and make-glibc-bundle.sh are: a global property, since
# lambda_package() is called from other directory scopes than this file's.
set_property(GLOBAL PROPERTY LAMBDA_PACKAGING_DIR "${CMAKE_CURRENT_LIST_DIR}")

# Lambda's architecture names: x86_64 and arm64.
function(lambda_package_arch out_var)
  set(arch "${CMAKE_SYSTEM_PROCESSOR}")
  if(arch MATCHES "^(aarch64|arm64|ARM64)$")
    set(arch arm64)
  elseif(arch MATCHES "^(x86_64|AMD64|amd64)$")
    set(arch x86_64)
  endif()
  set(${out_var} "${arch}" PARENT_SCOPE)
endfunction()

function(lambda_package target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "NAME;OUTPUT_DIR;TARGET_NAME" "")
  if(NOT TARGET ${target})
    message(FATAL_ERROR "lambda_package: no target named '${target}'")
  endif()
  if(NOT arg_NAME)
    set(arg_NAME ${target})
  endif()
  if(NOT arg_OUTPUT_DIR)
    set(arg_OUTPUT_DIR "${CMAKE_BINARY_DIR}/dist")
  endif()
  if(NOT arg_TARGET_NAME)
    set(arg_TARGET_NAME ${target}-package)
  endif()
  get_property(_LAMBDA_PACKAGING_DIR GLOBAL PROPERTY LAMBDA_PACKAGING_DIR)
  lambda_package_arch(arch)
  if(LAMBDA_C_STATIC_TOOLCHAIN)
    _lambda_package_static(${target} "${arg_OUTPUT_DIR}/${arg_NAME}-${arch}.zip" zip)
  else()
    set(zip "${arg_OUTPUT_DIR}/${arg_NAME}-${arch}-glibc.zip")
    add_custom_command(OUTPUT "${zip}"
      COMMAND bash "${_LAMBDA_PACKAGING_DIR}/make-glibc-bundle.sh"
              "$<TARGET_FILE:${target}>" "${zip}"
      DEPENDS ${target}
              "${_LAMBDA_PACKAGING_DIR}/make-glibc-bundle.sh"
              "${_LAMBDA_PACKAGING_DIR}/make-zip.sh"
      COMMENT "Bundling ${target} with its shared libraries into ${zip}"
      VERBATIM)
  endif()
  add_custom_target(${arg_TARGET_NAME} DEPENDS "${zip}")
  set_target_properties(${target} PROPERTIES LAMBDA_PACKAGE_ZIP "${zip}")
endfunction()

# The static zip: the executable stripped to <zip-root>/bootstrap, zipped.
function(_lambda_package_static target zip out_var)
  get_property(_LAMBDA_PACKAGING_DIR GLOBAL PROPERTY LAMBDA_PACKAGING_DIR)
  set(strip "${CMAKE_STRIP}")
  if(NOT strip)
    message(FATAL_ERROR "lambda_package: no strip for ${CMAKE_SYSTEM_PROCESSOR} (CMAKE_STRIP)")
  endif()
  set(root "${CMAKE_CURRENT_BINARY_DIR}/lambda-package/${target}")
  add_custom_command(OUTPUT "${zip}"
    COMMAND ${CMAKE_COMMAND} -E rm -rf "${root}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${root}"
    COMMAND "${strip}" --strip-all -o "${root}/bootstrap" "$<TARGET_FILE:${target}>"
    COMMAND bash "${_LAMBDA_PACKAGING_DIR}/make-zip.sh" "${zip}" "${root}"
    DEPENDS ${target} "${_LAMBDA_PACKAGING_DIR}/make-zip.sh"
    COMMENT "Zipping the static ${target} as bootstrap into ${zip}"
    VERBATIM)
  set(${out_var} "${zip}" PARENT_SCOPE)
endfunction()
