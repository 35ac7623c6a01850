"""DNS checks of the end-to-end test: the daemon's gateway DNS seen by a real guest.

Upstreams (root namespace, 127.0.0.1 only; each a process of ours, stopped by pid):
- dnsmasq with a local-only zone `lan` (A, CNAME, TXT, SRV; unknown names NXDOMAIN);
- fixed_order_dns.py, the zone `test`: the chain a.test -> b.test -> c.test -> d.test
  with d.test's A records 1.1.1.1, 2.2.2.2, 3.3.3.3 in that order, and big.test's 64.
In forward mode the daemon gets `--dns-upstream 127.0.0.1:DNSMASQ --dns-zone
test=127.0.0.1:FIXED`: nothing ever goes to /etc/resolv.conf's servers. In host mode the
daemon runs in a private mount namespace whose /etc/resolv.conf names the fixed-order
server on a free 127.x.y.z:53 (glibc's resolv.conf has no port option).

The clients run in the guest namespace: Debian's `dig` (bind9-dnsutils) against the
gateway, and glibc's `getent ahosts` (its answer-chain walk is the strict client) with a
resolv.conf naming the gateway bind-mounted in a private mount namespace of its own. A
missing tool is a failure naming its package, never a pass or a skip.
"""
import os
import re
import shutil
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
GATEWAY = "192.168.65.1"
HOST_ALIAS = "192.168.65.2"
CHAIN = ["b.test.", "c.test.", "d.test.", "1.1.1.1", "2.2.2.2", "3.3.3.3"]
CHAIN_RECORDS = [("a.test.", "CNAME", "b.test."), ("b.test.", "CNAME", "c.test."), ("c.test.", "CNAME", "d.test."),
                 ("d.test.", "A", "1.1.1.1"), ("d.test.", "A", "2.2.2.2"), ("d.test.", "A", "3.3.3.3")]
DNSMASQ_ZONE = ["--local=/lan/", "--address=/web.lan/10.1.2.3", "--host-record=db.lan,10.1.2.4",
                "--cname=alias.lan,db.lan", "--txt-record=txt.lan,tapwire e2e", "--srv-host=_http._tcp.lan,db.lan,80"]

# tool -> Debian package; the host side needs dnsmasq, unshare and mount, the guest dig and getent.
TOOLS = {"dig": "bind9-dnsutils", "getent": "libc-bin", "dnsmasq": "dnsmasq", "unshare": "util-linux",
         "mount": "mount"}

# A command run with FILE bind-mounted over /etc/resolv.conf in a private mount namespace
# (unshare and sh exec, so the pid is the command's): ["sh", "-c", WITH_RESOLV, FILE, cmd...].
WITH_RESOLV = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'


def missing_tools(which=shutil.which):
    found = {"dnsmasq": which("dnsmasq") or (os.access("/usr/sbin/dnsmasq", os.X_OK) and "/usr/sbin/dnsmasq")}
    return [f"{tool} not found (Debian package {pkg})" for tool, pkg in TOOLS.items()
            if not (found.get(tool) or which(tool))]


def with_resolv_conf(conf, args):
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", WITH_RESOLV, conf] + list(args)


def write_resolv_conf(path, nameserver):
    with open(path, "w") as f:
        f.write(f"nameserver {nameserver}\noptions timeout:2 attempts:2\n")
    return path


def _read_ready(proc, timeout):
    """The port of a server that prints "ready PORT", or None."""
    import select
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline and b"\n" not in buf:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 256)
            if not chunk:
                break
            buf += chunk
        elif proc.poll() is not None:
            break
    m = re.match(rb"ready (\d+)", buf)
    return int(m.group(1)) if m else None


