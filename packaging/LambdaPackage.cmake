# lambda_package(): zip a Lambda function executable for provided.al2023.
#
#   include(path/to/lambda-c/packaging/LambdaPackage.cmake)
#   add_executable(my-function main.c)
#   target_link_libraries(my-function PRIVATE lambda::runtime)
#   lambda_package(my-function)            # -> target my-function-package-glibc
#
#   cmake --build build --target my-function-package-glibc
#     -> build/dist/my-function-x86_64-glibc.zip
#
# The zip is the glibc bundle (see make-glibc-bundle.sh): the executable as
# built against this machine's libraries, plus those libraries and the
# dynamic loader, started by a `bootstrap` shell script. Options:
#   NAME <base>         zip base name (default: the target's name)
#   OUTPUT_DIR <dir>    default: ${CMAKE_BINARY_DIR}/dist
#   TARGET_NAME <name>  name of the custom target (default <target>-package-glibc)
# The fully static musl zip (smaller, no loader) is made by the superbuild in
# packaging/superbuild; see packaging/README.md.
include_guard(GLOBAL)

set(_LAMBDA_PACKAGING_DIR "${CMAKE_CURRENT_LIST_DIR}")

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
    set(arg_TARGET_NAME ${target}-package-glibc)
  endif()
  lambda_package_arch(arch)
  set(zip "${arg_OUTPUT_DIR}/${arg_NAME}-${arch}-glibc.zip")

  add_custom_command(OUTPUT "${zip}"
    COMMAND bash "${_LAMBDA_PACKAGING_DIR}/make-glibc-bundle.sh"
            "$<TARGET_FILE:${target}>" "${zip}"
    DEPENDS ${target}
            "${_LAMBDA_PACKAGING_DIR}/make-glibc-bundle.sh"
            "${_LAMBDA_PACKAGING_DIR}/make-zip.sh"
    COMMENT "Bundling ${target} with its shared libraries into ${zip}"
    VERBATIM)
  add_custom_target(${arg_TARGET_NAME} DEPENDS "${zip}")
endfunction()
