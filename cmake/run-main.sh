#!/bin/sh
# The main job behind `make run`: run every scenario in scenarios/ (the *.json files
# there, except the JSON Schema) in the simulator and print the summary. Exits with
# tapwire-sim's status: 0 only when every expectation of every scenario held.
set -eu
BUILD=${1:-build}
SIM="$BUILD/bin/tapwire-sim"
if [ ! -x "$SIM" ]; then
  echo "make run: $SIM is not built" >&2
  exit 1
fi
set --
for f in scenarios/*.json; do
  case "$f" in
    */schema.json) ;;
    *) set -- "$@" "$f" ;;
  esac
done
if [ "$#" -eq 0 ]; then
  echo "make run: no scenarios in scenarios/" >&2
  exit 1
fi
exec "$SIM" run "$@"
