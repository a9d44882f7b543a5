# Shared by the packaging tests (sourced): a temporary folder removed on exit,
# failure reporting, and the choice of model.
set -euo pipefail

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

need_env() {
  local v
  for v in "$@"; do
    [[ -n "${!v:-}" ]] || fail "environment variable $v is not set (run this test through ctest)"
  done
}

# $WORK: a fresh folder for this test, removed when it ends.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mixcon-packaging.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Nothing from the build tree may leak in through the environment.
unset LD_LIBRARY_PATH PYTHONPATH CLASSPATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH MONO_PATH

# pick_model FILE...: the first that exists.
pick_model() {
  local m
  for m in "$@"; do
    if [[ -n "$m" && -f "$m" ]]; then
      echo "$m"
      return 0
    fi
  done
  fail "no model to run on (tried: $*); build the bindings' test model or add models/mixcon-brown.mixc"
}

# expect_file PATH...: each exists (a file or a link to one).
expect_file() {
  local f
  for f in "$@"; do
    [[ -e "$f" ]] || fail "missing: $f"
  done
}

# expect_generated OUTPUT PROMPT: the sample echoes the prompt and continues it.
expect_generated() {
  local out=$1 prompt=$2
  [[ "$out" == "$prompt"* ]] || fail "output does not continue the prompt: '$out'"
  echo "generated: $out"
}

# resolves_into BINARY DIR: the dynamic loader takes libmixcon from DIR.
resolves_into() {
  local bin=$1 dir=$2 got
  got=$(ldd "$bin" | awk '/libmixcon\.so/ {print $3}')
  [[ -n "$got" && "$got" != "not" ]] || fail "$bin does not find libmixcon"
  got=$(readlink -f "$got")
  [[ "$got" == "$(readlink -f "$dir")"/* ]] || fail "$bin loads libmixcon from '$got', not from $dir"
}

# needs_libmixcon BINARY: true when BINARY loads libmixcon.so dynamically
# (the CLI may carry the engine statically instead).
needs_libmixcon() {
  local dyn
  dyn=$(readelf -d "$1")
  [[ "$dyn" == *"Shared library: [libmixcon.so"* ]]
}

# zip_member ARCHIVE MEMBER: prints one member of a zip archive (a jar, a
# .nupkg), without needing unzip.
zip_member() {
  /usr/bin/python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$1" "$2"
}

# shellcheck disable=SC2034  # used by the scripts that source this file
PROMPT="The jury said"
