#!/usr/bin/python3
"""End-to-end test of the `tapwire` daemon with a real Linux guest.

The guest is a fresh network namespace whose only link is a tap device owned by
`tapwire --tap tw0 --netns /var/run/netns/NAME --allow-outbound 127.0.0.0/8`. Inside it:
busybox udhcpc gets a lease (with this test's own script, so no resolv.conf is touched);
busybox ping reaches the gateway; a 50 MB file is fetched from, and one uploaded to, an
HTTP server on the host's 127.0.0.1 through the host alias (sha256 compared); a connect to
a closed host port is refused in under a second; 2,000 concurrent connections to a host
server are all served, and `tapwire ctl diagnostics` shows them while open and none after;
a UDP datagram is echoed through the host alias; the gateway's DNS answers `dig` and glibc's
`getent ahosts` (dns_checks.py: forward mode to dnsmasq and fixed_order_dns.py on 127.0.0.1,
then a second daemon in host-resolver mode); SIGTERM shuts the daemon down cleanly.

Usage:  run_e2e.py [--tapwire build/bin/tapwire] [--regenerate-fixture] [--keep]
  --regenerate-fixture  also re-record pcaps/e2e_short_run.pcap (DHCP, ping, 100 KB fetch,
                        refused connect, UDP echo; under 1 MB)
Needs root (namespaces, tap) and /dev/net/tun: without them it prints one line
"SKIPPED: <reason>", only the fixture check runs, and the run counts as skipped, never
as passed. As root, a missing daemon binary or tool (ip, busybox; for the DNS checks dig,
getent, dnsmasq, unshare, mount) is a FAILURE, not a skip. Prints "e2e: N passed, N failed, N skipped" last; exit code 1 on any failure.
Only loopback and namespace traffic; every wait is bounded; the namespace and every
process are cleaned up by name and pid, also on failure or interruption.
"""
import argparse
import atexit
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import dns_checks  # noqa: E402
import host_servers  # noqa: E402

PY = "/usr/bin/python3"
GATEWAY = "192.168.65.1"
HOST_ALIAS = "192.168.65.2"
FIXTURE = os.path.join(ROOT, "pcaps", "e2e_short_run.pcap")
NS_PREFIX = "twe2e"

UDHCPC_SCRIPT = """#!/bin/sh
# udhcpc hook of the tapwire e2e test: configures the interface only; never touches
# /etc/resolv.conf (inside `ip netns exec` that would be the host's file).
case "$1" in
  deconfig)
    ip link set "$interface" up
    ip addr flush dev "$interface"
    ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then ip route replace default via "${router%% *}" dev "$interface"; fi
    echo "$ip $router" > "$TW_LEASE_FILE"
    ;;
esac
exit 0
"""


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS {name}" + (f" ({detail})" if detail else ""), flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def skip(self, name, reason):
        self.skipped += 1
        print(f"SKIPPED: {name}: {reason}", flush=True)

    def summary(self):
        return f"e2e: {self.passed} passed, {self.failed} failed, {self.skipped} skipped"


# ---------------------------------------------------------------------------------
# Cleanup by name and pid

_processes = []   # Popen objects we started
_namespaces = []  # namespace names we created


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def cleanup():
    for p in reversed(_processes):
        if p.poll() is None:
            try:
                p.kill()  # by pid, via the Popen object
                p.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
    _processes.clear()
    for ns in _namespaces:
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
    _namespaces.clear()


