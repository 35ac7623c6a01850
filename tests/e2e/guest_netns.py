"""The end-to-end test's machinery (tests/e2e/run_e2e.py and its check modules): the guest
network namespace on the daemon's tap, the daemon run against it, byte-exact test files,
and every process and namespace the test starts, cleaned up by pid and by name (also on
failure or interruption: run_e2e.py registers cleanup() at exit)."""
import hashlib
import json
import os
import re
import resource
import signal
import socket
import subprocess
import time

PY = "/usr/bin/python3"
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
    def __init__(self, binary, guest, workdir, pcap, tag, dns_args=("--dns-mode", "off"), wrapper=(), extra_args=(),
                 nofile=None):
        """`dns_args` must name loopback upstreams or turn DNS off: the default forward mode
        would send to /etc/resolv.conf's servers, off loopback. `pcap` None: no capture.
        `wrapper` prefixes the command (it must exec the daemon, so that the pid stays the
        daemon's). `nofile`: the daemon's RLIMIT_NOFILE, soft and hard (as prlimit --nofile)."""
        self.control = os.path.join(workdir, f"control-{tag}.sock")
        self.log_path = os.path.join(workdir, f"tapwire-{tag}.log")
        self.pcap = pcap
        self.binary = binary
        self.log = open(self.log_path, "w")
        args = list(wrapper) + [binary, "--tap", "tw0", "--netns", guest.path, "--allow-outbound", "127.0.0.0/8",
                                "--control", self.control, "--stats-interval", "0s"] + list(dns_args)
        if pcap is not None:
            args += ["--pcap", pcap]
        args += list(extra_args)
        limit = None if nofile is None else (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile)))
        self.proc = start(args, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=limit)

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

    def ctl(self, *words, timeout=15):
        """`tapwire ctl COMMAND [SPEC]`: (0, the answer) or (exit code, stderr)."""
        r = subprocess.run([self.binary, "ctl", "--control", self.control, *words], capture_output=True,
                           text=True, timeout=timeout)
        return r.returncode, (json.loads(r.stdout) if r.returncode == 0 else r.stderr.strip())

    def cpu_seconds(self):
        """User + system CPU time the daemon has used (/proc/PID/stat utime + stime)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

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
