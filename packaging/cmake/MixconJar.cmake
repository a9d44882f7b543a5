# The distributable jar: bindings/java's mixcon.jar (classes plus the JNI
# library and libmixcon.so.1 under org/mixcon/native/<os>-<arch>/) with the
# project version in its name and manifest. Output:
# <build>/packaging/dist/java/mixcon-<ver>.jar (target mixcon_versioned_jar),
# installed in share/java/ with Debian's unversioned link mixcon.jar.

if(NOT TARGET mixcon_jar OR NOT MIXCON_JAR OR NOT Java_JAR_EXECUTABLE)
  return()
endif()
set(mixcon_jar_built ${MIXCON_JAR})  # bindings/java's output
set(mixcon_jar_dist ${MIXCON_DIST_DIR}/java/mixcon-${PROJECT_VERSION}.jar)
set(mixcon_jar_link ${CMAKE_CURRENT_BINARY_DIR}/java/mixcon.jar)

configure_file(${CMAKE_CURRENT_SOURCE_DIR}/java/MANIFEST.MF.in
  ${CMAKE_CURRENT_BINARY_DIR}/java/MANIFEST.MF @ONLY)
add_custom_command(OUTPUT ${mixcon_jar_dist}
  COMMAND ${CMAKE_COMMAND} -E copy ${mixcon_jar_built} ${mixcon_jar_dist}
  COMMAND ${Java_JAR_EXECUTABLE} --update --file ${mixcon_jar_dist}
          --manifest ${CMAKE_CURRENT_BINARY_DIR}/java/MANIFEST.MF
  DEPENDS mixcon_jar ${mixcon_jar_built} ${CMAKE_CURRENT_BINARY_DIR}/java/MANIFEST.MF
  COMMENT "Versioning the jar: mixcon-${PROJECT_VERSION}.jar"
  VERBATIM)
add_custom_target(mixcon_versioned_jar ALL DEPENDS ${mixcon_jar_dist})

# Installed as a symbolic link, as Debian's Java policy asks for.
file(CREATE_LINK mixcon-${PROJECT_VERSION}.jar ${mixcon_jar_link} SYMBOLIC)
install(FILES ${mixcon_jar_dist} ${mixcon_jar_link}
  DESTINATION ${MIXCON_INSTALL_JAVADIR} COMPONENT java)
