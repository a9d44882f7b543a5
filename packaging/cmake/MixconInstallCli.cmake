# The command-line tool and the default model: mixcon-cli (component cli).

install(TARGETS mixcon_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
# cli/ links the tool with the static library when it has the bench command
# (which needs the C++ format API), else with libmixcon.so.1. In the second
# case the library is found relative to the binary, so a --prefix install or
# the unpacked .tar.gz runs without LD_LIBRARY_PATH (under /usr it is the
# system directory anyway), and mixcon-cli depends on libmixcon1.
get_target_property(mixcon_cli_links mixcon_cli LINK_LIBRARIES)
if("mixcon" IN_LIST mixcon_cli_links)
  set(MIXCON_CLI_USES_SHARED_LIBRARY ON)
  mixcon_rpath_to_libdir(mixcon_cli_rpath ${CMAKE_INSTALL_BINDIR})
  set_property(TARGET mixcon_cli PROPERTY INSTALL_RPATH "${mixcon_cli_rpath}")
else()
  set(MIXCON_CLI_USES_SHARED_LIBRARY OFF)
endif()

# The default model ships with the tool so that `mixcon` works out of the box.
# It is produced by tools/ (trained, not built), so a tree without it still
# configures and installs; the package then lacks the model, and says so here.
if(EXISTS ${MIXCON_DEFAULT_MODEL_FILE})
  install(FILES ${MIXCON_DEFAULT_MODEL_FILE}
    DESTINATION ${MIXCON_INSTALL_MODELDIR} COMPONENT cli)
else()
  message(WARNING "mixcon packaging: ${MIXCON_DEFAULT_MODEL_FILE} does not exist; "
    "mixcon-cli will not carry the default model (re-run cmake once it does)")
endif()
# Adding the model to models/ changes the folder's time, which re-runs cmake
# at the next build, so the install rule appears without a manual step.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/models)
