#!/usr/bin/python3
"""VM proxy benchmark: tapwire vs pasta vs slirp4netns (and veth, the limit).

Method and setup: bench/PEERS.md. Run as root with /usr/bin/python3:

    /usr/bin/python3 bench/peers/run.py                       # everything, 3 runs, markdown table
    /usr/bin/python3 bench/peers/run.py --proxies pasta,veth --runs 1 --mtus 1500
    /usr/bin/python3 bench/peers/run.py --proxies tapwire --runs 1 --profile

Every namespace this script creates is named twb-*-<pid> and deleted at the end; every
process it starts is stopped by its pid; every loop is bounded in count and time.
"""
import argparse
import atexit
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PID = os.getpid()
HOST_NS = f"twb-h-{PID}"

IPERF_PORT = 5201
DNS_PORT = 53      # dnsmasq on 127.0.0.1 of the host namespace (and on the veth's host end)
DNS_NAME = "bench.lan"  # answered by dnsmasq itself (--address): the upstream costs no lookup
DNS_ANSWER = "10.9.9.9"
CLOSE_PORT = 5300  # accept, write 1 byte, close
HOLD_PORT = 5301   # accept, write 1 byte, hold until the client closes
VETH_HOST_IP = "10.99.0.1"
VETH_GUEST_IP = "10.99.0.2"

