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
then a second daemon in host-resolver mode); SIGTERM shuts the daemon down cleanly. Port
forwards (forward_checks.py): 50 MB each way through a forward from the host's 127.0.0.1
to a server in the guest, added and removed with `tapwire ctl`, then a 5,000-connection
flood against a daemon with RLIMIT_NOFILE 256, limited by the connection limit and then by
EMFILE itself (the slots all return, no spinning).

Usage:  run_e2e.py [--tapwire build/bin/tapwire] [--regenerate-fixture] [--keep] [--only PART]
  --only full|forward|dns-host  run only that part (repeatable; the fixture check always runs)
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
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import dns_checks  # noqa: E402
import forward_checks  # noqa: E402
import host_servers  # noqa: E402
from guest_netns import (Daemon, Guest, cleanup, read_line, remove_stale_namespaces, sha256_file,  # noqa: E402
                         start, write_random_file)

PY = "/usr/bin/python3"
GATEWAY = "192.168.65.1"
HOST_ALIAS = "192.168.65.2"
FIXTURE = os.path.join(ROOT, "pcaps", "e2e_short_run.pcap")
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


def _on_signal(signo, _frame):
    raise SystemExit(128 + signo)


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
    ap.add_argument("--only", choices=("full", "forward", "dns-host"), action="append",
                    help="run only these parts (repeatable; default all)")
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
            parts = args.only or ["full", "forward", "dns-host"]
            if "full" in parts:
                full_run(results, args.tapwire, workdir, args.flood)
            if "forward" in parts:
                forward_checks.forward_run(results, args.tapwire, workdir)
            if "dns-host" in parts:
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
