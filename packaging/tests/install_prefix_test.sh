#!/bin/bash
# Installs the C library, its development files and the CLI into a temporary
# prefix with `cmake --install`, then, using only that prefix:
#   - builds the C sample with CMake find_package(mixcon), once against
#     mixcon::mixcon (libmixcon.so.N) and once against mixcon::mixcon_static;
#   - builds it with pkg-config;
#   - builds the C++ sample (mixcon.hpp) with find_package;
#   - runs each build and the installed `mixcon` tool.
source "$(dirname "$0")/common.sh"
need_env CMAKE_COMMAND MIXCON_BUILD_DIR MIXCON_SOURCE_DIR MIXCON_VERSION MIXCON_ABI_VERSION \
  MIXCON_LIBDIR MIXCON_INCLUDEDIR MIXCON_BINDIR MIXCON_MODELDIR MIXCON_CMAKEDIR MIXCON_PKGCONFIGDIR CC

prefix=$WORK/prefix
for component in lib dev cli; do
  "$CMAKE_COMMAND" --install "$MIXCON_BUILD_DIR" --prefix "$prefix" --component "$component" >/dev/null
done
libdir=$prefix/$MIXCON_LIBDIR

# The layout the README promises.
expect_file "$prefix/$MIXCON_INCLUDEDIR/mixcon/mixcon.h" \
  "$libdir/libmixcon.so.$MIXCON_ABI_VERSION" "$libdir/libmixcon.so" "$libdir/libmixcon.a" \
  "$prefix/$MIXCON_CMAKEDIR/mixconConfig.cmake" "$prefix/$MIXCON_CMAKEDIR/mixconConfigVersion.cmake" \
  "$prefix/$MIXCON_PKGCONFIGDIR/mixcon.pc" "$prefix/$MIXCON_BINDIR/mixcon"
if [[ -f "$MIXCON_SOURCE_DIR/capi/mixcon.hpp" ]]; then
  expect_file "$prefix/$MIXCON_INCLUDEDIR/mixcon/mixcon.hpp"
fi
if [[ -f "${MIXCON_DEFAULT_MODEL:-}" ]]; then
  expect_file "$prefix/$MIXCON_MODELDIR/mixcon-brown.mixc"
fi
# The one version, seen through the SONAME and the real file's name.
soname=$(readelf -d "$libdir/libmixcon.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[[ "$soname" == "libmixcon.so.$MIXCON_ABI_VERSION" ]] || fail "SONAME is '$soname'"
expect_file "$libdir/libmixcon.so.$MIXCON_VERSION"

model=$(pick_model "$prefix/$MIXCON_MODELDIR/mixcon-brown.mixc" "${MIXCON_TEST_MODEL:-}")
sample=$MIXCON_SOURCE_DIR/samples/c/generate.c
cpp_sample=$MIXCON_SOURCE_DIR/samples/cpp/generate.cpp
exes=(generate-shared generate-static)
if [[ -f "$cpp_sample" && -f "$MIXCON_SOURCE_DIR/capi/mixcon.hpp" ]]; then
  exes+=(generate-cpp)
else
  cpp_sample=""
fi

# 1. CMake find_package, with the package registries off so that only the
#    prefix can satisfy it.
"$CMAKE_COMMAND" -S "$(dirname "$0")/consumer" -B "$WORK/consumer" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
  -DMIXCON_SAMPLE="$sample" -DMIXCON_CPP_SAMPLE="$cpp_sample" -DMIXCON_EXPECTED_VERSION="$MIXCON_VERSION" \
  -DMIXCON_EXPECTED_DIR="$prefix/$MIXCON_CMAKEDIR" >"$WORK/consumer.log" 2>&1 \
  || { cat "$WORK/consumer.log"; fail "find_package(mixcon) consumer did not configure"; }
"$CMAKE_COMMAND" --build "$WORK/consumer" -j2 >>"$WORK/consumer.log" 2>&1 \
  || { cat "$WORK/consumer.log"; fail "find_package(mixcon) consumer did not build"; }
resolves_into "$WORK/consumer/generate-shared" "$libdir"
static_deps=$(ldd "$WORK/consumer/generate-static")
if [[ "$static_deps" == *libmixcon* ]]; then
  fail "generate-static links libmixcon dynamically"
fi
for exe in "${exes[@]}"; do
  out=$(timeout 60 "$WORK/consumer/$exe" -m "$model" -n 8 "$PROMPT") || fail "$exe failed"
  expect_generated "$out" "$PROMPT"
done

# 2. pkg-config, with only the prefix on its path.
export PKG_CONFIG_PATH=$prefix/$MIXCON_PKGCONFIGDIR
[[ "$(pkg-config --modversion mixcon)" == "$MIXCON_VERSION" ]] || fail "pkg-config version is not $MIXCON_VERSION"
# shellcheck disable=SC2046  # pkg-config's output is a list of flags
"$CC" -std=c99 $(pkg-config --cflags mixcon) "$sample" -o "$WORK/generate-pc" \
  $(pkg-config --libs mixcon) -Wl,-rpath,"$(pkg-config --variable=libdir mixcon)" \
  || fail "the C sample does not build with pkg-config"
unset PKG_CONFIG_PATH
resolves_into "$WORK/generate-pc" "$libdir"
out=$(timeout 60 "$WORK/generate-pc" -m "$model" -n 8 "$PROMPT") || fail "generate-pc failed"
expect_generated "$out" "$PROMPT"

# 3. The installed tool.
# The installed tool finds the installed library by itself (when it is not
# linked statically).
if needs_libmixcon "$prefix/$MIXCON_BINDIR/mixcon"; then
  resolves_into "$prefix/$MIXCON_BINDIR/mixcon" "$libdir"
fi
out=$(timeout 30 "$prefix/$MIXCON_BINDIR/mixcon" --version) || fail "mixcon --version failed"
[[ "$out" == "mixcon $MIXCON_VERSION" ]] || fail "mixcon --version says '$out'"
timeout 60 "$prefix/$MIXCON_BINDIR/mixcon" info -m "$model" >/dev/null || fail "mixcon info failed"
echo "PASS: install prefix, find_package (${exes[*]}), pkg-config, CLI"
