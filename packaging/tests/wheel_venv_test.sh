#!/bin/bash
# Installs the wheel the build made (packaging/dist/python/) into a fresh
# virtual environment that does not see the system's site-packages, then
# runs the Python sample with it from a folder outside the source and build
# trees.
# Usage: wheel_venv_test.sh PYTHON
TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
source "$TESTS_DIR/common.sh"
need_env MIXCON_DIST_DIR MIXCON_SOURCE_DIR MIXCON_VERSION
python=${1:?usage: wheel_venv_test.sh PYTHON}

shopt -s nullglob
wheels=("$MIXCON_DIST_DIR"/python/mixcon-"$MIXCON_VERSION"-*.whl)
((${#wheels[@]} == 1)) || fail "expected one mixcon-$MIXCON_VERSION wheel in $MIXCON_DIST_DIR/python, found ${#wheels[@]} (build target mixcon_wheel)"
wheel=${wheels[0]}
echo "wheel: $(basename "$wheel")"
[[ "$(basename "$wheel")" == *-linux_*.whl ]] || fail "the wheel is not platform-tagged"

timeout 120 "$python" -m venv "$WORK/venv" || fail "python3 -m venv failed"
grep -qx "include-system-site-packages = false" "$WORK/venv/pyvenv.cfg" || fail "the venv sees system packages"
timeout 120 "$WORK/venv/bin/python" -m pip install --quiet --no-index --no-deps \
  --disable-pip-version-check "$wheel" || fail "pip install of the wheel failed"

# Run from a folder outside the source and build trees, with the venv's
# interpreter: first the isolation checks, then the Python sample.
model=$(pick_model "${MIXCON_DEFAULT_MODEL:-}" "${MIXCON_TEST_MODEL:-}")
cd "$WORK"
export PYTHONDONTWRITEBYTECODE=1
timeout 30 "$WORK/venv/bin/python" "$TESTS_DIR/wheel_check.py" "$MIXCON_VERSION" \
  || fail "the venv does not import the wheel's mixcon"
out=$(timeout 60 "$WORK/venv/bin/python" "$MIXCON_SOURCE_DIR/samples/python/generate.py" \
      -m "$model" -n 8 "$PROMPT") || fail "the Python sample failed with the installed wheel"
expect_generated "$out" "$PROMPT"
echo "PASS: wheel in a fresh venv"
