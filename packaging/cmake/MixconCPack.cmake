# CPack: one Debian package per component, with the dependencies between them,
# and one .tar.gz of the whole install.
#   cpack -G DEB   (or `cmake --build <build> --target package` for both)
# The version is the project's; the runtime package is named after the ABI
# version (libmixcon1 holds libmixcon.so.1), as Debian names libraries.

set(mixcon_components lib dev cli)
if(TARGET mixcon_java)
  list(APPEND mixcon_components java)
endif()
if(TARGET mixcon_python)
  list(APPEND mixcon_components python)
endif()
if(TARGET mixcon_csharp AND TARGET mixcon_csharp_dll)
  list(APPEND mixcon_components csharp)
endif()
# Only these; anything installed without a component stays out of the packages.
set(CPACK_COMPONENTS_ALL ${mixcon_components})

set(CPACK_PACKAGE_NAME mixcon)
set(CPACK_PACKAGE_VENDOR "MixCon developers")
set(MIXCON_PACKAGE_CONTACT "MixCon developers <mixcon@localhost>" CACHE STRING
  "Maintainer of the .deb packages (Debian's Maintainer field)")
set(CPACK_PACKAGE_CONTACT "${MIXCON_PACKAGE_CONTACT}")
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPackDeb would put that one line on
# top of every package's description; each component's first line is its own
# Debian synopsis instead.
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB TGZ)
# `make package_source`: the source tree without build folders, VCS data or caches.
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\.git/" "/build[^/]*/" "__pycache__" "\\.pyc$")
set(CPACK_STRIP_FILES ON)

# .tar.gz: everything, in one archive, laid out like the install prefix.
set(CPACK_ARCHIVE_COMPONENT_INSTALL OFF)

# .deb: one package per component.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(mixcon_lib_package libmixcon${MIXCON_ABI_VERSION})
# Depends of other components on the runtime package: exactly this build,
# because the bindings and the tool are built against this libmixcon.
set(CPACK_COMPONENT_DEV_DEPENDS lib)
if(MIXCON_CLI_USES_SHARED_LIBRARY)
  set(CPACK_COMPONENT_CLI_DEPENDS lib)
else()
  # The tool carries the engine (static link): its Depends are the system
  # libraries it links, from dpkg-shlibdeps.
  set(CPACK_DEBIAN_CLI_PACKAGE_SHLIBDEPS ON)
endif()
set(CPACK_COMPONENT_JAVA_DEPENDS lib)
set(CPACK_COMPONENT_PYTHON_DEPENDS lib)
set(CPACK_COMPONENT_CSHARP_DEPENDS lib)

set(CPACK_COMPONENT_LIB_DISPLAY_NAME "MixCon runtime library")
set(CPACK_COMPONENT_LIB_DESCRIPTION
  "MixCon inference engine - runtime library\n\
MixCon runs hybrid Conba/attention language models on CPU (and CUDA when built\n\
with it). This package holds libmixcon.so.${MIXCON_ABI_VERSION}, the engine behind the C API of mixcon.h.")
set(CPACK_DEBIAN_LIB_PACKAGE_NAME ${mixcon_lib_package})
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
# A shlibs file, so packages built against libmixcon get their Depends from
# dpkg-shlibdeps (CPack adds the postinst/postrm that run ldconfig).
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)  # only libmixcon1 holds a versioned library
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# dpkg-shlibdeps refuses a shared library that no Debian package owns, such as
# NVIDIA's CUDA runtime from its own installer (/usr/local/cuda). The CUDA
# backend links the runtime statically and loads cuBLAS at run time, so this
# only matters if it ever links a CUDA .so: then Debian's part of Depends is
# listed by hand, and the CUDA runtime must be on the target.
get_property(mixcon_cuda_libraries GLOBAL PROPERTY MIXCON_CUDA_LIBRARIES)
set(mixcon_links_foreign_shared OFF)
if(MIXCON_CUDA)
  foreach(lib IN LISTS mixcon_cuda_libraries)
    if(lib MATCHES "\\.so(\\.[0-9]+)*$")
      set(mixcon_links_foreign_shared ON)
    endif()
  endforeach()
endif()
if(mixcon_links_foreign_shared)
  set(CPACK_DEBIAN_LIB_PACKAGE_SHLIBDEPS OFF)
  set(CPACK_DEBIAN_LIB_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libgcc-s1, libgomp1, libstdc++6 (>= 12), libzstd1, libsentencepiece0, libxxhash0")
else()
  set(CPACK_DEBIAN_LIB_PACKAGE_SHLIBDEPS ON)
endif()

set(CPACK_COMPONENT_DEV_DISPLAY_NAME "MixCon development files")
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "MixCon inference engine - development files\n\
Headers (mixcon.h, mixcon.hpp), libmixcon.so, the static libmixcon.a, the CMake\n\
package (find_package(mixcon), targets mixcon::mixcon and mixcon::mixcon_static)\n\
and mixcon.pc for pkg-config.")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libmixcon-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# What libmixcon.a and mixcon.pc's Requires.private need at link time.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libzstd-dev, libsentencepiece-dev, libxxhash-dev")

set(CPACK_COMPONENT_CLI_DISPLAY_NAME "MixCon command-line tool")
set(CPACK_COMPONENT_CLI_DESCRIPTION
  "MixCon inference engine - command-line tool and default model\n\
The mixcon tool (run, info, logits, bench) and the default model\n\
${MIXCON_INSTALL_MODELDIR}/mixcon-brown.mixc.")
set(CPACK_DEBIAN_CLI_PACKAGE_NAME mixcon-cli)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION science)

set(CPACK_COMPONENT_JAVA_DISPLAY_NAME "MixCon Java binding")
set(CPACK_COMPONENT_JAVA_DESCRIPTION
  "MixCon inference engine - Java binding\n\
mixcon.jar (package org.mixcon) and its JNI library.")
set(CPACK_DEBIAN_JAVA_PACKAGE_NAME libmixcon-java)
set(CPACK_DEBIAN_JAVA_PACKAGE_SECTION java)
set(CPACK_DEBIAN_JAVA_PACKAGE_DEPENDS "default-jre-headless (>= 2:1.11) | java11-runtime-headless")

set(CPACK_COMPONENT_PYTHON_DISPLAY_NAME "MixCon Python binding")
set(CPACK_COMPONENT_PYTHON_DESCRIPTION
  "MixCon inference engine - Python 3 binding\n\
The mixcon package for Python 3.")
set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-mixcon)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
if(DEFINED Python3_VERSION_MINOR)
  # The extension is built for one CPython minor version.
  math(EXPR mixcon_python_next "${Python3_VERSION_MINOR} + 1")
  set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS
    "python3 (>= ${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}), python3 (<< ${Python3_VERSION_MAJOR}.${mixcon_python_next})")
else()
  set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS "python3")
endif()

set(CPACK_COMPONENT_CSHARP_DISPLAY_NAME "MixCon C# binding")
set(CPACK_COMPONENT_CSHARP_DESCRIPTION
  "MixCon inference engine - C# binding for Mono\n\
Mixcon.dll (namespace Mixcon) with its native glue; mcs -pkg:mixcon-sharp.")
set(CPACK_DEBIAN_CSHARP_PACKAGE_NAME libmixcon-cil)
set(CPACK_DEBIAN_CSHARP_PACKAGE_SECTION cli-mono)
set(CPACK_DEBIAN_CSHARP_PACKAGE_DEPENDS "mono-runtime (>= 6)")

include(CPack)
