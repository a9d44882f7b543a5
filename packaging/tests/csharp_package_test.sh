#!/bin/bash
# Uses the C# package the way its README section says, with Mono only: unpack
# it, compile the C# sample against lib/net45/Mixcon.dll, put the assembly,
# its .config and runtimes/<rid>/native/* beside the program, and run it.
# Usage: csharp_package_test.sh PACKAGE(.nupkg|.zip) MCS MONO
source "$(dirname "$0")/common.sh"
need_env CMAKE_COMMAND MIXCON_SOURCE_DIR MIXCON_VERSION
package=${1:?usage: csharp_package_test.sh PACKAGE MCS MONO}
mcs=${2:?}
mono=${3:?}

expect_file "$package"
mkdir -p "$WORK/package"
(cd "$WORK/package" && "$CMAKE_COMMAND" -E tar xf "$package") || fail "cannot unpack $package"
if [[ "$package" == *.nupkg ]]; then
  grep -q "<version>$MIXCON_VERSION</version>" "$WORK/package/Mixcon.nuspec" \
    || fail "the .nuspec does not carry version $MIXCON_VERSION"
fi
shopt -s nullglob
natives=("$WORK"/package/runtimes/linux-*/native/*)
((${#natives[@]} >= 2)) || fail "the package has no native libraries under runtimes/linux-*/native"

app=$WORK/app
mkdir -p "$app"
"$mcs" -nologo -out:"$app/Generate.exe" -r:"$WORK/package/lib/net45/Mixcon.dll" \
  "$MIXCON_SOURCE_DIR/samples/csharp/Generate.cs" || fail "the C# sample does not compile against the package"
cp "$WORK"/package/lib/net45/* "${natives[@]}" "$app/"

model=$(pick_model "${MIXCON_DEFAULT_MODEL:-}" "${MIXCON_TEST_MODEL:-}")
cd "$WORK"
out=$(timeout 120 "$mono" "$app/Generate.exe" -m "$model" -n 8 "$PROMPT") \
  || fail "the C# sample failed with the package's assembly and natives"
expect_generated "$out" "$PROMPT"
echo "PASS: C# sample from $(basename "$package")"