def remove_stale_namespaces():
    """Namespaces of earlier runs whose test process (the pid in the name) is gone."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(rf"^({NS_PREFIX}(\d+)[a-z]*)\b", line)
        if m and not _pid_alive(int(m.group(2))):
            subprocess.run(["ip", "netns", "del", m.group(1)], stderr=subprocess.DEVNULL)


def _on_signal(signo, _frame):
    raise SystemExit(128 + signo)


def start(args, **kw):
    p = subprocess.Popen(args, **kw)
    _processes.append(p)
    return p


# ---------------------------------------------------------------------------------
# The guest namespace and the daemon

class Guest:
    def __init__(self, suffix, workdir):
        self.name = f"{NS_PREFIX}{os.getpid()}{suffix}"
        self.workdir = workdir
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        _namespaces.append(self.name)
        self.path = f"/var/run/netns/{self.name}"
        self.lease_file = os.path.join(workdir, f"lease-{self.name}")
        self.script = os.path.join(workdir, "udhcpc-script.sh")
        with open(self.script, "w") as f:
            f.write(UDHCPC_SCRIPT)
        os.chmod(self.script, 0o755)

    def cmd(self, args):
        return ["ip", "netns", "exec", self.name] + list(args)

    def run(self, args, timeout, **kw):
        try:
            return subprocess.run(self.cmd(args), capture_output=True, text=True, timeout=timeout, **kw)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(e.cmd, 124, e.stdout or "", f"timeout after {timeout} s")

    def wait_for_link(self, ifname, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.run(["ip", "link", "show", ifname], timeout=5).returncode == 0:
                return True
            time.sleep(0.05)
        return False

    def dhcp(self, ifname):
        self.run(["ip", "link", "set", "lo", "up"], timeout=5)
        self.run(["ip", "link", "set", ifname, "up"], timeout=5)
        env = dict(os.environ, TW_LEASE_FILE=self.lease_file)
        r = self.run(["busybox", "udhcpc", "-i", ifname, "-s", self.script, "-q", "-n", "-t", "5", "-T", "1",
                      "-f"], timeout=20, env=env)
        lease = ""
        if os.path.exists(self.lease_file):
            with open(self.lease_file) as f:
                lease = f.read().strip()
        return r, lease

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)
        if self.name in _namespaces:
            _namespaces.remove(self.name)


class Daemon:
    def __init__(self, binary, guest, workdir, pcap, tag, dns_args=("--dns-mode", "off"), wrapper=()):
        """`dns_args` must name loopback upstreams or turn DNS off: the default forward mode
        would send to /etc/resolv.conf's servers, off loopback. `wrapper` prefixes the
        command (it must exec the daemon, so that the pid stays the daemon's)."""
        self.control = os.path.join(workdir, f"control-{tag}.sock")
        self.log_path = os.path.join(workdir, f"tapwire-{tag}.log")
        self.pcap = pcap
        self.binary = binary
        self.log = open(self.log_path, "w")
        args = list(wrapper) + [binary, "--tap", "tw0", "--netns", guest.path, "--allow-outbound", "127.0.0.0/8",
                                "--control", self.control, "--pcap", pcap, "--stats-interval", "0s"] + list(dns_args)
        self.proc = start(args, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if os.path.exists(self.control):
                return True
            time.sleep(0.05)
        return False

    def request(self, obj_or_text, timeout=10.0):
        line = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.control)
            s.sendall(line.encode() + b"\n")
            buf = b""
            while b"\n" not in buf:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                buf += chunk
        return json.loads(buf.split(b"\n", 1)[0])

    def ctl(self, command, timeout=15):
        r = subprocess.run([self.binary, "ctl", "--control", self.control, command], capture_output=True,
                           text=True, timeout=timeout)
        return r.returncode, (json.loads(r.stdout) if r.returncode == 0 else r.stderr.strip())

    def stop(self, timeout=10.0):
        """SIGTERM (by pid); returns (exit code or None, seconds taken)."""
        start_t = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            rc = None
        self.log.close()
        return rc, time.monotonic() - start_t

    def log_tail(self, lines=30):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_NO_NUL = bytes([1]) + bytes(range(1, 256))


def write_random_file(path, size, no_nul=False):
    """Random bytes; `no_nul` maps 0 to 1 (busybox wget --post-file sends strlen() bytes)."""
    with open(path, "wb") as f:
        remaining = size
        while remaining > 0:
            n = min(remaining, 1 << 20)
            chunk = os.urandom(n)
            f.write(chunk.translate(_NO_NUL) if no_nul else chunk)
            remaining -= n


def tcp_flows_to(diag, remote):
    return [f for f in diag.get("flows", []) if f.get("protocol") == "tcp" and f["host"]["remote"] == remote]


# ---------------------------------------------------------------------------------
# Fixture check (needs no root)

def check_fixture(results, path=FIXTURE):
    name = "fixture pcaps/e2e_short_run.pcap"
    if not os.path.exists(path):
        results.check(name, False, f"{path} missing; run with --regenerate-fixture as root")
        return
    size = os.path.getsize(path)
    try:
        from scapy.all import rdpcap, DHCP, ICMP, TCP  # noqa: WPS433
    except ImportError as e:
        if os.geteuid() == 0:  # a root run has every tool it needs, or fails
            results.check(name, False, f"scapy not importable: {e} (Debian package python3-scapy)")
        else:
            results.skip(name, f"scapy not importable: {e}")
        return
    try:
        packets = rdpcap(path)
    except Exception as e:  # noqa: BLE001 - any reader failure is the finding
        results.check(name, False, f"does not open: {e}")
        return
    dhcp_ack = any(p.haslayer(DHCP) and ("message-type", 5) in p[DHCP].options for p in packets)
    echo_reply = any(p.haslayer(ICMP) and p[ICMP].type == 0 for p in packets)
    tcp_rst = any(p.haslayer(TCP) and (int(p[TCP].flags) & 0x04) for p in packets)
    results.check(name, size < (1 << 20) and dhcp_ack and echo_reply and tcp_rst,
                  f"{len(packets)} frames, {size} bytes, DHCP ACK {dhcp_ack}, echo reply {echo_reply}, "
                  f"TCP RST {tcp_rst}")


# ---------------------------------------------------------------------------------
# The runs

def guest_tool(guest, args, timeout):
    return guest.run([PY, os.path.join(HERE, "guest_tools.py")] + [str(a) for a in args], timeout=timeout)


def full_run(results, binary, workdir, flood_count):
    guest = Guest("", workdir)
    www = os.path.join(workdir, "www")
    os.makedirs(www)
    big = os.path.join(www, "big.bin")
    write_random_file(big, 50 * 1000 * 1000)
    big_sha = sha256_file(big)
    upload = os.path.join(workdir, "upload.bin")
    write_random_file(upload, 50 * 1000 * 1000, no_nul=True)
    upload_sha = sha256_file(upload)

    resolv_before = sha256_file("/etc/resolv.conf") if os.path.exists("/etc/resolv.conf") else None
    http = host_servers.HttpFileServer(www)
    lines = host_servers.LineServer(backlog=4096)
    udp = host_servers.UdpEchoServer()
    dns = dns_checks.Upstreams(workdir, start)
    daemon = Daemon(binary, guest, workdir, os.path.join(workdir, "full.pcap"), "full", dns.daemon_args())
    try:
        started = daemon.wait_ready() and guest.wait_for_link("tw0")
        if not results.check("daemon starts, tap in the namespace", started, "" if started else daemon.log_tail()):
            return
        r, lease = guest.dhcp("tw0")
        if not results.check("dhcp lease (busybox udhcpc)", r.returncode == 0 and lease.startswith("192.168.65."),
                             f"lease '{lease}'" if lease else (r.stdout + r.stderr).strip()):
            return
        resolv_after = sha256_file("/etc/resolv.conf") if os.path.exists("/etc/resolv.conf") else None
        results.check("host /etc/resolv.conf untouched", resolv_before == resolv_after)
        r = guest.run(["busybox", "ping", "-c", "3", "-W", "2", GATEWAY], timeout=15)
        results.check("ping gateway", r.returncode == 0,
                      (r.stdout.strip().splitlines() or [""])[-1] if r.returncode == 0 else r.stdout + r.stderr)

        got = os.path.join(workdir, "fetched.bin")
        t0 = time.monotonic()
        r = guest.run(["busybox", "wget", "-q", "-O", got, f"http://{HOST_ALIAS}:{http.port}/big.bin"],
                      timeout=300)
        dt = time.monotonic() - t0
        ok = r.returncode == 0 and os.path.exists(got) and sha256_file(got) == big_sha
        results.check("fetch 50 MB through the host alias, byte-exact", ok,
                      f"{50 * 8 / dt:.0f} Mbit/s in {dt:.1f} s" if ok else (r.stderr or "sha256 mismatch"))
        if os.path.exists(got):
            os.unlink(got)

        t0 = time.monotonic()
        r = guest.run(["busybox", "wget", "-q", "-O", "-", "--post-file", upload,
                       f"http://{HOST_ALIAS}:{http.port}/upload"], timeout=300)
        dt = time.monotonic() - t0
        ok = r.returncode == 0 and r.stdout.strip() == f"{upload_sha} {50 * 1000 * 1000}"
        results.check("upload 50 MB through the host alias, byte-exact", ok,
                      f"{50 * 8 / dt:.0f} Mbit/s in {dt:.1f} s" if ok else (r.stderr or r.stdout).strip())

        r = guest_tool(guest, ["refused", HOST_ALIAS, host_servers.closed_port()], timeout=10)
        results.check("closed host port refused at once (RST, < 1 s)", r.returncode == 0,
                      (r.stdout + r.stderr).strip())

        r = guest_tool(guest, ["udp-echo", HOST_ALIAS, udp.port], timeout=10)
        results.check("UDP echo through the host alias", r.returncode == 0, (r.stdout + r.stderr).strip())

        dns_checks.forward_checks(results, guest, dns, workdir)
        flood_check(results, guest, daemon, lines, flood_count)
        control_errors_check(results, daemon)
    finally:
        rc, took = daemon.stop()
        results.check("SIGTERM: clean shutdown, exit 0", rc == 0 and not os.path.exists(daemon.control),
                      f"exit {rc} in {took:.2f} s" + ("" if rc == 0 else "\n" + daemon.log_tail()))
        http.stop()
        lines.stop()
        udp.stop()
        dns.stop()
        guest.delete()
    with open(daemon.pcap, "rb") as f:
        magic = f.read(4)
    results.check("capture written and flushed", magic == bytes.fromhex("4d3cb2a1"),
                  f"{os.path.getsize(daemon.pcap)} bytes, nanosecond pcap")


def dns_host_mode_run(results, binary, workdir):
    """A daemon with --dns-mode host in a private mount namespace whose /etc/resolv.conf
    names the fixed-order server on 127.53.x.y:53; the guest asks the gateway."""
    errors = dns_checks.missing_tools()
    if not dns_checks.tools_ok(results, "dns host mode: ", errors):
        return
    upstream, address = dns_checks.host_mode_upstream(start, workdir)
    if not results.check("dns host mode: fixed-order server on a loopback port 53", upstream is not None, address):
        return
    conf = dns_checks.write_resolv_conf(os.path.join(workdir, "host-mode-resolv.conf"), address)
    guest = Guest("d", workdir)
    wrapper = ["unshare", "-m", "--propagation", "private", "sh", "-c", dns_checks.WITH_RESOLV, conf]
    daemon = Daemon(binary, guest, workdir, os.path.join(workdir, "dns-host.pcap"), "dnshost",
                    ["--dns-mode", "host"], wrapper)
    try:
        started = daemon.wait_ready() and guest.wait_for_link("tw0")
        if not results.check("dns host mode: daemon starts in a private mount namespace", started,
                             "" if started else daemon.log_tail()):
            return
        r, lease = guest.dhcp("tw0")
        if not results.check("dns host mode: dhcp lease", lease.startswith("192.168.65."),
                             lease or (r.stdout + r.stderr).strip()):
            return
        dns_checks.host_mode_checks(results, guest, daemon)
    finally:
        rc, took = daemon.stop()
        results.check("dns host mode: SIGTERM, exit 0", rc == 0, f"exit {rc} in {took:.2f} s")
        upstream.terminate()
        try:
            upstream.wait(timeout=5)
        except subprocess.TimeoutExpired:
            upstream.kill()
        guest.delete()


def flood_check(results, guest, daemon, lines, count):
    remote = f"127.0.0.1:{lines.port}"
    args = guest.cmd([PY, os.path.join(HERE, "guest_tools.py"), "flood", HOST_ALIAS, str(lines.port), str(count)])
    proc = start(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    t0 = time.monotonic()
    line = read_line(proc, timeout=120)
    dt = time.monotonic() - t0
    ok = line == f"open {count}"
    results.check(f"{count} concurrent connections all served", ok,
                  f"{count / dt:.0f} connections/s; host server accepted {lines.accepted}" if ok else line)
    if ok:
        rc, diag = daemon.ctl("diagnostics")
        flows = tcp_flows_to(diag, remote) if rc == 0 else []
        established = [f for f in flows if f["state"] == "ESTABLISHED"]
        sockets = [s for s in diag.get("host_sockets", []) if s.get("peer") == remote] if rc == 0 else []
        results.check("ctl diagnostics shows the flows while open", len(established) == count and
                      len(sockets) == count,
                      f"{len(established)} ESTABLISHED flows, {len(sockets)} host sockets to {remote}"
                      if rc == 0 else diag)
    try:
        proc.stdin.write("close\n")
        proc.stdin.flush()
    except OSError:
        pass
    closed = read_line(proc, timeout=30)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    if not ok:
        return
    deadline = time.monotonic() + 20
    left = None
    while time.monotonic() < deadline:
        rc, diag = daemon.ctl("diagnostics")
        if rc == 0:
            left = tcp_flows_to(diag, remote)
            sockets = [s for s in diag.get("host_sockets", []) if s.get("peer") == remote]
            if not left and not sockets:
                break
        time.sleep(0.2)
    results.check("ctl diagnostics shows none after they close", closed == "closed" and left == [],
                  f"{len(left) if left is not None else '?'} flows left" if left else "")


def read_line(proc, timeout):
    """One line of a child's stdout, with a deadline (select on the pipe)."""
    import select
    deadline = time.monotonic() + timeout
    buf = ""
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, min(1.0, deadline - time.monotonic())))
        if not ready:
            if proc.poll() is not None:
                break
            continue
        ch = os.read(fd, 1).decode(errors="replace")
        if ch == "":
            break
        if ch == "\n":
            return buf
        buf += ch
    return buf or f"(no answer within {timeout} s)"


