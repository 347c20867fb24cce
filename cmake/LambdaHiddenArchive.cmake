# lambda_hidden_archive(NAME OBJECT_LIBRARY)
#
# Makes the static library NAME from the objects of OBJECT_LIBRARY (compiled
# with hidden visibility) so that only the symbols marked visible -- the
# public header's -- stay global: the objects are linked into one relocatable
# object (`ld -r`), whose hidden symbols are then made local (`objcopy
# --localize-hidden`). A program that links NAME sees the public API only and
# cannot clash with the library's internal names; `nm NAME` lists the API.
# Tests that call internal functions link OBJECT_LIBRARY's objects instead.
#
# The linker and objcopy are the toolchain's own (CMAKE_LINKER,
# CMAKE_OBJCOPY): a cross or musl toolchain file that CMake cannot guess them
# for must set both (e.g. aarch64-linux-gnu-ld / aarch64-linux-gnu-objcopy).
function(lambda_hidden_archive name objlib)
  foreach(tool CMAKE_LINKER CMAKE_OBJCOPY)
    if(NOT ${tool})
      message(FATAL_ERROR "${name}: ${tool} is not set (the toolchain's ld / objcopy)")
    endif()
  endforeach()
  set(single ${CMAKE_CURRENT_BINARY_DIR}/${name}.o)
  add_custom_command(OUTPUT ${single}
    COMMAND ${CMAKE_LINKER} -r -o ${single} $<TARGET_OBJECTS:${objlib}>
    COMMAND ${CMAKE_OBJCOPY} --localize-hidden ${single}
    DEPENDS ${objlib} $<TARGET_OBJECTS:${objlib}>
    COMMAND_EXPAND_LISTS
    VERBATIM
    COMMENT "Linking ${name}.o (internal symbols made local)")
  add_library(${name} STATIC ${single})
  set_target_properties(${name} PROPERTIES LINKER_LANGUAGE C)
  add_dependencies(${name} ${objlib})
endfunction()
