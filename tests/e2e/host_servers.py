"""Servers the end-to-end test runs in the root namespace, on 127.0.0.1 only.

- HttpFileServer: GET serves files from a directory; PUT/POST answers "SHA256 LENGTH",
  the sha256 (hex) and byte count of the request body, so an upload can be checked byte-exact without storing it.
- LineServer: a selectors-based server for many concurrent connections (listen backlog
  4096): every line received is answered "ok\\n"; connections stay open until the client
  closes them.
- UdpEchoServer: echoes every datagram to its sender.
Each runs in a daemon thread and stops with stop(); nothing listens beyond 127.0.0.1.
"""
import hashlib
import http.server
import os
import selectors
import socket
import socketserver
import threading


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):  # quiet
        pass

    def _digest_body(self):
        length = int(self.headers.get("Content-Length", "0"))
        h = hashlib.sha256()
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            h.update(chunk)
            remaining -= len(chunk)
        body = f"{h.hexdigest()} {length - remaining}\n".encode()
        self.send_response(200 if remaining == 0 else 400)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = _digest_body
    do_POST = _digest_body


class _ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 128


class HttpFileServer:
    def __init__(self, directory):
        handler = lambda *a, **kw: _Handler(*a, directory=directory, **kw)  # noqa: E731
        self.server = _ThreadingServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class LineServer:
    def __init__(self, backlog=4096):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.answered = 0
        self.open = 0
        self._stop = False
        self._wake_r, self._wake_w = os.pipe()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, "listen")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        conns = {}
        while not self._stop:
            for key, _ in sel.select(timeout=0.5):
                if key.data == "wake":
                    continue
                if key.data == "listen":
                    while True:
                        try:
                            c, _ = self.sock.accept()
                        except (BlockingIOError, InterruptedError):
                            break
                        except OSError:
                            break  # EMFILE: the next readiness retries
                        c.setblocking(False)
                        conns[c] = b""
                        sel.register(c, selectors.EVENT_READ, "conn")
                        self.accepted += 1
                        self.open += 1
                    continue
                c = key.fileobj
                data = recv_ready(c, 4096)
                if data is None:
                    continue
                if not data:
                    sel.unregister(c)
                    c.close()
                    del conns[c]
                    self.open -= 1
                    continue
                buf = conns[c] + data
                while b"\n" in buf:
                    _, buf = buf.split(b"\n", 1)
                    try:
                        c.send(b"ok\n")
                        self.answered += 1
                    except OSError:
                        pass
                conns[c] = buf
        for c in list(conns):
            c.close()
        sel.close()

    def stop(self):
        self._stop = True
        os.write(self._wake_w, b"x")
        self.thread.join(timeout=5)
        self.sock.close()
        os.close(self._wake_r)
        os.close(self._wake_w)


class UdpEchoServer:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.echoed = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.sock.sendto(data, peer)
            self.echoed += 1

    def stop(self):
        self._stop = True
        self.thread.join(timeout=2)
        self.sock.close()


def recv_ready(sock, size):
    """recv on a non-blocking socket: the bytes, b"" at EOF or on an error, None if none yet."""
    try:
        return sock.recv(size)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""


def closed_port():
    """A TCP port on 127.0.0.1 with no listener (bound once, then released)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
