"""Port-forward checks of the end-to-end test: host -> guest through the daemon.

The guest namespace runs guest_tools.py forward-server (G: a 50 MB file; P: hash what is
sent; any other byte: read to EOF). The host side is this process, on 127.0.0.1 only.

1. A daemon with no forwards; the guest takes a DHCP lease; `tapwire ctl expose
   tcp:127.0.0.1:0:LEASE:PORT` answers the port the host chose; 50 MB are fetched from the
   guest and 50 MB uploaded to it through that port (sha256 compared both ways);
   `tapwire ctl unexpose` closes the listener (a connect is refused).
2. A second daemon with RLIMIT_NOFILE 256 (as `prlimit --nofile=256`) and the forward as a
   --forward flag on a fixed port: `diagnostics` shows the connection limit (256 less a
   reserve of 32); then a flood from the host, FLOOD_TOTAL connections, FLOOD_CONCURRENT at a
   time, each connect + 1 byte + close (those over the limit are closed at once: fine).
   Afterwards every slot returns (no flow, no host socket but the listener), the counters
   show the limit was met, the daemon is idle (CPU over a 2 s window after the flood), and
   the forward still carries a byte-exact upload.
3. The same flood against a daemon whose --max-connections is above its fd limit: accept
   itself meets EMFILE, the listener pauses and resumes as flows give sockets back
   (fwd.accept_paused), every connection is served in the end, with the same checks.
Every wait and loop is bounded in count and time.
"""
import errno
import os
import selectors
import socket
import subprocess
import time

import host_servers
from guest_netns import PY, Daemon, Guest, read_line, sha256_file, start, write_random_file
from guest_tools import hash_until_eof

HERE = os.path.dirname(os.path.abspath(__file__))
GUEST_PORT = 8080
TRANSFER_BYTES = 50 * 1000 * 1000
NOFILE = 256
FLOOD_TOTAL = 5000
FLOOD_CONCURRENT = 200
FLOOD_SECONDS = 30.0
IDLE_WINDOW_S = 2.0
IDLE_CPU_MAX_S = 0.1  # 5 % of the idle window


# ---------------------------------------------------------------------------------
# Host-side clients (127.0.0.1 only)

