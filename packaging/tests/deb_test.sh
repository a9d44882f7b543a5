#!/bin/bash
# Builds the packages with CPack into a temporary folder (cpack -G "DEB;TGZ"
# with the build's CPackConfig.cmake), then checks, for each .deb given as an
# argument:
#   - its Version, and Depends on the runtime package (= this version);
#   - that each file is in the package that should hold it (dpkg-deb -c);
# unpacks them all into one temporary root (dpkg-deb -x) and uses that root:
# the CLI runs and finds the library, the Python binding imports, the jar
# carries the version. Finally the .tar.gz holds the whole install.
# Usage: deb_test.sh PACKAGE...
source "$(dirname "$0")/common.sh"
need_env CPACK_COMMAND MIXCON_BUILD_DIR MIXCON_VERSION MIXCON_ABI_VERSION MIXCON_LIBDIR \
  MIXCON_INCLUDEDIR MIXCON_BINDIR MIXCON_MODELDIR MIXCON_CMAKEDIR MIXCON_PKGCONFIGDIR \
  MIXCON_PYTHONDIR MIXCON_JAVADIR MIXCON_JNIDIR MIXCON_CLIDIR
(($# > 0)) || fail "usage: deb_test.sh PACKAGE..."
packages=("$@")
arch=$(dpkg --print-architecture)
runtime=libmixcon$MIXCON_ABI_VERSION
out=$WORK/packages
root=$WORK/root

timeout 180 "$CPACK_COMMAND" -G "DEB;TGZ" --config "$MIXCON_BUILD_DIR/CPackConfig.cmake" -B "$out" \
  >"$WORK/cpack.log" 2>&1 || { tail -40 "$WORK/cpack.log"; fail "cpack failed"; }

declare -A deb
for p in "${packages[@]}"; do
  deb[$p]=$out/${p}_${MIXCON_VERSION}_${arch}.deb
  expect_file "${deb[$p]}"
  [[ "$(dpkg-deb -f "${deb[$p]}" Version)" == "$MIXCON_VERSION" ]] || fail "$p: Version is not $MIXCON_VERSION"
  depends=$(dpkg-deb -f "${deb[$p]}" Depends)
  echo "$p: Depends: $depends"
  if [[ "$p" == mixcon-cli ]]; then
    cli_depends=$depends  # checked below, once it is known how the tool links
  elif [[ "$p" != "$runtime" ]]; then
    [[ "$depends" == *"$runtime (= $MIXCON_VERSION)"* ]] || fail "$p does not depend on $runtime (= $MIXCON_VERSION)"
  else
    [[ "$depends" == *libzstd1* && "$depends" == *libsentencepiece0* ]] \
      || fail "$runtime does not depend on the libraries it links"
  fi
  dpkg-deb -c "${deb[$p]}" | awk '{print $6}' | sed 's|^\./||' >"$WORK/$p.list"
  dpkg-deb -x "${deb[$p]}" "$root"
done

# holds PACKAGE PATH...: each path (relative to /) is in PACKAGE and unpacked.
holds() {
  local p=$1 f
  shift
  [[ -n "${deb[$p]:-}" ]] || return 0  # a binding that this build does not have
  for f in "$@"; do
    grep -qxF "$f" "$WORK/$p.list" || fail "$p does not hold /$f"
    [[ -e "$root/$f" || -L "$root/$f" ]] || fail "/$f is not in the unpacked root"
  done
}
# lacks PACKAGE PATH...: each path is not in PACKAGE (it belongs to another).
lacks() {
  local p=$1 f
  shift
  for f in "$@"; do
    if grep -qxF "$f" "$WORK/$p.list"; then fail "$p holds /$f, which belongs elsewhere"; fi
  done
}

u=usr
holds "$runtime" "$u/$MIXCON_LIBDIR/libmixcon.so.$MIXCON_ABI_VERSION" "$u/$MIXCON_LIBDIR/libmixcon.so.$MIXCON_VERSION"
lacks "$runtime" "$u/$MIXCON_LIBDIR/libmixcon.so" "$u/$MIXCON_INCLUDEDIR/mixcon/mixcon.h"
control=$(dpkg-deb --ctrl-tarfile "${deb[$runtime]}" | tar -t)
[[ "$control" == *shlibs* ]] || fail "$runtime has no shlibs file"
holds libmixcon-dev "$u/$MIXCON_INCLUDEDIR/mixcon/mixcon.h" "$u/$MIXCON_LIBDIR/libmixcon.so" \
  "$u/$MIXCON_LIBDIR/libmixcon.a" "$u/$MIXCON_CMAKEDIR/mixconConfig.cmake" \
  "$u/$MIXCON_CMAKEDIR/mixconConfigVersion.cmake" "$u/$MIXCON_CMAKEDIR/mixconTargets.cmake" \
  "$u/$MIXCON_PKGCONFIGDIR/mixcon.pc"
holds mixcon-cli "$u/$MIXCON_BINDIR/mixcon"
if [[ -f "${MIXCON_DEFAULT_MODEL:-}" ]]; then
  holds mixcon-cli "$u/$MIXCON_MODELDIR/mixcon-brown.mixc"
  cmp -s "$MIXCON_DEFAULT_MODEL" "$root/$u/$MIXCON_MODELDIR/mixcon-brown.mixc" || fail "the packaged model differs"
fi
holds libmixcon-java "$u/$MIXCON_JAVADIR/mixcon-$MIXCON_VERSION.jar" "$u/$MIXCON_JAVADIR/mixcon.jar" \
  "$u/$MIXCON_JNIDIR/libmixcon_jni.so"
holds python3-mixcon "$u/$MIXCON_PYTHONDIR/mixcon/__init__.py" "$u/$MIXCON_PYTHONDIR/mixcon/native.py"
holds libmixcon-cil "$u/$MIXCON_CLIDIR/Mixcon.dll" "$u/$MIXCON_CLIDIR/Mixcon.dll.config" \
  "$u/$MIXCON_CLIDIR/libmixcon_csharp.so" "$u/$MIXCON_PKGCONFIGDIR/mixcon-sharp.pc"
for p in "${packages[@]}"; do
  [[ "$p" == "$runtime" ]] && continue
  lacks "$p" "$u/$MIXCON_LIBDIR/libmixcon.so.$MIXCON_ABI_VERSION"  # one copy, in the runtime package
done

# The unpacked root works as installed: the CLI and the bindings find the
# packaged library relative to themselves (no LD_LIBRARY_PATH).
libdir=$root/$u/$MIXCON_LIBDIR
if needs_libmixcon "$root/$u/$MIXCON_BINDIR/mixcon"; then
  [[ "$cli_depends" == *"$runtime (= $MIXCON_VERSION)"* ]] || fail "mixcon-cli does not depend on $runtime (= $MIXCON_VERSION)"
  resolves_into "$root/$u/$MIXCON_BINDIR/mixcon" "$libdir"
else
  # Linked statically: its Depends are the system libraries it links.
  [[ "$cli_depends" == *libc6* && "$cli_depends" != *"$runtime"* ]] \
    || fail "the statically linked mixcon-cli has Depends '$cli_depends'"
fi
[[ "$(timeout 30 "$root/$u/$MIXCON_BINDIR/mixcon" --version)" == "mixcon $MIXCON_VERSION" ]] \
  || fail "the packaged mixcon does not report $MIXCON_VERSION"
if [[ -n "${deb[python3-mixcon]:-}" ]]; then
  ext=$(ls "$root/$u/$MIXCON_PYTHONDIR"/mixcon/_native*.so) || fail "python3-mixcon has no _native extension"
  holds python3-mixcon "${ext#"$root"/}"
  resolves_into "$ext" "$libdir"
  got=$(cd "$WORK" && PYTHONPATH=$root/$u/$MIXCON_PYTHONDIR PYTHONDONTWRITEBYTECODE=1 timeout 30 \
        /usr/bin/python3 -c 'import mixcon; print(mixcon.__version__)') || fail "python3-mixcon does not import"
  [[ "$got" == "$MIXCON_VERSION" ]] || fail "python3-mixcon reports version '$got'"
fi
if [[ -n "${deb[libmixcon-java]:-}" ]]; then
  manifest=$(zip_member "$root/$u/$MIXCON_JAVADIR/mixcon.jar" META-INF/MANIFEST.MF | tr -d '\r')
  grep -qx "Implementation-Version: $MIXCON_VERSION" <<<"$manifest" \
    || fail "the jar's manifest lacks version $MIXCON_VERSION"
fi

# The .tar.gz: the whole install in one archive.
tgz=$out/mixcon-$MIXCON_VERSION-Linux.tar.gz
expect_file "$tgz"
tar -tzf "$tgz" >"$WORK/tgz.list"
for f in "$MIXCON_BINDIR/mixcon" "$MIXCON_LIBDIR/libmixcon.so.$MIXCON_ABI_VERSION" \
         "$MIXCON_INCLUDEDIR/mixcon/mixcon.h" "$MIXCON_CMAKEDIR/mixconConfig.cmake"; do
  grep -qxF "mixcon-$MIXCON_VERSION-Linux/$f" "$WORK/tgz.list" || fail "the .tar.gz lacks $f"
done
echo "PASS: ${packages[*]} and the .tar.gz"
