#!/bin/sh
# Installs the Debian packages Tapwire needs, only those missing. Quiet when nothing is.
set -eu
PKGS="build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev libpcap-dev libboost-test-dev
pybind11-dev nlohmann-json3-dev python3-dev python3-pytest python3-pytest-xdist python3-scapy python3-jsonschema
tshark iproute2 busybox udhcpc iperf3 dnsmasq bind9-dnsutils passt slirp4netns"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "tapwire: installing missing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
