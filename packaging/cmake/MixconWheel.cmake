# The Python wheel: the package folder bindings/python assembles (modules,
# native.py, the _native extension and its copy of libmixcon.so.1, found
# through RUNPATH $ORIGIN), wrapped by Debian's setuptools + wheel, offline.
# Output: <build>/packaging/dist/python/mixcon-<ver>-cp3X-cp3X-linux_<arch>.whl
# (target mixcon_wheel, part of `all`).

if(NOT TARGET mixcon_python)
  return()
endif()
# The same interpreter the extension was built for (bindings/python makes the
# same choice): its ABI is in the extension's and the wheel's names.
if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
  set(Python3_EXECUTABLE /usr/bin/python3)
endif()
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  return()
endif()
set(mixcon_wheel_python ${Python3_EXECUTABLE})
execute_process(
  COMMAND ${mixcon_wheel_python} -c "import setuptools, wheel"
  RESULT_VARIABLE mixcon_wheel_tools_missing OUTPUT_QUIET ERROR_QUIET)
if(mixcon_wheel_tools_missing)
  message(STATUS "mixcon packaging: setuptools/wheel missing for ${mixcon_wheel_python} "
    "(Debian: python3-setuptools python3-wheel), no wheel")
  return()
endif()

get_target_property(mixcon_python_pkgdir mixcon_python LIBRARY_OUTPUT_DIRECTORY)
set(mixcon_wheel_stage ${CMAKE_CURRENT_BINARY_DIR}/python/stage)
set(mixcon_wheel_dist ${MIXCON_DIST_DIR}/python)
set(mixcon_wheel_stamp ${CMAKE_CURRENT_BINARY_DIR}/python/wheel.stamp)
# The wheel only runs on the CPython minor version the extension was built for.
set(MIXCON_WHEEL_PYTHON_REQUIRES
  ">=${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR},<${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}.999")
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/python/setup.py.in
  ${CMAKE_CURRENT_BINARY_DIR}/python/setup.py.configured @ONLY)
# The native file names are only known at generate time.
file(GENERATE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/python/setup.py
  INPUT ${CMAKE_CURRENT_BINARY_DIR}/python/setup.py.configured)

file(GLOB mixcon_python_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/bindings/python/mixcon/*.py)
add_custom_command(OUTPUT ${mixcon_wheel_stamp}
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${mixcon_wheel_stage} ${mixcon_wheel_dist}
  COMMAND ${CMAKE_COMMAND} -E copy_directory ${mixcon_python_pkgdir} ${mixcon_wheel_stage}/mixcon
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${mixcon_wheel_stage}/mixcon/__pycache__
  COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_CURRENT_BINARY_DIR}/python/setup.py ${mixcon_wheel_stage}/setup.py
  COMMAND ${CMAKE_COMMAND} -E chdir ${mixcon_wheel_stage}
          ${CMAKE_COMMAND} -E env PYTHONDONTWRITEBYTECODE=1
          ${mixcon_wheel_python} setup.py --quiet bdist_wheel --dist-dir ${mixcon_wheel_dist}
  COMMAND ${CMAKE_COMMAND} -E touch ${mixcon_wheel_stamp}
  DEPENDS mixcon_python ${mixcon_python_sources} ${CMAKE_CURRENT_BINARY_DIR}/python/setup.py
  COMMENT "Building the Python wheel"
  VERBATIM)
add_custom_target(mixcon_wheel ALL DEPENDS ${mixcon_wheel_stamp})