# A command run with FILE bind-mounted over /etc/resolv.conf in a private mount namespace
# (unshare and sh exec, so the pid is the command's): ["unshare", ..., FILE, cmd...].
WITH_RESOLV = ["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"']

# Cleanup state: only what this process created.
created_netns = []
started_procs = []  # subprocess.Popen
workdir = None


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(args, timeout=20, check=True, capture=True):
    r = subprocess.run(args, timeout=timeout, stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE if capture else None, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} -> {r.returncode}: {(r.stderr or '').strip()}")
    return r


def netns_add(name):
    sh(["ip", "netns", "add", name])
    created_netns.append(name)
    sh(["ip", "-n", name, "link", "set", "lo", "up"])


def netns_del(name):
    if name in created_netns:
        subprocess.run(["ip", "netns", "del", name], timeout=20)
        created_netns.remove(name)


def start(args, logname):
    f = open(os.path.join(workdir, logname), "ab")
    p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    f.close()
    started_procs.append(p)
    return p


def stop(p, grace=3.0):
    if p is None:
        return None
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
    if p in started_procs:
        started_procs.remove(p)
    return p.returncode


def cleanup():
    for p in list(started_procs):
        try:
            stop(p, grace=1.0)
        except Exception:
            pass
    for ns in list(created_netns):
        try:
            netns_del(ns)
        except Exception:
            pass


def on_signal(signum, _frame):
    cleanup()
    if workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(128 + signum)


def in_ns(ns, args):
    return ["ip", "netns", "exec", ns] + args


def wait_until(pred, seconds, step=0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def link_exists(ns, ifname):
    return subprocess.run(["ip", "-n", ns, "link", "show", ifname], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, timeout=10).returncode == 0


def has_ipv4(ns, ifname):
    r = subprocess.run(["ip", "-n", ns, "-4", "addr", "show", "dev", ifname], capture_output=True,
                       text=True, timeout=10)
    return r.returncode == 0 and "inet " in r.stdout


# ---------------------------------------------------------------------------------------
# Host namespace: loopback servers, one route that leads nowhere.

def dnsmasq_args(ip):
    """dnsmasq answering DNS_NAME itself on ip:53: no upstream, no hosts file, no DHCP."""
    return ["/usr/sbin/dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", f"--port={DNS_PORT}",
            f"--listen-address={ip}", "--bind-interfaces", "--cache-size=1000", "--log-facility=-",
            f"--pid-file={os.path.join(workdir, f'dnsmasq-{ip}.pid')}", f"--address=/{DNS_NAME}/{DNS_ANSWER}"]


class Host:
    def __init__(self, conn_bench, dns):
        self.conn_bench = conn_bench
        self.dns = dns
        self.iperf = {}
        self.conn = {}
        self.dnsmasq = None

    def setup(self):
        netns_add(HOST_NS)
        # The only non-loopback link is a veth pair whose other end (nw1, in this same
        # namespace, no address) answers nothing: the default route leads nowhere. pasta
        # needs a default route to take its addresses from.
        sh(["ip", "-n", HOST_NS, "link", "add", "nw0", "type", "veth", "peer", "name", "nw1"])
        sh(["ip", "-n", HOST_NS, "addr", "add", "172.30.0.2/24", "dev", "nw0"])
        sh(["ip", "-n", HOST_NS, "link", "set", "nw0", "up"])
        sh(["ip", "-n", HOST_NS, "link", "set", "nw1", "up"])
        sh(["ip", "-n", HOST_NS, "route", "add", "default", "via", "172.30.0.1"])
        # The veth row's servers bind 10.99.0.1 before the veth link exists.
        sh(in_ns(HOST_NS, ["sysctl", "-qw", "net.ipv4.ip_nonlocal_bind=1"]))
        for ip in ("127.0.0.1", VETH_HOST_IP):
            self.start_iperf(ip)
            self.conn[ip] = start(in_ns(HOST_NS, [self.conn_bench, "server", "--bind", ip, "--close-port",
                                                  str(CLOSE_PORT), "--hold-port", str(HOLD_PORT),
                                                  "--max-seconds", "7200"]), f"conn-server-{ip}.log")
        if self.dns:
            # The DNS row's upstream: every proxy forwards the guest's queries here.
            self.dnsmasq = start(in_ns(HOST_NS, dnsmasq_args("127.0.0.1")), "dnsmasq-127.0.0.1.log")
            self.resolv_conf = os.path.join(workdir, "resolv.conf")
            with open(self.resolv_conf, "w") as f:
                f.write("nameserver 127.0.0.1\n")
        time.sleep(0.3)
        if self.dnsmasq is not None and self.dnsmasq.poll() is not None:
            raise RuntimeError(f"dnsmasq exited: {tail_log('dnsmasq-127.0.0.1.log')}")

    def start_iperf(self, ip):
        self.iperf[ip] = start(in_ns(HOST_NS, ["iperf3", "-s", "-B", ip, "-p", str(IPERF_PORT)]),
                               f"iperf3-server-{ip}.log")

    def restart_iperf(self, ip):
        stop(self.iperf.get(ip))
        self.start_iperf(ip)
        time.sleep(0.3)


# ---------------------------------------------------------------------------------------
# Proxies. Each start() gets a fresh guest namespace and returns the address the guest
# uses for the host's 127.0.0.1 (the veth row: the host end of the veth).

class Proxy:
    name = "?"
    dns_server = None  # where the guest sends DNS queries (the DNS row)

    def __init__(self, args):
        self.args = args
        self.proc = None

    def start(self, guest, mtu):
        raise NotImplementedError

    def stop(self):
        rc = stop(self.proc)
        self.proc = None
        return rc


class Tapwire(Proxy):
    name = "tapwire"
    dns_server = "192.168.65.1"

    def start(self, guest, mtu):
        ctl = os.path.join(workdir, f"tapwire-{guest}.sock")
        self.proc = start(in_ns(HOST_NS, [self.args.tapwire, "--tap", "tw0", "--netns", f"/run/netns/{guest}",
                                          "--mtu", str(mtu), "--allow-outbound", "127.0.0.0/8",
                                          "--control", ctl, "--log-level", "warn",
                                          "--stats-interval", "0s"] + self.dns_args()
                                         + self.args.tapwire_args.split()),
                          f"tapwire-{guest}.log")
        if not wait_until(lambda: link_exists(guest, "tw0") or self.proc.poll() is not None, 5):
            raise RuntimeError("tapwire: tap tw0 did not appear in the guest namespace within 5 s")
        if self.proc.poll() is not None:
            raise RuntimeError(f"tapwire exited with {self.proc.returncode}: {tail_log(f'tapwire-{guest}.log')}")
        sh(["ip", "-n", guest, "link", "set", "tw0", "mtu", str(mtu), "up"])
        sh(["ip", "-n", guest, "addr", "add", "192.168.65.3/24", "dev", "tw0"])
        sh(["ip", "-n", guest, "route", "add", "default", "via", "192.168.65.1"])
        return "192.168.65.2"

    def dns_args(self):
        # Never /etc/resolv.conf's servers: the host namespace's dnsmasq, or no DNS at all.
        if self.args.dns_count:
            return ["--dns-mode", "forward", "--dns-upstream", f"127.0.0.1:{DNS_PORT}"]
        return ["--dns-mode", "off"]


class Pasta(Proxy):
    name = "pasta"
    # -D 127.0.0.1: a loopback resolver is reached through the gateway address, which pasta
    # then also matches as the DNS address (its --dns-forward default): the guest's queries
    # to 172.30.0.1:53 go to the host's 127.0.0.1:53. (An explicit --dns-forward ADDR with a
    # loopback -D is not answered by this pasta version: it forwards to the gateway address.)
    dns_server = "172.30.0.1"

    def start(self, guest, mtu):
        # -f: stay in the foreground (we hold its pid); --runas 0: as root it would switch to
        # nobody and then fail to enter the namespace; no port forwarding either way, so
        # guest traffic takes the tap path (not pasta's loopback splice); the gateway
        # address (172.30.0.1, copied from the host namespace) maps to the host's loopback.
        self.proc = start(in_ns(HOST_NS, ["pasta", "-f", "-q", "-4", "--runas", "0", "--config-net",
                                          "-t", "none", "-u", "none", "-T", "none", "-U", "none",
                                          "-D", "127.0.0.1" if self.args.dns_count else "none",
                                          "-m", str(mtu), "--netns", f"/run/netns/{guest}"]),
                          f"pasta-{guest}.log")
        if not wait_until(lambda: (link_exists(guest, "nw0") and has_ipv4(guest, "nw0"))
                          or self.proc.poll() is not None, 5):
            raise RuntimeError("pasta: nw0 not configured in the guest namespace within 5 s")
        if self.proc.poll() is not None:
            raise RuntimeError(f"pasta exited with {self.proc.returncode}: {tail_log(f'pasta-{guest}.log')}")
        sh(["ip", "-n", guest, "link", "set", "nw0", "mtu", str(mtu)])
        return "172.30.0.1"


class Slirp(Proxy):
    name = "slirp4netns"
    dns_server = "10.0.2.3"

    def start(self, guest, mtu):
        # Host loopback stays enabled (no --disable-host-loopback): 10.0.2.2 is the host's 127.0.0.1.
        # DNS (the DNS row): 10.0.2.3 forwards to /etc/resolv.conf's first nameserver, port 53;
        # slirp4netns has no option for it, so it runs in a private mount namespace whose
        # /etc/resolv.conf names 127.0.0.1 (the host namespace's dnsmasq).
        cmd = ["slirp4netns", "--configure", f"--mtu={mtu}", "--netns-type=path", f"/run/netns/{guest}", "tap0"]
        if self.args.dns_count:
            cmd = WITH_RESOLV + [os.path.join(workdir, "resolv.conf")] + cmd
        else:
            cmd.insert(3, "--disable-dns")
        self.proc = start(in_ns(HOST_NS, cmd), f"slirp4netns-{guest}.log")
        if not wait_until(lambda: (link_exists(guest, "tap0") and has_ipv4(guest, "tap0"))
                          or self.proc.poll() is not None, 5):
            raise RuntimeError("slirp4netns: tap0 not configured within 5 s")
        if self.proc.poll() is not None:
            raise RuntimeError(f"slirp4netns exited with {self.proc.returncode}")
        return "10.0.2.2"


class Veth(Proxy):
    name = "veth"
    dns_server = VETH_HOST_IP  # a dnsmasq of its own on the veth's host end

    def start(self, guest, mtu):
        sh(["ip", "-n", HOST_NS, "link", "add", "hv0", "mtu", str(mtu), "type", "veth", "peer", "name", "gv0",
            "netns", guest])
        sh(["ip", "-n", guest, "link", "set", "gv0", "mtu", str(mtu)])
        sh(["ip", "-n", HOST_NS, "addr", "add", f"{VETH_HOST_IP}/24", "dev", "hv0"])
        sh(["ip", "-n", guest, "addr", "add", f"{VETH_GUEST_IP}/24", "dev", "gv0"])
        sh(["ip", "-n", HOST_NS, "link", "set", "hv0", "up"])
        sh(["ip", "-n", guest, "link", "set", "gv0", "up"])
        if self.args.dns_count:  # not self.proc: that would count dnsmasq's CPU as the proxy's
            self.dnsmasq = start(in_ns(HOST_NS, dnsmasq_args(VETH_HOST_IP)), f"dnsmasq-{guest}.log")
        return VETH_HOST_IP

    def stop(self):
        stop(getattr(self, "dnsmasq", None))
        self.dnsmasq = None
        subprocess.run(["ip", "-n", HOST_NS, "link", "del", "hv0"], stderr=subprocess.DEVNULL, timeout=10)
        return 0


PROXIES = {"tapwire": Tapwire, "pasta": Pasta, "slirp4netns": Slirp, "veth": Veth}


def tail_log(name, lines=5):
    try:
        with open(os.path.join(workdir, name), errors="replace") as f:
            return " | ".join(f.read().strip().splitlines()[-lines:])
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------
# Measurements (all run inside the guest namespace).

def iperf(guest, server, seconds, reverse):
    args = ["iperf3", "-c", server, "-p", str(IPERF_PORT), "-t", str(seconds), "-J"]
    if reverse:
        args.append("-R")
    try:
        r = subprocess.run(in_ns(guest, args), capture_output=True, text=True, timeout=seconds + 20)
    except subprocess.TimeoutExpired:
        return {"error": "iperf3 client timed out"}
    try:
        j = json.loads(r.stdout)
    except json.JSONDecodeError:
        return {"error": f"iperf3 rc={r.returncode}: {r.stderr.strip()[:200]}"}
    if "error" in j and "end" not in j:
        return {"error": j["error"]}
    end = j.get("end", {})
    recv = end.get("sum_received", {}).get("bits_per_second")
    if recv is None:
        return {"error": j.get("error", "no result")}
    return {"gbps": recv / 1e9, "retransmits": end.get("sum_sent", {}).get("retransmits"),
            "error": j.get("error")}


def conn_client(conn_bench, guest, mode, server, port, count, seconds):
    args = [conn_bench, mode, server, str(port), "--count", str(count), "--seconds", str(seconds)]
    try:
        r = subprocess.run(in_ns(guest, args), capture_output=True, text=True, timeout=seconds + 20)
    except subprocess.TimeoutExpired:
        return {"error": f"{mode} client timed out"}
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError:
        return {"error": f"{mode} rc={r.returncode}: {r.stderr.strip()[:200]}"}


def dns_client(dns_bench, guest, server, count, seconds):
    args = [dns_bench, server, DNS_NAME, "--port", str(DNS_PORT), "--count", str(count), "--seconds", str(seconds)]
    try:
        r = subprocess.run(in_ns(guest, args), capture_output=True, text=True, timeout=seconds + 20)
    except subprocess.TimeoutExpired:
        return {"error": "dns client timed out"}
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError:
        return {"error": f"dns rc={r.returncode}: {r.stderr.strip()[:200]}"}


def wait_dns_ready(dns_bench, guest, server, seconds=10):
    """The DNS path works once one query is answered (dnsmasq may still be starting)."""
    last = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = subprocess.run(in_ns(guest, [dns_bench, server, DNS_NAME, "--count", "1", "--warmup", "0",
                                         "--timeout-ms", "300", "--seconds", "1"]),
                           capture_output=True, text=True, timeout=10)
        last = (r.stdout or r.stderr).strip()
        if r.returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"no DNS answer through the proxy within {seconds} s: {last}")


def wait_ready(conn_bench, guest, server, seconds=10):
    """The path works once one connect/read/close to the host server succeeds."""
    last = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        last = conn_client(conn_bench, guest, "seq", server, CLOSE_PORT, 1, 2)
        if last.get("ok") == 1:
            return
        time.sleep(0.2)
    raise RuntimeError(f"no connection through the proxy within {seconds} s: {last}")


def cpu_seconds(pid):
    """(utime + stime in seconds, minor page faults) of a process (the proxy); None when unknown."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), int(fields[7])
    except (OSError, IndexError, ValueError):
        return None


def measured(proxy, fn):
    """Runs fn(); adds the proxy's CPU use during it (percent of one core)."""
    pid = proxy.proc.pid if proxy.proc else None
    c0, t0 = (cpu_seconds(pid) if pid else None), time.monotonic()
    res = fn()
    c1, t1 = (cpu_seconds(pid) if pid else None), time.monotonic()
    if c0 is not None and c1 is not None and isinstance(res, dict):
        res["proxy_cpu_pct"] = round(100 * (c1[0] - c0[0]) / (t1 - t0))
        res["proxy_minflt"] = c1[1] - c0[1]
    return res


def run_cell(args, host, proxy, mtu, index):
    guest = f"twb-g{index}-{PID}"
    netns_add(guest)
    # Fresh ports for every connection of a run: no reuse of a 4-tuple the proxy may still
    # hold in TIME_WAIT.
    sh(in_ns(guest, ["sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65000"]))
    cell = {"proxy": proxy.name, "mtu": mtu}
    try:
        server = proxy.start(guest, mtu)
        wait_ready(args.conn_bench, guest, server)
        if "dns" in args.rows and mtu in args.conn_mtus:
            # First, while the proxy is fresh: no flows of the other rows still closing.
            wait_dns_ready(args.dns_bench, guest, proxy.dns_server)
            cell["dns"] = measured(proxy, lambda: dns_client(args.dns_bench, guest, proxy.dns_server,
                                                             args.dns_count, args.dns_seconds))
        iperf_ip = VETH_HOST_IP if proxy.name == "veth" else "127.0.0.1"
        for key, rev in (("up", False), ("down", True)):
            if "iperf" not in args.rows:
                break
            res = measured(proxy, lambda: iperf(guest, server, args.iperf_seconds, rev))
            if res.get("error"):
                host.restart_iperf(iperf_ip)  # a failed test can leave the server busy
            cell[key] = res
        if "conn" in args.rows and mtu in args.conn_mtus:
            cell["seq"] = measured(proxy, lambda: conn_client(args.conn_bench, guest, "seq", server, CLOSE_PORT,
                                                              args.seq_count, args.seq_seconds))
            time.sleep(0.5)
            cell["flood"] = conn_client(args.conn_bench, guest, "flood", server, HOLD_PORT, args.flood,
                                        args.flood_seconds)
        if args.profile and proxy.name == "tapwire":
            cell["profile"] = profile_tapwire(args, guest, server, proxy.proc.pid, mtu)
    except Exception as e:  # recorded in the results, the run goes on
        cell["error"] = str(e)
        log(f"  {proxy.name} mtu {mtu}: {e}")
    finally:
        rc = proxy.stop()
        cell["exit"] = rc
        netns_del(guest)
    return cell


# ---------------------------------------------------------------------------------------
# Profile: perf record -g on the daemon while the guest drives it.

def profile_tapwire(args, guest, server, pid, mtu):
    out = {}
    jobs = [("up", ["iperf3", "-c", server, "-p", str(IPERF_PORT), "-t", str(args.iperf_seconds)]),
            ("down", ["iperf3", "-c", server, "-p", str(IPERF_PORT), "-t", str(args.iperf_seconds), "-R"])]
    jobs = jobs if "iperf" in args.rows else []
    if "dns" in args.rows and mtu in args.conn_mtus:
        jobs.append(("dns", [args.dns_bench, "192.168.65.1", DNS_NAME, "--count", "1000000", "--seconds",
                             str(args.iperf_seconds)]))
    if "conn" in args.rows and mtu in args.conn_mtus:
        jobs.append(("seq", [args.conn_bench, "seq", server, str(CLOSE_PORT), "--count", str(args.seq_count),
                             "--seconds", str(args.seq_seconds)]))
    for key, cmd in jobs:
        data = os.path.join(workdir, f"perf-{mtu}-{key}.data")
        client = subprocess.Popen(in_ns(guest, cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started_procs.append(client)
        time.sleep(0.5)
        rec = subprocess.run(["perf", "record", "--call-graph", "dwarf,16384", "-p", str(pid), "-o", data, "--", "sleep",
                              str(max(1, args.iperf_seconds - 2))], capture_output=True, text=True,
                             timeout=args.iperf_seconds + 30)
        try:
            client.wait(timeout=args.iperf_seconds + 20)
        except subprocess.TimeoutExpired:
            pass
        stop(client)
        if rec.returncode != 0:
            out[key] = {"error": rec.stderr.strip()[-300:]}
            continue
        rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "--sort", "symbol",
                              "-g", "none", "--percent-limit", "0.5"], capture_output=True, text=True,
                             timeout=120)
        rows = []
        for line in rep.stdout.splitlines():
            m = re.match(r"\s*([\d.]+)%\s+\[([.kgu])\]\s+(.*\S)", line)
            if m:
                sym = re.sub(r"(\s+-)+\s*$", "", m.group(3)).strip()
                rows.append((float(m.group(1)), m.group(2), sym))
        out[key] = {"top": rows[:15], "data": data}
        shutil.copy(data, os.path.join(args.keep_dir, os.path.basename(data))) if args.keep_dir else None
    return out


# ---------------------------------------------------------------------------------------
# Report.

def median(xs):
    return statistics.median(xs) if xs else None


def summarize(cells, names, mtus, conn_mtus):
    table = {}  # (row, proxy) -> text
    for name in names:
        for mtu in mtus:
            for key, label in (("up", "guest->host"), ("down", "host->guest")):
                vals = [c[key]["gbps"] for c in cells if c["proxy"] == name and c["mtu"] == mtu
                        and key in c and c[key].get("gbps") is not None]
                runs = [c for c in cells if c["proxy"] == name and c["mtu"] == mtu]
                if not any(key in c for c in runs):
                    continue  # the row was not run
                row = f"{label}, MTU {mtu} (Gbit/s)"
                table[(row, name)] = f"{median(vals):.2f}" if vals else "failed"
                if vals and len(vals) < len(runs):
                    table[(row, name)] += f" ({len(vals)}/{len(runs)} runs)"
        for mtu in conn_mtus:
            runs = [c for c in cells if c["proxy"] == name and c["mtu"] == mtu]
            dns = [c["dns"] for c in runs if "dns" in c and c["dns"].get("answers") == c["dns"].get("requested")]
            if any("dns" in c for c in runs):
                row = "DNS query latency, median (p99), us" + (f", MTU {mtu}" if len(conn_mtus) > 1 else "")
                table[(row, name)] = (f"{median([d['p50_us'] for d in dns]):.1f} ({median([d['p99_us'] for d in dns]):.0f})"
                                      if dns else "failed")
                if dns and len(dns) < len(runs):
                    table[(row, name)] += f" ({len(dns)}/{len(runs)} runs)"
            if not any("seq" in c for c in runs):
                continue  # the connection rows were not run
            seq = [c["seq"]["per_second"] for c in runs if "seq" in c and c["seq"].get("per_second")
                   and not c["seq"].get("failure")]
            row = f"sequential connects/s, MTU {mtu}" if len(conn_mtus) > 1 else "sequential connects/s"
            table[(row, name)] = f"{median(seq):,.0f}" if seq else "failed"
            if seq and len(seq) < len(runs):
                table[(row, name)] += f" ({len(seq)}/{len(runs)} runs)"
            fl = [c["flood"] for c in runs if "flood" in c and "succeeded" in c["flood"]]
            row = "1,000-connection flood: succeeded (all-open time)"
            if len(conn_mtus) > 1:
                row += f", MTU {mtu}"
            if fl:
                succ = [f["succeeded"] for f in fl]
                secs = [f["seconds"] for f in fl]
                table[(row, name)] = f"{min(succ)}/{fl[0]['requested']} ({median(secs):.2f} s)"
                if min(succ) != max(succ):
                    table[(row, name)] = f"{min(succ)}..{max(succ)}/{fl[0]['requested']} ({median(secs):.2f} s)"
            else:
                table[(row, name)] = "failed"
    rows = []
    for key in table:
        if key[0] not in rows:
            rows.append(key[0])
    lines = ["| row | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for r in rows:
        lines.append(f"| {r} | " + " | ".join(table.get((r, n), "-") for n in names) + " |")
    return "\n".join(lines)


def raw_lines(cells):
    out = []
    for c in cells:
        parts = [f"{c['proxy']:<11} mtu {c['mtu']:>5} run {c['run']}:"]
        for key in ("up", "down"):
            if key in c:
                v = c[key]
                cpu = f", cpu {v['proxy_cpu_pct']}%" if "proxy_cpu_pct" in v else ""
                parts.append(f"{key} {v['gbps']:.2f} Gbit/s (retr {v.get('retransmits')}{cpu})" if v.get("gbps")
                             is not None else f"{key} ERROR {v.get('error')}")
        if "seq" in c:
            s = c["seq"]
            cpu = f", cpu {s['proxy_cpu_pct']}%" if "proxy_cpu_pct" in s else ""
            if s.get("proxy_minflt") is not None and s.get("ok"):
                cpu += f", {s['proxy_minflt'] / s['ok']:.1f} faults/conn"
            parts.append(f"seq {s.get('per_second', 0):,.0f}/s ({s.get('ok')} ok{cpu}, p50 {s.get('p50_us')} us, "
                         f"p99 {s.get('p99_us')} us{', FAILED ' + str(s.get('failure')) + ' ' + str(s.get('errno')) if s.get('failure') or s.get('error') else ''}{s.get('error') or ''})")
        if "flood" in c:
            f = c["flood"]
            parts.append(f"flood {f.get('succeeded')}/{f.get('requested')} in {f.get('seconds', 0):.2f} s"
                         + (f" (failed {f.get('failed')}, pending {f.get('pending')}, first error "
                            f"'{f.get('first_error')}')" if f.get('succeeded') != f.get('requested') else "")
                         + (f" {f['error']}" if f.get("error") else ""))
        if "dns" in c:
            d = c["dns"]
            cpu = f", cpu {d['proxy_cpu_pct']}%" if "proxy_cpu_pct" in d else ""
            parts.append(f"dns p50 {d.get('p50_us')} us p99 {d.get('p99_us')} us min {d.get('min_us')} us "
                         f"({d.get('answers')} answers, lost {d.get('lost')}{cpu})"
                         + (f" ERROR {d['error']}" if d.get("error") else ""))
        if c.get("error"):
            parts.append(f"ERROR {c['error']}")
        if c.get("exit") not in (None, 0, -15):
            parts.append(f"exit {c['exit']}")
        out.append("  ".join(parts))
    return "\n".join(out)


def machine_info():
    def first(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except Exception as e:
            return f"({e})"
    model = "?"
    r = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10)
    for line in r.stdout.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    pkgs = subprocess.run(["dpkg-query", "-W", "passt", "slirp4netns", "libslirp0", "iperf3", "dnsmasq-base"],
                          capture_output=True, text=True, timeout=10).stdout.strip().replace("\t", " ")
    return {
        "cpu": model, "cpus": os.cpu_count(), "kernel": platform.release(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "pasta --version": first(["pasta", "--version"]),
        "slirp4netns --version": " ".join(subprocess.run(["slirp4netns", "--version"], capture_output=True,
                                                         text=True, timeout=10).stdout.split("\n")[:3]),
        "packages": pkgs.replace("\n", ", "),
        "iperf3": first(["iperf3", "--version"]),
        "tree": first(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]),
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--proxies", default="tapwire,pasta,slirp4netns,veth")
    ap.add_argument("--mtus", default="1500,65520")
    ap.add_argument("--conn-mtus", default="1500", help="MTUs at which the connect rows run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--iperf-seconds", type=int, default=5)
    ap.add_argument("--seq-count", type=int, default=20000)
    ap.add_argument("--seq-seconds", type=float, default=5)
    ap.add_argument("--flood", type=int, default=1000)
    ap.add_argument("--flood-seconds", type=float, default=30)
    ap.add_argument("--rows", default="iperf,conn,dns", help="which rows: iperf, conn (connects and flood), dns")
    ap.add_argument("--dns-count", type=int, default=2000,
                    help="sequential DNS queries per cell in the DNS row (0: no DNS row, DNS off)")
    ap.add_argument("--dns-seconds", type=float, default=30)
    ap.add_argument("--tapwire", default=None, help="daemon binary (default: build/bin/tapwire, "
                    "then build-bench/bin/tapwire)")
    ap.add_argument("--tapwire-args", default="", help="extra daemon flags, e.g. '--config FILE.json'")
    ap.add_argument("--profile", action="store_true", help="perf record -g on tapwire (after its measurements)")
    ap.add_argument("--keep-dir", default=None, help="copy perf data files here")
    ap.add_argument("--json", default=None, help="write all raw results here")
    ap.add_argument("--time-budget", type=float, default=1800, help="stop starting new cells after this")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("run.py: needs root (network namespaces, tap devices)", file=sys.stderr)
        return 2
    names = [n for n in args.proxies.split(",") if n]
    for n in names:
        if n not in PROXIES:
            print(f"run.py: unknown proxy {n!r} (choose from {', '.join(PROXIES)})", file=sys.stderr)
            return 2
    args.mtus = [int(m) for m in args.mtus.split(",")]
    args.conn_mtus = [int(m) for m in args.conn_mtus.split(",") if m]
    args.rows = {r for r in args.rows.split(",") if r}
    if args.rows - {"iperf", "conn", "dns"}:
        print(f"run.py: unknown rows {sorted(args.rows - {'iperf', 'conn', 'dns'})}", file=sys.stderr)
        return 2
    if "dns" not in args.rows:
        args.dns_count = 0  # DNS off in every proxy, as before the row existed
    elif args.dns_count <= 0:
        args.rows.discard("dns")
    if "tapwire" in names:
        if args.tapwire is None:
            for cand in ("build/bin/tapwire", "build-bench/bin/tapwire"):
                if os.access(os.path.join(REPO, cand), os.X_OK):
                    args.tapwire = os.path.join(REPO, cand)
                    break
        if not args.tapwire or not os.access(args.tapwire, os.X_OK):
            print("run.py: no tapwire binary (build it or pass --tapwire)", file=sys.stderr)
            return 2

    global workdir
    workdir = tempfile.mkdtemp(prefix=f"twb-{PID}-")
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    args.conn_bench = os.path.join(workdir, "conn_bench")
    sh(["cc", "-O2", "-o", args.conn_bench, os.path.join(HERE, "conn_bench.c")], timeout=120)
    args.dns_bench = os.path.join(workdir, "dns_bench")
    if args.dns_count:
        if not os.access("/usr/sbin/dnsmasq", os.X_OK):
            print("run.py: the DNS row needs dnsmasq (Debian package dnsmasq; --dns-count 0 skips the row)",
                  file=sys.stderr)
            return 2
        sh(["cc", "-O2", "-o", args.dns_bench, os.path.join(HERE, "dns_bench.c")], timeout=120)

    info = machine_info()
    log(f"workdir {workdir}; host namespace {HOST_NS}; tapwire {args.tapwire}")
    host = Host(args.conn_bench, args.dns_count > 0)
    host.setup()
    proxies = [PROXIES[n](args) for n in names]
    cells = []
    t0 = time.monotonic()
    index = 0
    # Interleaved: every run visits every proxy and MTU, so drift in machine load hits
    # all columns alike.
    for run in range(1, args.runs + 1):
        for mtu in args.mtus:
            for proxy in proxies:
                if time.monotonic() - t0 > args.time_budget:
                    log("time budget exhausted; stopping")
                    break
                index += 1
                log(f"run {run} mtu {mtu} {proxy.name}")
                saved = args.profile
                args.profile = saved and run == args.runs  # profile once, in the last run
                cell = run_cell(args, host, proxy, mtu, index)
                args.profile = saved
                cell["run"] = run
                cells.append(cell)
                log("  " + raw_lines([cell]))
    info["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    info["seconds"] = round(time.monotonic() - t0)
    cleanup()

    print("## Machine\n")
    for k, v in info.items():
        print(f"- {k}: {v}")
    print("\n## Table (median of runs)\n")
    print(summarize(cells, names, args.mtus, args.conn_mtus))
    print("\n## Raw\n\n```\n" + raw_lines(cells) + "\n```")
    for c in cells:
        for key, prof in (c.get("profile") or {}).items():
            print(f"\n## perf: tapwire, MTU {c['mtu']}, {key} (self %, top 15)\n\n```")
            if "error" in prof:
                print(prof["error"])
            for pct, kind, sym in prof.get("top", []):
                print(f"{pct:6.2f}%  [{kind}] {sym}")
            print("```")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "cells": cells}, f, indent=1)
    shutil.rmtree(workdir, ignore_errors=True) if not args.profile else None
    return 0


if __name__ == "__main__":
    sys.exit(main())
