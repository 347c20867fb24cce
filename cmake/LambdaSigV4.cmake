# The clients' SigV4 signer (clients/src/sigv4.c) and its SHA-256 /
# HMAC-SHA256 (sigv4_crypto.c), for the targets that compile the request
# core: lambda_aws_core (clients/) and lambda::durable (durable/). The crypto
# is OpenSSL's libcrypto, or mbedTLS in the static musl build
# (-DLAMBDA_USE_MBEDTLS=ON), whose libcurl links it already; mbedcrypto is
# named, not found, so that an installed lambda::durable stays relocatable.
#
# lambda_sigv4_sources(<target>) adds the sources, the definition and the
# library to <target>, and names the library in LAMBDA_SIGV4_LIBS (for an
# archive made of <target>'s objects).
function(lambda_sigv4_sources target)
  set(src ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../clients/src)
  target_sources(${target} PRIVATE ${src}/sigv4.c ${src}/sigv4_crypto.c)
  if(LAMBDA_USE_MBEDTLS)
    target_compile_definitions(${target} PRIVATE LAMBDA_USE_MBEDTLS)
    target_link_libraries(${target} PUBLIC mbedcrypto)
    set(LAMBDA_SIGV4_LIBS mbedcrypto PARENT_SCOPE)
  else()
    find_package(OpenSSL REQUIRED COMPONENTS Crypto)
    target_link_libraries(${target} PUBLIC OpenSSL::Crypto)
    set(LAMBDA_SIGV4_LIBS OpenSSL::Crypto PARENT_SCOPE)
  endif()
endfunction()
