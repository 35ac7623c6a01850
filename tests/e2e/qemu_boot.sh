#!/bin/bash
# Boots Debian's kernel with a busybox initramfs under QEMU (TCG, no KVM needed) whose
# only NIC is `-netdev stream` connected to `tapwire --qemu-listen`; the guest gets a DHCP
# lease and fetches a file from an HTTP server on the host's 127.0.0.1 through the host
# alias 192.168.65.2, then powers off. Run by `make test-qemu` (not by CI: a TCG boot takes
# about 15 s plus the kernel package).
#
#   tests/e2e/qemu_boot.sh [path/to/tapwire]
#
# Needs qemu-system-x86_64 (Debian qemu-system-x86) and a Debian kernel: the newest
# /boot/vmlinuz-* with its /lib/modules, or else the linux-image-amd64 package, fetched
# with `apt-get download` and unpacked into $TAPWIRE_QEMU_CACHE (default
# /tmp/tapwire-qemu-cache) without installing it (TAPWIRE_QEMU_FROM_PACKAGE=1 forces this). As root, a missing qemu-system-x86 is
# installed with apt-get. Prints "qemu: PASS ..." and exits 0 on success.
# Traffic: loopback only (the guest reaches nothing but the proxy and 127.0.0.1).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TAPWIRE="$(realpath "${1:-$ROOT/build/bin/tapwire}")"
CACHE="${TAPWIRE_QEMU_CACHE:-/tmp/tapwire-qemu-cache}"
BOOT_TIMEOUT="${TAPWIRE_QEMU_TIMEOUT:-240}"
WORK="$(mktemp -d /tmp/tapwire-qemu-XXXXXX)"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "qemu: $*" >&2; exit 1; }

[ -x "$TAPWIRE" ] || die "$TAPWIRE not built (make build)"
if ! command -v qemu-system-x86_64 >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "qemu: installing qemu-system-x86" >&2
    apt-get install -y --no-install-recommends qemu-system-x86 >/dev/null
  else
    die "qemu-system-x86_64 missing: apt-get install qemu-system-x86"
  fi
fi
command -v busybox >/dev/null || die "busybox missing: apt-get install busybox"

# --- the kernel and its modules -------------------------------------------------------
KROOT=""
KERNEL=""
for k in $( [ -n "${TAPWIRE_QEMU_FROM_PACKAGE:-}" ] || ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
  ver="${k#/boot/vmlinuz-}"
  if [ -d "/lib/modules/$ver/kernel" ] && [ -r "$k" ]; then KERNEL="$k"; KROOT="/"; break; fi
done
if [ -z "$KERNEL" ]; then
  mkdir -p "$CACHE"
  if ! ls "$CACHE"/root/boot/vmlinuz-* >/dev/null 2>&1; then
    echo "qemu: fetching Debian's kernel package into $CACHE" >&2
    pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
    [ -n "$pkg" ] || die "cannot resolve linux-image-amd64 (apt-get update?)"
    (cd "$CACHE" && apt-get download "$pkg" >/dev/null) || die "apt-get download $pkg failed"
    # Only the kernel image and the virtio NIC modules (the whole package unpacks to ~400 MB).
    mkdir -p "$CACHE/root"
    dpkg-deb --fsys-tarfile "$CACHE/${pkg}"_*.deb | tar -x -C "$CACHE/root" --wildcards \
      '*/boot/vmlinuz-*' '*/kernel/drivers/virtio/*' '*/kernel/drivers/net/virtio_net.ko*' \
      '*/kernel/drivers/net/net_failover.ko*' '*/kernel/net/core/failover.ko*'
    rm -f "$CACHE/${pkg}"_*.deb
  fi
  KERNEL="$(ls -1 "$CACHE"/root/boot/vmlinuz-* | sort -V -r | head -1)"
  KROOT="$CACHE/root"
fi
KVER="$(basename "$KERNEL")"; KVER="${KVER#vmlinuz-}"
MODDIR="$(ls -d "$KROOT/lib/modules/$KVER" "$KROOT/usr/lib/modules/$KVER" 2>/dev/null | head -1 || true)"
[ -n "$MODDIR" ] || die "no modules for $KVER under $KROOT"
echo "qemu: kernel $KERNEL" >&2

# --- the initramfs: busybox (with its libraries), the NIC modules, an init script -------
IR="$WORK/initramfs"
mkdir -p "$IR"/{bin,sbin,proc,sys,dev,tmp,etc,lib/modules,usr/bin,usr/sbin,usr/share/udhcpc}
cp /usr/bin/busybox "$IR/bin/busybox"
ln -s busybox "$IR/bin/sh"
for lib in $(ldd /usr/bin/busybox | grep -o '/[^ ]*\.so[^ ]*'); do
  mkdir -p "$IR$(dirname "$lib")"
  cp -L "$lib" "$IR$lib"
done
# Dependency order (modinfo -F depends); any that are built in are simply absent.
for m in failover net_failover virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_net; do
  f="$(find "$MODDIR/kernel" -name "$m.ko*" 2>/dev/null | head -1 || true)"
  [ -n "$f" ] || continue  # built in
  case "$f" in
    *.xz) xz -dc "$f" > "$IR/lib/modules/$m.ko" ;;
    *.zst) zstd -qdc "$f" > "$IR/lib/modules/$m.ko" ;;
    *) cp "$f" "$IR/lib/modules/$m.ko" ;;
  esac
  echo "$m" >> "$IR/lib/modules/order"
