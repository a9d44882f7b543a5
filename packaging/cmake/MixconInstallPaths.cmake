# Relative search paths, so that an installed tree works wherever it is
# unpacked (a prefix, a DESTDIR, the .tar.gz) and not only at the prefix it
# was configured for.

# mixcon_rpath_to_libdir(<out-var> <installed-dir>): "$ORIGIN/<path>" that
# leads from <installed-dir> (relative to the prefix) to the library directory.
function(mixcon_rpath_to_libdir out dir)
  file(RELATIVE_PATH rel /prefix/${dir} /prefix/${CMAKE_INSTALL_LIBDIR})
  set(${out} "$ORIGIN/${rel}" PARENT_SCOPE)
endfunction()

# mixcon_path_to_prefix(<out-var> <installed-dir>): the relative path from
# <installed-dir> back up to the prefix ("../.." for lib/pkgconfig).
function(mixcon_path_to_prefix out dir)
  file(RELATIVE_PATH rel /prefix/${dir} /prefix)
  string(REGEX REPLACE "/$" "" rel "${rel}")
  set(${out} "${rel}" PARENT_SCOPE)
endfunction()
