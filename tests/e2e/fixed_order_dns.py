#!/usr/bin/python3
"""A tiny authoritative DNS server whose answers come in one fixed order (end-to-end test).

    fixed_order_dns.py [--address 127.0.0.1] [--port 0] [--max-seconds 600]

Serves UDP and TCP (RFC 1035 §4.2.1, §4.2.2: 2-byte length framing) on ADDRESS:PORT (port
0: a free one, the same for both) and prints "ready PORT" once both listen. The zone:

    a.test CNAME b.test;  b.test CNAME c.test;  c.test CNAME d.test
    d.test A 1.1.1.1, 2.2.2.2, 3.3.3.3          (always in this order)
    big.test A 10.0.0.1 ... 10.0.0.64           (64 records: 1,040 bytes of answers)

A question for a name in the chain follows it (RFC 1034 §4.3.2 step 3.a), so `a.test A`
answers a->b, b->c, c->d, then d's three addresses: six records in exactly that order,
which is what a forwarder must relay untouched. Other types on an existing name: the
CNAMEs only, NOERROR (NODATA, RFC 2308 §2.2). Any other name under test: NXDOMAIN. Both
negative answers carry the zone's SOA in the authority section (RFC 2308 §3). Outside
test: REFUSED. Over UDP a reply longer than the client's limit (its EDNS size, RFC 6891
§6.2.5, else 512) is cut at a record boundary with TC=1 (RFC 1035 §4.1.1); over TCP it
is whole. The wire format is written by hand (Python standard library only).

Exits on SIGTERM, on EOF of stdin when stdin is a pipe, or after --max-seconds.
"""
import argparse
import os
import selectors
import signal
import socket
import stat
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from host_servers import recv_ready  # noqa: E402

TYPE_A, TYPE_CNAME, TYPE_SOA, TYPE_OPT = 1, 5, 6, 41
CLASS_IN = 1
TTL = 60
ZONE = "test"
CNAMES = {"a.test": "b.test", "b.test": "c.test", "c.test": "d.test"}
ADDRESSES = {"d.test": ["1.1.1.1", "2.2.2.2", "3.3.3.3"],
             "big.test": [f"10.0.0.{i}" for i in range(1, 65)]}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def decode_question(msg):
    """(qname lower-case, qname bytes as sent, qtype, qclass, offset after the question)."""
    pos, labels = 12, []
    while True:
        if pos >= len(msg):
            raise ValueError("question runs past the message")
        n = msg[pos]
        if n & 0xC0:
            raise ValueError("compressed question name")
        pos += 1
        if n == 0:
            break
        labels.append(msg[pos:pos + n].decode("ascii", "replace"))
        pos += n
    if pos + 4 > len(msg):
        raise ValueError("short question")
    qtype, qclass = struct.unpack("!HH", msg[pos:pos + 4])
    raw = msg[12:pos]
    return ".".join(labels).lower(), raw, qtype, qclass, pos + 4


def edns_size(msg, offset, arcount):
    """The client's EDNS UDP payload size (RFC 6891 §6.2.3; at least 512), or None."""
    pos = offset
    for _ in range(arcount):
        if pos < len(msg) and msg[pos] == 0 and pos + 11 <= len(msg):
            rtype, size = struct.unpack("!HH", msg[pos + 1:pos + 5])
            if rtype == TYPE_OPT:
                return max(512, size)
        return None  # only a root-named OPT record is expected here
    return None


def rr(name, rtype, rdata):
    return encode_name(name) + struct.pack("!HHIH", rtype, CLASS_IN, TTL, len(rdata)) + rdata


def soa_record():
    rdata = encode_name("ns.test") + encode_name("admin.test") + struct.pack("!IIIII", 1, 3600, 600, 86400, TTL)
    return rr(ZONE, TYPE_SOA, rdata)


