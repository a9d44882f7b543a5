#!/bin/bash
# Installs the Java component into a temporary prefix and runs the Java
# sample with the installed jar as the only entry of the class path (the
# sample is run from source by Java's single-file launcher): no
# java.library.path, no LD_LIBRARY_PATH; the jar unpacks its own natives.
# Usage: jar_test.sh JAVA
source "$(dirname "$0")/common.sh"
need_env CMAKE_COMMAND MIXCON_BUILD_DIR MIXCON_SOURCE_DIR MIXCON_VERSION MIXCON_JAVADIR
java=${1:?usage: jar_test.sh JAVA}

prefix=$WORK/prefix
"$CMAKE_COMMAND" --install "$MIXCON_BUILD_DIR" --prefix "$prefix" --component java >/dev/null
jar=$prefix/$MIXCON_JAVADIR/mixcon.jar
expect_file "$prefix/$MIXCON_JAVADIR/mixcon-$MIXCON_VERSION.jar"
[[ -L "$jar" && "$(readlink "$jar")" == "mixcon-$MIXCON_VERSION.jar" ]] \
  || fail "$jar is not a link to mixcon-$MIXCON_VERSION.jar"
manifest=$(zip_member "$jar" META-INF/MANIFEST.MF | tr -d '\r')
grep -qx "Implementation-Version: $MIXCON_VERSION" <<<"$manifest" \
  || fail "the jar's manifest lacks Implementation-Version: $MIXCON_VERSION"

model=$(pick_model "${MIXCON_DEFAULT_MODEL:-}" "${MIXCON_TEST_MODEL:-}")
cd "$WORK"
out=$(timeout 120 "$java" -Djava.io.tmpdir="$WORK" -cp "$jar" \
      "$MIXCON_SOURCE_DIR/samples/java/Generate.java" -m "$model" -n 8 "$PROMPT") \
  || fail "the Java sample failed with only the jar on the class path"
expect_generated "$out" "$PROMPT"
echo "PASS: Java sample with only mixcon.jar"