def start_fixed_order(start, address, port, log_path):
    """The fixed-order server on ADDRESS:PORT (0: any), or (None, None) if it did not start."""
    log = open(log_path, "ab")
    proc = start([PY, os.path.join(HERE, "fixed_order_dns.py"), "--address", address, "--port", str(port),
                  "--max-seconds", "1200"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
    log.close()
    got = _read_ready(proc, timeout=10)
    if got is None:
        proc.kill()
        proc.wait(timeout=5)
        return None, None
    return proc, got


def free_udp_port():
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Upstreams:
    """dnsmasq and the fixed-order server on 127.0.0.1, for a daemon in forward mode."""

    def __init__(self, workdir, start):
        self.procs = []
        self.errors = missing_tools()
        self.dnsmasq_port = None
        self.fixed_port = None
        if self.errors:
            return
        fixed, self.fixed_port = start_fixed_order(start, "127.0.0.1", 0, os.path.join(workdir, "fixed-order.log"))
        if fixed is None:
            self.errors.append("fixed_order_dns.py did not start (see fixed-order.log)")
            return
        self.procs.append(fixed)
        dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        log_path = os.path.join(workdir, "dnsmasq.log")
        for _ in range(5):  # a free port can be taken between the probe and dnsmasq's bind
            port = free_udp_port()
            with open(log_path, "ab") as log:
                proc = start([dnsmasq, "--no-daemon", "--no-resolv", "--no-hosts", f"--port={port}",
                              "--listen-address=127.0.0.1", "--bind-interfaces", "--cache-size=1000",
                              f"--pid-file={os.path.join(workdir, 'dnsmasq.pid')}"] + DNSMASQ_ZONE,
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            if self._answers(port, proc):
                self.procs.append(proc)
                self.dnsmasq_port = port
                return
            proc.kill()
            proc.wait(timeout=5)
        self.errors.append(f"dnsmasq did not answer on 127.0.0.1 (see {log_path})")

    @staticmethod
    def _answers(port, proc, timeout=5.0):
        """dnsmasq answers once it is up: one query for web.lan from here."""
        import socket
        query = bytes.fromhex("12340100000100000000000003776562036c616e0000010001")
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            while time.monotonic() < deadline and proc.poll() is None:
                s.sendto(query, ("127.0.0.1", port))
                try:
                    data, _ = s.recvfrom(512)
                    if data[:2] == query[:2]:
                        return True
                except OSError:
                    pass
        return False

    def ok(self):
        return not self.errors

    def daemon_args(self):
        """Forward to our loopback servers only; without them no DNS service at all."""
        if not self.ok():
            return ["--dns-mode", "off"]
        return ["--dns-mode", "forward", "--dns-upstream", f"127.0.0.1:{self.dnsmasq_port}",
                "--dns-zone", f"test=127.0.0.1:{self.fixed_port}", "--dns-timeout", "500ms"]

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()  # by pid
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)
        self.procs.clear()


# ---------------------------------------------------------------------------------
# dig in the guest

class Dig:
    """One dig run: status, header flags, answer records (name, type, data), +short lines."""

    def __init__(self, completed):
        self.rc = completed.returncode
        self.text = (completed.stdout or "") + (completed.stderr or "")
        m = re.search(r"status: (\w+)", self.text)
        self.status = m.group(1) if m else None
        m = re.search(r";; flags:([a-z ]*);", self.text)
        self.flags = set(m.group(1).split()) if m else set()
        self.answers = []
        in_answer = False
        for line in self.text.splitlines():
            if line.startswith(";; ANSWER SECTION:"):
                in_answer = True
                continue
            if in_answer:
                if not line.strip() or line.startswith(";"):
                    in_answer = False
                    continue
                parts = line.split(None, 4)
                if len(parts) == 5:
                    self.answers.append((parts[0].lower(), parts[3], parts[4]))
        self.short = [line.strip() for line in (completed.stdout or "").splitlines() if line.strip()]

    def brief(self):
        return (f"rc {self.rc}, status {self.status}, flags {' '.join(sorted(self.flags))}, "
                f"{len(self.answers)} answers")

    def data(self, rtype):
        return [d for _, t, d in self.answers if t == rtype]


def dig(guest, args, short=False, timeout=20):
    cmd = ["dig", f"@{GATEWAY}", "+time=2", "+tries=2"] + (["+short"] if short else []) + list(args)
    return Dig(guest.run(cmd, timeout=timeout))


def _no_duplicates(records):
    return len(records) == len(set(records))


def chain_checks(results, guest, prefix):
    """Chain order exact (+short and the answer section), and no duplicate records."""
    s = dig(guest, ["a.test", "A"], short=True)
    results.check(f"{prefix}chain order exact (dig +short a.test)", s.rc == 0 and s.short == CHAIN,
                  " ".join(s.short) if s.rc == 0 else s.text.strip()[-300:])
    d = dig(guest, ["a.test", "A"])
    got = [(n, t, v) for n, t, v in d.answers]
    results.check(f"{prefix}answer section in order, 6 records (dig a.test)",
                  d.status == "NOERROR" and got == CHAIN_RECORDS,
                  d.brief() if got == CHAIN_RECORDS else f"{d.brief()}: {got}")
    big = dig(guest, ["+tcp", "big.test", "A"])
    every = d.answers + big.answers
    results.check(f"{prefix}no duplicate records (a.test, big.test over TCP)",
                  len(d.answers) == 6 and len(big.answers) == 64 and _no_duplicates(d.answers)
                  and _no_duplicates(big.answers),
                  f"{len(every)} records, {len(set(every))} distinct")
    return d


def nxdomain_check(results, guest, prefix, names):
    got = {name: dig(guest, [name, "A"]) for name in names}
    ok = all(d.status == "NXDOMAIN" and not d.answers for d in got.values())
    results.check(f"{prefix}NXDOMAIN for a missing name ({', '.join(names)})", ok,
                  "; ".join(f"{n}: {d.brief()}" for n, d in got.items()))


def tools_ok(results, prefix, errors):
    """Each missing tool or upstream is a failure; True when the checks can run."""
    for e in errors:
        results.check(f"{prefix}prerequisite: {e}", False)
    return not errors


# ---------------------------------------------------------------------------------
# Forward mode (the full run's daemon)

def forward_checks(results, guest, upstreams, workdir):
    p = "dns: "
    if not tools_ok(results, p, upstreams.errors):
        return
    d = dig(guest, ["web.lan", "A"])
    results.check(f"{p}A through the gateway to dnsmasq (web.lan -> 10.1.2.3)",
                  d.status == "NOERROR" and d.data("A") == ["10.1.2.3"], d.brief() if d.rc == 0 else d.text[-300:])
    cname = dig(guest, ["alias.lan", "A"])
    txt = dig(guest, ["txt.lan", "TXT"])
    srv = dig(guest, ["_http._tcp.lan", "SRV"])
    ok = (cname.data("CNAME") == ["db.lan."] and cname.data("A") == ["10.1.2.4"]
          and txt.data("TXT") == ['"tapwire e2e"'] and srv.data("SRV") == ["0 0 80 db.lan."])
    results.check(f"{p}CNAME, TXT and SRV through dnsmasq", ok,
                  f"CNAME {cname.data('CNAME')} A {cname.data('A')}; TXT {txt.data('TXT')}; SRV {srv.data('SRV')}")
    nxdomain_check(results, guest, p, ["missing.lan", "missing.test"])

    gw = dig(guest, ["gateway.internal", "A"])
    host = dig(guest, ["host.internal", "A"])
    results.check(f"{p}built-in names (gateway.internal -> {GATEWAY}, host.internal -> {HOST_ALIAS})",
                  gw.data("A") == [GATEWAY] and host.data("A") == [HOST_ALIAS] and "aa" in gw.flags,
                  f"gateway.internal {gw.data('A')} ({gw.brief()}); host.internal {host.data('A')}")
    mx = dig(guest, ["gateway.internal", "MX"])
    results.check(f"{p}NODATA: MX gateway.internal is NOERROR with no answer",
                  mx.status == "NOERROR" and not mx.answers, mx.brief())

    chain_checks(results, guest, p)

    tc = dig(guest, ["+notcp", "+noedns", "+ignore", "big.test", "A"])
    results.check(f"{p}UDP without EDNS: big.test truncated, TC=1 (dig +notcp +noedns +ignore)",
                  tc.status == "NOERROR" and "tc" in tc.flags and 0 < len(tc.answers) < 64, tc.brief())
    tcp = dig(guest, ["+tcp", "big.test", "A"])
    results.check(f"{p}TCP: all 64 records of big.test (dig +tcp)",
                  tcp.status == "NOERROR" and len(tcp.data("A")) == 64 and "tc" not in tcp.flags, tcp.brief())
    retry = dig(guest, ["+noedns", "big.test", "A"])
    results.check(f"{p}TC then TCP: dig +noedns retries over TCP and gets 64",
                  len(retry.data("A")) == 64 and "tc" not in retry.flags and "Truncated, retrying in TCP mode"
                  in retry.text, retry.brief())
    edns = dig(guest, ["+notcp", "+bufsize=1232", "big.test", "A"])
    results.check(f"{p}UDP with EDNS 1232: all 64 records, no TC",
                  len(edns.data("A")) == 64 and "tc" not in edns.flags, edns.brief())

    conf = write_resolv_conf(os.path.join(workdir, "guest-resolv.conf"), GATEWAY)
    r = guest.run(with_resolv_conf(conf, ["getent", "ahosts", "a.test"]), timeout=30)
    lines = [line.split() for line in r.stdout.splitlines() if line.strip()]
    addrs = {parts[0] for parts in lines}
    canon = lines[0][2] if lines and len(lines[0]) > 2 else None
    results.check(f"{p}getent ahosts a.test (glibc's strict chain walk): 1.1.1.1 2.2.2.2 3.3.3.3",
                  r.returncode == 0 and addrs == {"1.1.1.1", "2.2.2.2", "3.3.3.3"} and canon == "d.test",
                  f"addresses {sorted(addrs)}, canonical name {canon}" if r.returncode == 0
                  else f"exit {r.returncode} {r.stderr.strip()}")


# ---------------------------------------------------------------------------------
# Host-resolver mode (a daemon of its own, see run_e2e.dns_host_mode_run)

def host_mode_upstream(start, workdir, base=None):
    """The fixed-order server on a free 127.x.y.z:53: (proc, address) or (None, reason)."""
    base = base if base is not None else os.getpid()
    for i in range(8):
        n = (base + i * 7919) % (250 * 250)
        address = f"127.53.{1 + n // 250}.{1 + n % 250}"
        proc, _ = start_fixed_order(start, address, 53, os.path.join(workdir, "fixed-order-53.log"))
        if proc is not None:
            return proc, address
    return None, "no free 127.53.x.y:53 for the fixed-order server (see fixed-order-53.log)"


def host_mode_checks(results, guest, daemon):
    p = "dns host mode: "
    rc, stats = daemon.ctl("stats")
    mode = stats.get("dns", {}).get("mode") if rc == 0 and isinstance(stats, dict) else None
    results.check(f"{p}daemon reports mode host", mode == "host", f"dns.mode {mode!r}")
    chain_checks(results, guest, p)
    nxdomain_check(results, guest, p, ["missing.test"])
    for qtype, name in (("AAAA", "d.test"), ("AAAA", "a.test"), ("TXT", "d.test")):
        d = dig(guest, [name, qtype])
        extra = f"; chain {[v for _, t, v in d.answers]}" if d.answers else ""
        ok = d.status == "NOERROR" and not d.data(qtype)
        results.check(f"{p}{qtype} {name} (exists, no {qtype}) is NOERROR, not NXDOMAIN", ok, d.brief() + extra)