def _connect(port, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def fetch(port, timeout=60.0):
    """Asks the guest for its file: (sha256, length, seconds)."""
    t0 = time.monotonic()
    with _connect(port, timeout) as s:
        s.sendall(b"G")
        digest, n = hash_until_eof(s)
    return digest, n, time.monotonic() - t0


def upload(port, path, timeout=60.0):
    """Sends the file at `path` to the guest: (the guest's "SHA256 LENGTH" answer, seconds)."""
    t0 = time.monotonic()
    with _connect(port, timeout) as s, open(path, "rb") as f:
        s.sendall(b"P")
        s.sendfile(f)
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = s.recv(256)
            if not chunk:
                break
            answer += chunk
    return answer.decode(errors="replace").strip(), time.monotonic() - t0


def refused(port):
    try:
        with _connect(port, 2.0):
            return False
    except ConnectionRefusedError:
        return True


def flood(port, total=FLOOD_TOTAL, concurrent=FLOOD_CONCURRENT, deadline_s=FLOOD_SECONDS, connect_timeout=5.0):
    """`total` connections, at most `concurrent` at a time, each connect + 1 byte + close.
    Returns the outcome counts: sent, refused, reset, timeout, other (and "unstarted" when
    the deadline came first)."""
    counts = {"sent": 0, "refused": 0, "reset": 0, "timeout": 0, "other": 0}
    sel = selectors.DefaultSelector()
    started_at = {}
    to_start = total
    deadline = time.monotonic() + deadline_s

    def finish(s, outcome):
        counts[outcome] += 1
        sel.unregister(s)
        del started_at[s]
        s.close()

    while (to_start > 0 or started_at) and time.monotonic() < deadline:
        while to_start > 0 and len(started_at) < concurrent:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", port))
            to_start -= 1
            started_at[s] = time.monotonic()
            sel.register(s, selectors.EVENT_WRITE)
            if err not in (0, errno.EINPROGRESS):
                finish(s, "refused" if err == errno.ECONNREFUSED else "other")
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err == 0:
                try:
                    s.send(b"x")
                    finish(s, "sent")
                except (ConnectionResetError, BrokenPipeError):
                    finish(s, "reset")
                except OSError:
                    finish(s, "other")
            else:
                finish(s, {errno.ECONNREFUSED: "refused", errno.ECONNRESET: "reset"}.get(err, "other"))
        now = time.monotonic()
        for s in [s for s, t in started_at.items() if now - t > connect_timeout]:
            finish(s, "timeout")
    for s in list(started_at):
        finish(s, "timeout")
    counts["unstarted"] = to_start
    sel.close()
    return counts


# ---------------------------------------------------------------------------------
# The run

def _start_guest_server(guest, source):
    """guest_tools.py forward-server in the namespace: (the process, its first line)."""
    proc = start(guest.cmd([PY, os.path.join(HERE, "guest_tools.py"), "forward-server", str(GUEST_PORT), source]),
                 stdout=subprocess.PIPE, text=True)
    return proc, read_line(proc, timeout=10)


def _wait_idle(daemon, timeout=20.0):
    """Polls diagnostics until no flow is left and only listeners hold host sockets."""
    deadline = time.monotonic() + timeout
    diag = None
    while time.monotonic() < deadline:
        rc, diag = daemon.ctl("diagnostics")
        if rc == 0 and not diag["flows"] and all(s["kind"] == "tcp-listener" for s in diag["host_sockets"]):
            return diag
        time.sleep(0.2)
    return diag if isinstance(diag, dict) else None


def _counter(diag, name):
    return diag.get("counters", {}).get(name, 0)


def _expose_run(results, binary, workdir, guest, source_sha, payload, payload_sha):
    """Daemon 1: the forward added and removed through `tapwire ctl`; 50 MB each way."""
    daemon = Daemon(binary, guest, workdir, None, "fwd-expose")
    try:
        started = daemon.wait_ready() and guest.wait_for_link("tw0")
        if not results.check("forward: daemon starts", started, "" if started else daemon.log_tail()):
            return None
        r, lease = guest.dhcp("tw0")
        if not results.check("forward: guest dhcp lease", lease.startswith("192.168.65."), lease or r.stderr):
            return None
        guest_ip = lease.split()[0]
        rc, answer = daemon.ctl("expose", f"tcp:127.0.0.1:0:{guest_ip}:{GUEST_PORT}")
        port = answer["forward"]["host_port"] if rc == 0 else 0
        rc_list, listed = daemon.ctl("forwards")
        ok = rc == 0 and port != 0 and rc_list == 0 and [f["host_port"] for f in listed["forwards"]] == [port]
        if not results.check("forward: ctl expose (port 0) answers the bound port, forwards lists it", ok,
                             f"127.0.0.1:{port} -> {guest_ip}:{GUEST_PORT}" if ok else str(answer)):
            return guest_ip

        sha, n, dt = fetch(port)
        results.check("forward: fetch 50 MB from the guest through 127.0.0.1, byte-exact",
                      sha == source_sha and n == TRANSFER_BYTES,
                      f"{n * 8 / dt / 1e6:.0f} Mbit/s in {dt:.2f} s" if sha == source_sha else f"{n} bytes, sha {sha}")
        answer, dt = upload(port, payload)
        ok = answer == f"{payload_sha} {TRANSFER_BYTES}"
        results.check("forward: upload 50 MB to the guest through 127.0.0.1, byte-exact", ok,
                      f"{TRANSFER_BYTES * 8 / dt / 1e6:.0f} Mbit/s in {dt:.2f} s" if ok else answer)

        rc, answer = daemon.ctl("unexpose", f"tcp:127.0.0.1:0:{guest_ip}:{GUEST_PORT}")
        results.check("forward: ctl unexpose closes the listener", rc == 0 and refused(port), str(answer))
        rc, err = daemon.ctl("expose", f"tcp:127.0.0.1:0:192.168.66.3:{GUEST_PORT}")
        results.check("forward: ctl expose outside the subnet: exit 1, the kind named",
                      rc == 1 and "[guest_outside_subnet]" in err, err)
        return guest_ip
    finally:
        rc, took = daemon.stop()
        results.check("forward: first daemon, SIGTERM exit 0", rc == 0, f"exit {rc} in {took:.2f} s")


def _flood_run(results, binary, workdir, guest, guest_ip, probe, probe_sha, max_connections=None):
    """A daemon with RLIMIT_NOFILE 256 and the forward from --forward, flooded. Without
    `max_connections` the connection limit (fd limit less the reserve) refuses the excess;
    with one above the fd limit, accept itself meets EMFILE and the listener pauses."""
    spec = f"tcp:127.0.0.1:{host_servers.closed_port()}:{guest_ip}:{GUEST_PORT}"
    port = int(spec.split(":")[2])
    extra = ["--forward", spec] + (["--max-connections", str(max_connections)] if max_connections else [])
    name = f"forward, --max-connections {max_connections}" if max_connections else "forward"
    tag = "fwd-emfile" if max_connections else "fwd-flood"
    daemon = Daemon(binary, guest, workdir, None, tag, extra_args=extra, nofile=NOFILE)
    try:
        started = daemon.wait_ready() and guest.wait_for_link("tw0")
        if not results.check(f"{name}: --forward {spec} at start-up, RLIMIT_NOFILE {NOFILE}", started,
                             "" if started else daemon.log_tail()):
            return
        r, lease = guest.dhcp("tw0")
        if not results.check(f"{name}: the guest gets the same lease again", lease.split()[:1] == [guest_ip],
                             lease or r.stderr):
            return
        rc, diag = daemon.ctl("diagnostics")
        limit = diag["connection_limit"] if rc == 0 else {}
        expected = max_connections or NOFILE - 32
        results.check(f"{name}: connection limit {expected}" +
                      ("" if max_connections else " = fd limit less the reserve"),
                      limit.get("fd_limit") == NOFILE and limit.get("reserve") == 32 and
                      limit.get("limit") == expected, str(limit))
        answer, _ = upload(port, probe)
        results.check(f"{name}: serves before the flood", answer == f"{probe_sha} {os.path.getsize(probe)}",
                      answer)

        cpu0 = daemon.cpu_seconds()
        t0 = time.monotonic()
        counts = flood(port)
        flood_s = time.monotonic() - t0
        done = sum(v for k, v in counts.items() if k != "unstarted")
        results.check(f"{name}: flood of {FLOOD_TOTAL} connections, {FLOOD_CONCURRENT} at a time, within "
                      f"{FLOOD_SECONDS:.0f} s", done == FLOOD_TOTAL and counts["unstarted"] == 0,
                      f"{flood_s:.1f} s, {counts}")
        diag = _wait_idle(daemon)
        drained_s = time.monotonic() - t0
        cpu_flood = daemon.cpu_seconds() - cpu0
        ok = diag is not None and not diag["flows"] and diag["connection_limit"]["in_use"] == 0 and \
            len(diag["host_sockets"]) == len(diag["forwards"]) == 1 and not diag["leaks"]
        results.check(f"{name}: every slot returns (no flow, host sockets = the listener)", ok,
                      f"idle {drained_s:.1f} s after the flood began; daemon CPU {cpu_flood:.2f} s" if ok else
                      str({k: diag[k] for k in ("flows", "host_sockets", "leaks", "connection_limit")}
                          if diag else "no diagnostics"))
        if diag is not None:
            fwd = diag["forwards"][0] if diag["forwards"] else {}
            over = _counter(diag, "drop.fwd_connection_limit")
            paused = _counter(diag, "fwd.accept_paused")
            backoffs = diag.get("host", {}).get("accept_backoffs", 0)
            met = paused + backoffs > 0 if max_connections else over > 0
            results.check(f"{name}: the flood met the " +
                          ("fd limit (accept paused)" if max_connections else "connection limit (closed over it)"),
                          met, f"accepted {fwd.get('accepted')}, closed over the limit {over}, accept paused "
                          f"{paused}, host accept backoffs {backoffs}, "
                          f"limit warnings {diag['connection_limit']['warnings']}")
        cpu_a = daemon.cpu_seconds()
        time.sleep(IDLE_WINDOW_S)
        idle_cpu = daemon.cpu_seconds() - cpu_a
        results.check(f"{name}: no spinning after the flood (CPU over {IDLE_WINDOW_S:.0f} s idle)",
                      idle_cpu <= IDLE_CPU_MAX_S, f"{idle_cpu:.2f} s")
        answer, _ = upload(port, probe)
        results.check(f"{name}: still serves after the flood", answer == f"{probe_sha} {os.path.getsize(probe)}",
                      answer)
    finally:
        rc, took = daemon.stop()
        results.check(f"{name}: SIGTERM exit 0", rc == 0, f"exit {rc} in {took:.2f} s")


def forward_run(results, binary, workdir):
    guest = Guest("f", workdir)
    source = os.path.join(workdir, "guest-source.bin")
    write_random_file(source, TRANSFER_BYTES)
    payload = os.path.join(workdir, "host-payload.bin")
    write_random_file(payload, TRANSFER_BYTES)
    probe = os.path.join(workdir, "probe.bin")
    write_random_file(probe, 1000 * 1000)
    server, line = _start_guest_server(guest, source)
    try:
        if not results.check("forward: guest server listening in the namespace", line == "listening", line):
            return
        guest_ip = _expose_run(results, binary, workdir, guest, sha256_file(source), payload,
                               sha256_file(payload))
        if guest_ip is not None:
            probe_sha = sha256_file(probe)
            _flood_run(results, binary, workdir, guest, guest_ip, probe, probe_sha)
            _flood_run(results, binary, workdir, guest, guest_ip, probe, probe_sha, max_connections=100000)
    finally:
        server.kill()  # by pid, via the Popen object
        server.wait(timeout=5)
        guest.delete()
        for path in (source, payload, probe):
            os.unlink(path)