def answer(query, udp):
    """The reply to one query message, or None when it is not worth one."""
    if len(query) < 12:
        return None
    qid, flags, qdcount, _an, _ns, arcount = struct.unpack("!HHHHHH", query[:12])
    if flags & 0x8000:
        return None  # a response
    rd = flags & 0x0100
    try:
        if qdcount != 1:
            raise ValueError("one question expected")
        qname, raw, qtype, qclass, end = decode_question(query)
    except ValueError:
        return struct.pack("!HHHHHH", qid, 0x8000 | rd | 1, 0, 0, 0, 0)  # FORMERR
    limit = edns_size(query, end, arcount)
    question = raw + struct.pack("!HH", qtype, qclass)
    records, authority, rcode, aa = [], [], 0, 0x0400
    if qname != ZONE and not qname.endswith("." + ZONE):
        rcode, aa = 5, 0  # REFUSED: not ours
    else:
        name = qname
        for _ in range(8):  # the chain is three long; bounded all the same
            if name in CNAMES and qtype != TYPE_CNAME:
                records.append(rr(name, TYPE_CNAME, encode_name(CNAMES[name])))
                name = CNAMES[name]
                continue
            break
        final = False  # an answer of the type asked
        if name in ADDRESSES and qtype == TYPE_A:
            records += [rr(name, TYPE_A, socket.inet_aton(ip)) for ip in ADDRESSES[name]]
            final = True
        elif qtype == TYPE_CNAME and name in CNAMES:
            records.append(rr(name, TYPE_CNAME, encode_name(CNAMES[name])))
            final = True
        elif name not in CNAMES and name not in ADDRESSES and name != ZONE:
            rcode = 3  # NXDOMAIN (the last name of a chain would be, too)
        if not final:
            authority = [soa_record()]
    opt = b""
    if limit is not None:
        opt = b"\0" + struct.pack("!HHIH", TYPE_OPT, 4096, 0, 0)
    max_len = (limit or 512) if udp else 65535
    tc = 0
    while True:
        body = b"".join(records) + b"".join(authority)
        head = struct.pack("!HHHHHH", qid, 0x8000 | aa | tc | rd | rcode, 1, len(records), len(authority),
                           1 if opt else 0)
        msg = head + question + body + opt
        if len(msg) <= max_len or (not records and not authority):
            return msg
        tc = 0x0200  # cut at a record boundary: authority first, then answers from the end
        if authority:
            authority = []
        else:
            records = records[:-1]


class Server:
    def __init__(self, address, port):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for _ in range(20):  # port 0: find one free for both transports
            self.udp.bind((address, port))
            try:
                self.tcp.bind((address, self.udp.getsockname()[1]))
                break
            except OSError:
                if port:
                    raise
                self.udp.close()
                self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.port = self.udp.getsockname()[1]
        self.tcp.listen(64)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.udp, selectors.EVENT_READ, "udp")
        self.sel.register(self.tcp, selectors.EVENT_READ, "listen")
        self.conns = {}
        self.stopping = False

    def serve(self, deadline, stdin_pipe):
        if stdin_pipe:
            self.sel.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
        while not self.stopping and time.monotonic() < deadline:
            for key, _ in self.sel.select(timeout=0.5):
                if key.data == "stdin":
                    if not os.read(sys.stdin.fileno(), 4096):
                        return
                elif key.data == "udp":
                    try:
                        data, peer = self.udp.recvfrom(65535)
                    except OSError:
                        continue
                    reply = answer(data, udp=True)
                    if reply:
                        self.udp.sendto(reply, peer)
                elif key.data == "listen":
                    try:
                        conn, _ = self.tcp.accept()
                    except OSError:
                        continue
                    conn.setblocking(False)
                    self.conns[conn] = b""
                    self.sel.register(conn, selectors.EVENT_READ, "conn")
                else:
                    self.on_tcp(key.fileobj)

    def on_tcp(self, conn):
        data = recv_ready(conn, 65535)
        if data is None:
            return
        if not data:
            self.sel.unregister(conn)
            del self.conns[conn]
            conn.close()
            return
        buf = self.conns[conn] + data
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            n = struct.unpack("!H", buf[:2])[0]
            reply = answer(buf[2:2 + n], udp=False)
            buf = buf[2 + n:]
            if reply:
                conn.setblocking(True)
                conn.settimeout(2.0)
                try:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
                except OSError:
                    pass
                conn.setblocking(False)
        self.conns[conn] = buf


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=600)
    args = ap.parse_args()
    server = Server(args.address, args.port)

    def on_term(_signo, _frame):
        server.stopping = True
    signal.signal(signal.SIGTERM, on_term)
    print(f"ready {server.port}", flush=True)
    stdin_pipe = stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode)
    server.serve(time.monotonic() + args.max_seconds, stdin_pipe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