def control_errors_check(results, daemon):
    bad_cmd = daemon.request({"cmd": "no-such-command"})
    bad_json = daemon.request("{not json")
    stats = daemon.request({"cmd": "stats"})
    results.check("control socket: errors are JSON, stats answers",
                  "error" in bad_cmd and "error" in bad_json and "counters" in stats,
                  f"{bad_cmd['error']!r}; {bad_json['error']!r}")


def short_run(results, binary, workdir):
    """The capture fixture: DHCP, ping, a 100 KB fetch, a refused connect, UDP echo."""
    guest = Guest("s", workdir)
    www = os.path.join(workdir, "www-short")
    os.makedirs(www)
    write_random_file(os.path.join(www, "small.bin"), 100 * 1000)
    http = host_servers.HttpFileServer(www)
    udp = host_servers.UdpEchoServer()
    pcap = os.path.join(workdir, "short.pcap")
    daemon = Daemon(binary, guest, workdir, pcap, "short")
    ok = False
    try:
        if daemon.wait_ready() and guest.wait_for_link("tw0"):
            steps = [guest.dhcp("tw0")[0],
                     guest.run(["busybox", "ping", "-c", "1", "-W", "2", GATEWAY], timeout=10),
                     guest.run(["busybox", "wget", "-q", "-O", "/dev/null",
                                f"http://{HOST_ALIAS}:{http.port}/small.bin"], timeout=30),
                     guest_tool(guest, ["refused", HOST_ALIAS, host_servers.closed_port()], timeout=10),
                     guest_tool(guest, ["udp-echo", HOST_ALIAS, udp.port], timeout=10)]
            ok = all(s.returncode == 0 for s in steps)
    finally:
        rc, _ = daemon.stop()
        http.stop()
        udp.stop()
        guest.delete()
    size = os.path.getsize(pcap) if os.path.exists(pcap) else 0
    if results.check("short run recorded", ok and rc == 0 and 0 < size < (1 << 20), f"{size} bytes"):
        shutil.copyfile(pcap, FIXTURE)
        print(f"wrote {FIXTURE}")


