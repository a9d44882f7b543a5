#!/bin/sh
# run-sample.sh DEFAULT_MODEL FALLBACK_MODEL COMMAND [ARG...]
# Runs COMMAND with each argument "{model}" replaced by DEFAULT_MODEL when that
# file exists, else by FALLBACK_MODEL. ctest runs the samples through it, so
# they use the bundled model once it is in the tree and still run before.
model=$1
[ -f "$model" ] || model=$2
shift 2
for arg do
  shift
  [ "$arg" = "{model}" ] && arg=$model
  set -- "$@" "$arg"
done
exec "$@"
