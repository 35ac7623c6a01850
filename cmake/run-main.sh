#!/bin/sh
# The main job behind `make run`: run every scenario in scenarios/ in the simulator and
# print the summary. Until the simulator lands, decode the captures in pcaps/ instead.
set -eu
BUILD=${1:-build}
SIM="$BUILD/bin/tapwire-sim"
if [ -x "$SIM" ] && ls scenarios/*.json >/dev/null 2>&1 && "$SIM" run --help >/dev/null 2>&1; then
  exec "$SIM" run scenarios/*.json
fi
if [ -x "$SIM" ] && ls pcaps/*.pcap >/dev/null 2>&1; then
  for f in pcaps/*.pcap; do "$SIM" decode --summary "$f"; done
  exit 0
fi
echo "make run: nothing to run yet ($SIM not built or no inputs)" >&2
exit 1
