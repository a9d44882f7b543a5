# The C library for users: libmixcon1 (component lib) and libmixcon-dev
# (component dev): shared and static libraries, the public headers, the CMake
# package (targets mixcon::mixcon and mixcon::mixcon_static) and mixcon.pc.

# Headers land in include/mixcon/. Both spellings work for consumers:
# `#include <mixcon.h>` (what the samples use) and `#include <mixcon/mixcon.h>`.
set(mixcon_include_dirs ${CMAKE_INSTALL_INCLUDEDIR}/mixcon ${CMAKE_INSTALL_INCLUDEDIR})

install(TARGETS mixcon EXPORT mixconTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib NAMELINK_COMPONENT dev
  INCLUDES DESTINATION ${mixcon_include_dirs})
install(TARGETS mixcon_static EXPORT mixconStaticTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  INCLUDES DESTINATION ${mixcon_include_dirs})

# The public headers: the C ABI and its header-only C++ RAII wrapper. Globbed
# so the C++ header is picked up as soon as it exists.
file(GLOB mixcon_public_headers CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/capi/mixcon.h ${PROJECT_SOURCE_DIR}/capi/mixcon.hpp)
install(FILES ${mixcon_public_headers}
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/mixcon COMPONENT dev)

# The shared library exposes only the C ABI (a version script hides the rest),
# so a program that links it needs none of the libraries it was built from.
# The top-level CMakeLists.txt links those PUBLIC, which would make every
# consumer of the exported mixcon::mixcon find zstd, SentencePiece, OpenMP and
# CUDA too. Keep them for in-tree users only. Deferred to the end of the
# top-level directory, after the CUDA backend attaches its libraries.
function(mixcon_private_link_interface)
  get_target_property(libs mixcon INTERFACE_LINK_LIBRARIES)
  if(NOT libs)
    return()
  endif()
  set(wrapped "")
  foreach(lib IN LISTS libs)
    if(lib MATCHES "^\\$<BUILD_INTERFACE:")
      list(APPEND wrapped "${lib}")
    else()
      list(APPEND wrapped "$<BUILD_INTERFACE:${lib}>")
    endif()
  endforeach()
  set_property(TARGET mixcon PROPERTY INTERFACE_LINK_LIBRARIES "${wrapped}")
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL mixcon_private_link_interface)

install(EXPORT mixconTargets NAMESPACE mixcon::
  DESTINATION ${MIXCON_INSTALL_CMAKEDIR} COMPONENT dev)
install(EXPORT mixconStaticTargets NAMESPACE mixcon::
  DESTINATION ${MIXCON_INSTALL_CMAKEDIR} COMPONENT dev)

# While the major version is 0 a minor release may break the API (semver), so
# only the same 0.minor is compatible; from 1.0 on, the same major.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(mixcon_compatibility SameMinorVersion)
else()
  set(mixcon_compatibility SameMajorVersion)
endif()
configure_package_config_file(
  ${CMAKE_CURRENT_SOURCE_DIR}/mixconConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/mixconConfig.cmake
  INSTALL_DESTINATION ${MIXCON_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR MIXCON_INSTALL_MODELDIR)
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/mixconConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${mixcon_compatibility})
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/mixconConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/mixconConfigVersion.cmake
  DESTINATION ${MIXCON_INSTALL_CMAKEDIR} COMPONENT dev)

# pkg-config. The prefix is found from the .pc file's own place, so an
# installed tree can be moved (a --prefix install, the .tar.gz). What the
# static library needs goes in the .private fields, read with --static.
mixcon_path_to_prefix(MIXCON_PC_PREFIX_FROM_PCFILEDIR ${MIXCON_INSTALL_PKGCONFIGDIR})
set(MIXCON_PC_LIBS_PRIVATE "-fopenmp -lstdc++ -lm -lpthread")
# The CUDA backend's libraries, as kernels/cuda lists them: full paths stay,
# bare names (dl, rt) become -l flags.
get_property(mixcon_cuda_libraries GLOBAL PROPERTY MIXCON_CUDA_LIBRARIES)
if(MIXCON_CUDA)
  foreach(lib IN LISTS mixcon_cuda_libraries)
    if(lib MATCHES "^(/|-)")
      string(APPEND MIXCON_PC_LIBS_PRIVATE " ${lib}")
    elseif(lib)
      string(APPEND MIXCON_PC_LIBS_PRIVATE " -l${lib}")
    endif()
  endforeach()
endif()
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/mixcon.pc.in
  ${CMAKE_CURRENT_BINARY_DIR}/mixcon.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/mixcon.pc
  DESTINATION ${MIXCON_INSTALL_PKGCONFIGDIR} COMPONENT dev)
