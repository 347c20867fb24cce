# cmake "-DPATCHES=a.patch;b.patch" -P apply-patches.cmake, in a source tree:
# applies each patch (patch -p1) unless it is applied already, in order; a
# patch that neither applies nor is applied stops the build. A build tree
# whose source has the first patches of a list (from an older recipe) then
# gets the new ones without a fresh extraction, and a re-run is harmless.
find_program(PATCH_EXECUTABLE patch REQUIRED)
foreach(p IN LISTS PATCHES)
  execute_process(COMMAND ${PATCH_EXECUTABLE} -p1 -R --dry-run --quiet -i ${p}
                  RESULT_VARIABLE applied OUTPUT_QUIET ERROR_QUIET)
  if(applied EQUAL 0)
    message(STATUS "already applied: ${p}")
    continue()
  endif()
  execute_process(COMMAND ${PATCH_EXECUTABLE} -p1 --forward --quiet -i ${p}
                  RESULT_VARIABLE failed)
  if(NOT failed EQUAL 0)
    message(FATAL_ERROR "patch ${p} does not apply")
  endif()
endforeach()
