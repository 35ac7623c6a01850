#!/usr/bin/python3
"""Clients the end-to-end test runs inside the guest's network namespace.

  guest_tools.py refused HOST PORT          connect to a closed port; exit 0 if refused within 1 s
  guest_tools.py udp-echo HOST PORT         one datagram there and back; exit 0 if echoed intact
  guest_tools.py flood HOST PORT COUNT      open COUNT connections at once, each sends one line and
                                            reads the answer; prints "open N", waits for "close" on
                                            stdin, closes them all, prints "closed"
  guest_tools.py forward-server PORT FILE   serve on 0.0.0.0:PORT what the host reaches through a port
                                            forward; a client's first byte says what it wants:
                                            G: FILE's bytes, then close; P: everything it sends is
                                            hashed, answered "SHA256 LENGTH\n"; any other byte: read
                                            to EOF, close. Prints "listening"; ends after 10 minutes

Every loop is bounded in count and time; nothing here talks to anything but HOST.
"""
import errno
import hashlib
import os
import resource
import selectors
import socket
import socketserver
import sys
import threading
import time


def refused(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3.0)
    start = time.monotonic()
    try:
        s.connect((host, port))
    except ConnectionRefusedError:
        elapsed = time.monotonic() - start
        print(f"refused after {elapsed * 1000:.1f} ms")
        return 0 if elapsed < 1.0 else 1
    except OSError as e:
        print(f"unexpected error {e!r} after {(time.monotonic() - start) * 1000:.1f} ms")
        return 1
    finally:
        s.close()
    print("connected to a port that should be closed")
    return 1


def udp_echo(host, port):
    payload = os.urandom(512)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    try:
        for attempt in range(3):  # UDP may lose the first datagram while ARP resolves
            s.sendto(payload, (host, port))
            try:
                data, peer = s.recvfrom(2048)
            except socket.timeout:
                continue
            if data == payload and peer == (host, port):
                print(f"echoed {len(data)} bytes from {peer[0]}:{peer[1]} (attempt {attempt + 1})")
                return 0
            print(f"wrong echo: {len(data)} bytes from {peer}")
            return 1
    finally:
        s.close()
    print("no echo")
    return 1


def flood(host, port, count, deadline_s=90.0):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, count + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    deadline = time.monotonic() + deadline_s
    sel = selectors.DefaultSelector()
    pending = {}  # socket -> state: "connecting", "sent", "done"
    answered = 0
    max_in_flight = 256  # connects in flight at once; the rest start as these finish
    to_start = count
    socks = []

    def start_some():
        nonlocal to_start
        in_flight = sum(1 for st in pending.values() if st != "done")
        while to_start > 0 and in_flight < max_in_flight:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex((host, port))
            if err not in (0, errno.EINPROGRESS):
                raise OSError(err, os.strerror(err))
            pending[s] = "connecting"
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE)
            to_start -= 1
            in_flight += 1

    start_some()
    while answered < count:
        if time.monotonic() > deadline:
            print(f"timeout: {answered} of {count} answered", flush=True)
            return 1
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            state = pending[s]
            if state == "connecting":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err != 0:
                    print(f"connect failed: {os.strerror(err)}", flush=True)
                    return 1
                s.send(b"hello\n")
                pending[s] = "sent"
                sel.modify(s, selectors.EVENT_READ)
            elif state == "sent":
                data = s.recv(64)
                if data != b"ok\n":
                    print(f"bad answer {data!r}", flush=True)
                    return 1
                pending[s] = "done"
                sel.unregister(s)
                answered += 1
        start_some()
    print(f"open {answered}", flush=True)
    line = sys.stdin.readline()  # the test inspects the daemon, then says "close"
    if line.strip() != "close":
        print(f"unexpected command {line!r}", flush=True)
    for s in socks:
        s.close()
    print("closed", flush=True)
    return 0


def hash_until_eof(sock):
    """Reads a socket to EOF: (sha256 hex digest, byte count) of what came."""
    h = hashlib.sha256()
    n = 0
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            return h.hexdigest(), n
        h.update(chunk)
        n += len(chunk)


class _ForwardHandler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        s.settimeout(60.0)
        try:
            first = s.recv(1)
            if first == b"G":
                with open(self.server.source_path, "rb") as f:
                    s.sendfile(f)
            elif first == b"P":
                digest, n = hash_until_eof(s)
                s.sendall(f"{digest} {n}\n".encode())
            else:
                while s.recv(4096):
                    pass
        except OSError:
            pass  # a client reset (a flood over the daemon's limit): nothing to serve


class _ForwardServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def forward_server(port, source_path, lifetime_s=600.0):
    with _ForwardServer(("0.0.0.0", port), _ForwardHandler) as server:
        server.source_path = source_path
        timer = threading.Timer(lifetime_s, server.shutdown)
        timer.daemon = True
        timer.start()
        print("listening", flush=True)
        server.serve_forever(poll_interval=0.2)
    return 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "refused":
        return refused(argv[1], int(argv[2]))
    if len(argv) >= 3 and argv[0] == "udp-echo":
        return udp_echo(argv[1], int(argv[2]))
    if len(argv) >= 4 and argv[0] == "flood":
        return flood(argv[1], int(argv[2]), int(argv[3]))
    if len(argv) >= 3 and argv[0] == "forward-server":
        return forward_server(int(argv[1]), argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
