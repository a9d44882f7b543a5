# The language bindings, each only when bindings/ defined its target (a
# language whose tools are missing is skipped there). None of them installs a
# second copy of libmixcon.so.1: they find the one of libmixcon1 through the
# system loader under /usr, or through a RUNPATH relative to their own place
# under any other prefix. (The wheel, jar and NuGet package, which must stand
# alone, carry their own copy.)

# mixcon_binding_rpath(<target> <installed-dir>): keep the binding's own
# $ORIGIN (the build tree and the wheel put libmixcon.so.1 beside it) and add
# the way to the installed library directory.
function(mixcon_binding_rpath target dir)
  mixcon_rpath_to_libdir(rpath ${dir})
  set_property(TARGET ${target} APPEND PROPERTY INSTALL_RPATH "${rpath}")
endfunction()

# Python: the package folder bindings/python assembles (modules, SWIG's
# native.py, the _native extension), minus the copy of libmixcon.so.1.
if(TARGET mixcon_python)
  set(mixcon_python_dest ${MIXCON_INSTALL_PYTHONDIR}/mixcon)
  get_target_property(mixcon_python_pkgdir mixcon_python LIBRARY_OUTPUT_DIRECTORY)
  mixcon_binding_rpath(mixcon_python ${mixcon_python_dest})
  install(TARGETS mixcon_python LIBRARY DESTINATION ${mixcon_python_dest} COMPONENT python)
  install(DIRECTORY ${mixcon_python_pkgdir}/ DESTINATION ${mixcon_python_dest} COMPONENT python
    FILES_MATCHING PATTERN "*.py"
    PATTERN "__pycache__" EXCLUDE)
endif()

# Java: the versioned jar (MixconJar.cmake) with Debian's unversioned link to
# it, and the JNI library in the directory Debian's java.library.path lists
# (the jar's loader tries System.loadLibrary first, then its own copy).
if(TARGET mixcon_java)
  mixcon_binding_rpath(mixcon_java ${MIXCON_INSTALL_JNIDIR})
  install(TARGETS mixcon_java LIBRARY DESTINATION ${MIXCON_INSTALL_JNIDIR} COMPONENT java)
endif()

# C#: Mono loads Mixcon.dll's P/Invoke library from the assembly's folder, so
# the assembly, its .config (dllmap) and the SWIG glue stay together, in
# Debian's place for CLI libraries. mixcon-sharp.pc gives `mcs -pkg:mixcon-sharp`.
if(TARGET mixcon_csharp AND TARGET mixcon_csharp_dll)
  get_target_property(mixcon_csharp_dir mixcon_csharp LIBRARY_OUTPUT_DIRECTORY)
  mixcon_binding_rpath(mixcon_csharp ${MIXCON_INSTALL_CLIDIR})
  install(TARGETS mixcon_csharp LIBRARY DESTINATION ${MIXCON_INSTALL_CLIDIR} COMPONENT csharp)
  install(FILES ${mixcon_csharp_dir}/Mixcon.dll ${mixcon_csharp_dir}/Mixcon.dll.config
    DESTINATION ${MIXCON_INSTALL_CLIDIR} COMPONENT csharp)
  mixcon_path_to_prefix(MIXCON_SHARP_PC_PREFIX ${MIXCON_INSTALL_PKGCONFIGDIR})
  configure_file(${CMAKE_CURRENT_SOURCE_DIR}/csharp/mixcon-sharp.pc.in
    ${CMAKE_CURRENT_BINARY_DIR}/mixcon-sharp.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/mixcon-sharp.pc
    DESTINATION ${MIXCON_INSTALL_PKGCONFIGDIR} COMPONENT csharp)
endif()