done
cat > "$IR/usr/share/udhcpc/default.script" <<'SCRIPT'
#!/bin/sh
case "$1" in
  deconfig) ip link set "$interface" up; ip addr flush dev "$interface" ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    echo "$ip" > /tmp/lease
    ;;
esac
exit 0
SCRIPT
cat > "$IR/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
if [ -f /lib/modules/order ]; then
  for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko || echo "insmod $m failed"; done
fi
port="$(sed -n 's/.*twport=\([0-9]*\).*/\1/p' /proc/cmdline)"
sum="$(sed -n 's/.*twsha=\([0-9a-f]*\).*/\1/p' /proc/cmdline)"
ip link set lo up
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ip link set eth0 up
udhcpc -i eth0 -q -n -t 10 -T 2 -s /usr/share/udhcpc/default.script
lease="$(cat /tmp/lease 2>/dev/null)"
wget -q -O /tmp/file "http://192.168.65.2:$port/file.bin"
got="$(sha256sum /tmp/file 2>/dev/null | cut -d' ' -f1)"
if [ -n "$lease" ] && [ "$got" = "$sum" ]; then
  echo "TAPWIRE-QEMU: ok lease=$lease sha256=$got"
else
  echo "TAPWIRE-QEMU: fail lease=$lease sha256=$got"
fi
poweroff -f
INIT
chmod +x "$IR/init" "$IR/usr/share/udhcpc/default.script"
(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initrd.gz"

# --- the host side: an HTTP server on 127.0.0.1 and the daemon --------------------------
mkdir -p "$WORK/www"
head -c 1000000 /dev/urandom > "$WORK/www/file.bin"
SHA="$(sha256sum "$WORK/www/file.bin" | cut -d' ' -f1)"
PORT="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$WORK/www" "$PORT" >/dev/null 2>&1 &
PIDS+=($!)
SOCK="$WORK/vm.sock"
"$TAPWIRE" --qemu-listen "$SOCK" --allow-outbound 127.0.0.0/8 --control "$WORK/control.sock" \
  --pcap "$WORK/qemu.pcap" --stats-interval 0s --dns-mode off 2> "$WORK/tapwire.log" &
TW=$!
PIDS+=($TW)
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || { cat "$WORK/tapwire.log" >&2; die "tapwire did not start"; }

# --- boot ---------------------------------------------------------------------------------
echo "qemu: booting (TCG; up to ${BOOT_TIMEOUT}s)" >&2
start=$(date +%s)
timeout "$BOOT_TIMEOUT" qemu-system-x86_64 -machine pc -m 512 -smp 1 -nographic -no-reboot \
  -kernel "$KERNEL" -initrd "$WORK/initrd.gz" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 twport=$PORT twsha=$SHA" \
  -netdev stream,id=n0,server=off,addr.type=unix,addr.path="$SOCK" \
  -device virtio-net-pci,netdev=n0 > "$WORK/console.log" 2>&1 || true
took=$(( $(date +%s) - start ))
if grep -q "TAPWIRE-QEMU: ok" "$WORK/console.log"; then
  echo "qemu: PASS $(grep -o 'TAPWIRE-QEMU: ok.*' "$WORK/console.log" | tr -d '\r') in ${took}s"
  kill -TERM "$TW"; wait "$TW" || die "tapwire exited $? after SIGTERM"
  echo "1 passed, 0 failed"
  exit 0
fi
echo "qemu: FAIL after ${took}s; console:" >&2
tail -40 "$WORK/console.log" >&2
echo "--- tapwire log:" >&2
tail -20 "$WORK/tapwire.log" >&2
echo "0 passed, 1 failed"
exit 1
