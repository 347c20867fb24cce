# cmake -DPREFIX=<prefix> -P relocate-pc.cmake: every pkg-config file of the
# prefix names its folders relative to itself (${pcfiledir}/../..), so the
# sysroot still works once `cmake --install` has copied it elsewhere.
file(GLOB pcs "${PREFIX}/lib/pkgconfig/*.pc" "${PREFIX}/share/pkgconfig/*.pc")
foreach(pc IN LISTS pcs)
  file(READ "${pc}" text)
  string(REPLACE "${PREFIX}" "\${pcfiledir}/../.." relocated "${text}")
  if(NOT relocated STREQUAL text)
    file(WRITE "${pc}" "${relocated}")
  endif()
endforeach()