def cannot_run_reason(euid=None, tun="/dev/net/tun"):
    """Why this machine cannot run the end-to-end test at all (a skip), or None."""
    if (os.geteuid() if euid is None else euid) != 0:
        return "needs root (network namespaces and a tap device)"
    if not os.path.exists(tun):
        return f"needs {tun}"
    return None


def missing_prerequisites(binary, which=shutil.which):
    """What a root run needs and does not have: each one is a failure, not a skip."""
    missing = []
    if not os.access(binary, os.X_OK):
        missing.append(f"{binary} is not built (cmake --build build --target tapwire)")
    for tool, package in (("ip", "iproute2"), ("busybox", "busybox")):
        if not which(tool):
            missing.append(f"{tool} not found (Debian package {package})")
    return missing


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tapwire", default=os.path.join(ROOT, "build", "bin", "tapwire"))
    ap.add_argument("--regenerate-fixture", action="store_true")
    ap.add_argument("--flood", type=int, default=2000, help="concurrent connections (default 2000)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    results = Results()

    reason = cannot_run_reason()
    missing = [] if reason else missing_prerequisites(args.tapwire)
    if reason:
        results.skip("end-to-end run with a real Linux guest", reason)
    elif missing:
        # Root, with a tun device: everything the test needs must be there.
        for what in missing:
            results.check(f"prerequisite: {what}", False)
    else:
        atexit.register(cleanup)
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 16384)), hard))
        remove_stale_namespaces()
        workdir = tempfile.mkdtemp(prefix="tapwire-e2e-")
        try:
            if args.regenerate_fixture:
                short_run(results, args.tapwire, workdir)
            full_run(results, args.tapwire, workdir, args.flood)
            dns_host_mode_run(results, args.tapwire, workdir)
        finally:
            cleanup()
            if args.keep or results.failed:
                for big in ("www/big.bin", "upload.bin", "full.pcap"):
                    p = os.path.join(workdir, big)
                    if os.path.exists(p):
                        os.unlink(p)
                print(f"work directory kept: {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    check_fixture(results)
    print(results.summary())
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
