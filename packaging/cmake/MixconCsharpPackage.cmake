# The C# package: a NuGet package made offline by Debian's nuget (on Mono),
# else a .zip with the same layout:
#   lib/net45/Mixcon.dll, Mixcon.dll.config          the assembly (+ Mono dllmap)
#   runtimes/linux-<arch>/native/libmixcon_csharp.so  the SWIG glue, RUNPATH $ORIGIN
#   runtimes/linux-<arch>/native/libmixcon.so.1       the engine
#   build/Mixcon.targets                              copies the natives beside the
#                                                     application (packages.config projects)
# Output: <build>/packaging/dist/csharp/Mixcon.<ver>.nupkg, or
# Mixcon-<ver>-linux-<arch>.zip (target mixcon_csharp_package, part of `all`).

if(NOT TARGET mixcon_csharp OR NOT TARGET mixcon_csharp_dll)
  return()
endif()
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(MIXCON_DOTNET_RID linux-x64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(MIXCON_DOTNET_RID linux-arm64)
else()
  message(STATUS "mixcon packaging: no .NET runtime id for ${CMAKE_SYSTEM_PROCESSOR}, no C# package")
  return()
endif()
find_program(MIXCON_NUGET nuget)

get_target_property(mixcon_csharp_dir mixcon_csharp LIBRARY_OUTPUT_DIRECTORY)
set(stage ${CMAKE_CURRENT_BINARY_DIR}/csharp/stage)
set(native ${stage}/runtimes/${MIXCON_DOTNET_RID}/native)
set(dist ${MIXCON_DIST_DIR}/csharp)
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/csharp/Mixcon.nuspec.in
  ${CMAKE_CURRENT_BINARY_DIR}/csharp/Mixcon.nuspec @ONLY)
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/csharp/Mixcon.targets.in
  ${CMAKE_CURRENT_BINARY_DIR}/csharp/Mixcon.targets @ONLY)

if(MIXCON_NUGET)
  set(mixcon_csharp_package ${dist}/Mixcon.${PROJECT_VERSION}.nupkg)
  # nuget keeps its settings under $HOME; give it one inside the build tree.
  set(mixcon_csharp_pack_command
    ${CMAKE_COMMAND} -E env HOME=${CMAKE_CURRENT_BINARY_DIR}/csharp/home
    ${MIXCON_NUGET} pack ${stage}/Mixcon.nuspec -BasePath ${stage}
    -OutputDirectory ${dist} -NonInteractive -Verbosity quiet)
else()
  message(STATUS "mixcon packaging: nuget not found (Debian: nuget), the C# package is a .zip")
  set(mixcon_csharp_package ${dist}/Mixcon-${PROJECT_VERSION}-${MIXCON_DOTNET_RID}.zip)
  set(mixcon_csharp_pack_command
    ${CMAKE_COMMAND} -E chdir ${stage}
    ${CMAKE_COMMAND} -E tar cf ${mixcon_csharp_package} --format=zip -- lib runtimes build)
endif()

add_custom_command(OUTPUT ${mixcon_csharp_package}
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${stage} ${dist}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${stage}/lib/net45 ${native} ${stage}/build ${dist}
  COMMAND ${CMAKE_COMMAND} -E copy ${mixcon_csharp_dir}/Mixcon.dll ${mixcon_csharp_dir}/Mixcon.dll.config
          ${stage}/lib/net45/
  COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:mixcon_csharp> ${native}/
  COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:mixcon> ${native}/$<TARGET_SONAME_FILE_NAME:mixcon>
  COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_CURRENT_BINARY_DIR}/csharp/Mixcon.targets ${stage}/build/
  COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_CURRENT_BINARY_DIR}/csharp/Mixcon.nuspec ${stage}/
  COMMAND ${mixcon_csharp_pack_command}
  DEPENDS mixcon_csharp_dll mixcon_csharp mixcon ${mixcon_csharp_dir}/Mixcon.dll
          ${CMAKE_CURRENT_BINARY_DIR}/csharp/Mixcon.nuspec
          ${CMAKE_CURRENT_BINARY_DIR}/csharp/Mixcon.targets
  COMMENT "Building the C# package ${mixcon_csharp_package}"
  VERBATIM)
add_custom_target(mixcon_csharp_package ALL DEPENDS ${mixcon_csharp_package})
set(MIXCON_CSHARP_PACKAGE_FILE ${mixcon_csharp_package})
