// tapwire.Guest (the simulated VM) and its views: Lease, Ping, Connection, Listener,
// Datagram.
#include <optional>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "pybind/bindings.h"
#include "sim/guest/guest_vm.h"

namespace tapwire::pybind {

namespace {

struct LeaseView {
  SessionPtr session;
};
struct PingView {
  SessionPtr session;
  std::uint32_t id = 0;
};
struct ConnectionView {
  SessionPtr session;
  std::uint32_t id = 0;
};
struct ListenerView {
  SessionPtr session;
  std::uint32_t id = 0;
  std::uint16_t port = 0;
};
struct Datagram {
  std::string src;
  std::uint16_t src_port = 0;
  std::string dst;
  std::uint16_t dst_port = 0;
  py::bytes data;
  double at = 0;
};

sim::GuestConnection& conn(const ConnectionView& v) { return *v.session->guest().connection(v.id); }

std::string endpoint_text(const tcp::Endpoint& e) { return e.ip.to_string() + ":" + std::to_string(e.port); }

std::optional<std::string> ip_text(const std::optional<wire::Ipv4Addr>& a) {
  if (!a) return std::nullopt;
  return a->to_string();
}

std::uint16_t port_arg(std::int64_t port, const char* what) {
  if (port < 0 || port > 65535) raise_value_error(std::string(what) + ": expected a port 0..65535, got " + std::to_string(port));
  return static_cast<std::uint16_t>(port);
}

void need_address(const GuestView& g, const char* what) {
  if (!g.session->guest().ip())
    raise_runtime_error(std::string(what) +
                        ": the guest has no address yet (pass vm={'ip': '192.168.65.9'} or call "
                        "sim.guest.dhcp() and run until lease.done)");
}


Bytes view_of(const std::string& s) { return Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }

}  // namespace

void bind_guest(py::module_& m) {
  py::class_<LeaseView>(m, "Lease", "The VM's DHCP lease (live): filled in when DHCP completes.")
      .def_property_readonly(
          "done", [](const LeaseView& l) { return l.session->guest().lease().done; }, "True once bound.")
      .def_property_readonly(
          "ip", [](const LeaseView& l) { return ip_text(l.session->guest().lease().ip); },
          "The leased address (str), None until bound.")
      .def_property_readonly(
          "gateway", [](const LeaseView& l) { return ip_text(l.session->guest().lease().gateway); },
          "Option 3, the router (str or None).")
      .def_property_readonly(
          "subnet",
          [](const LeaseView& l) -> std::optional<std::string> {
            const auto& s = l.session->guest().lease().subnet;
            if (!s) return std::nullopt;
            return s->to_string();
          },
          "The subnet as 'a.b.c.d/n' (or None).")
      .def_property_readonly(
          "dns",
          [](const LeaseView& l) {
            std::vector<std::string> out;
            for (const auto& a : l.session->guest().lease().dns) out.push_back(a.to_string());
            return out;
          },
          "Option 6, the DNS servers (list of str).")
      .def_property_readonly(
          "mtu",
          [](const LeaseView& l) -> std::optional<int> {
            const auto& mtu = l.session->guest().lease().mtu;
            if (!mtu) return std::nullopt;
            return *mtu;
          },
          "Option 26 as offered (int or None); vm={'dhcp_mtu': 'adopt'} makes the VM use it.")
      .def_property_readonly(
          "domain", [](const LeaseView& l) { return l.session->guest().lease().domain; },
          "Option 15 (str or None).")
      .def_property_readonly(
          "lease_time", [](const LeaseView& l) { return l.session->guest().lease().lease_seconds; },
          "Option 51, seconds.")
      .def("__repr__", [](const LeaseView& l) {
        const auto& lease = l.session->guest().lease();
        return std::string("<tapwire.Lease ") + (lease.done ? "ip=" + lease.ip->to_string() : "pending") + ">";
      });

  py::class_<PingView>(m, "Ping", "One ICMP echo from the VM (live).")
      .def_property_readonly(
          "done", [](const PingView& p) { return p.session->guest().ping_result(p.id).done; },
          "True once a reply arrived or the timeout passed.")
      .def_property_readonly(
          "ok", [](const PingView& p) { return p.session->guest().ping_result(p.id).ok; },
          "True when a matching echo reply arrived in time.")
      .def_property_readonly(
          "rtt",
          [](const PingView& p) -> std::optional<double> {
            const auto& r = p.session->guest().ping_result(p.id);
            if (!r.ok) return std::nullopt;
            return to_seconds(r.rtt);
          },
          "Round-trip time in virtual seconds (None unless ok).")
      .def_property_readonly(
          "dst", [](const PingView& p) { return p.session->guest().ping_result(p.id).dst.to_string(); },
          "The address pinged.")
      .def("__repr__", [](const PingView& p) {
        const auto& r = p.session->guest().ping_result(p.id);
        return "<tapwire.Ping " + r.dst.to_string() + (r.done ? (r.ok ? " ok>" : " failed>") : " pending>");
      });

  py::class_<ConnectionView>(m, "Connection", R"doc(
A TCP connection of the VM's applications (live). The application side is a byte
queue: send() queues everything, the connection pushes it into TCP as the window
allows; arriving bytes are drained from TCP at once (so flow control never depends on
how often you call recv()) and kept until recv() returns them.
)doc")
      .def_property_readonly(
          "id", [](const ConnectionView& c) { return c.id; }, "The VM's connection id.")
      .def_property_readonly(
          "state", [](const ConnectionView& c) { return std::string(conn(c).state()); },
          "RFC 9293 state name: 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'CLOSE-WAIT', "
          "'TIME-WAIT', ...; 'CLOSED' once the stack forgot the connection.")
      .def_property_readonly(
          "established", [](const ConnectionView& c) { return conn(c).established(); },
          "True once the handshake completed (stays True).")
      .def_property_readonly(
          "eof", [](const ConnectionView& c) { return conn(c).eof(); }, "True once the peer's FIN was read.")
      .def_property_readonly(
          "done", [](const ConnectionView& c) { return conn(c).finished(); },
          "True when the connection is over and released (TIME-WAIT records aside).")
      .def_property_readonly(
          "close_reason", [](const ConnectionView& c) { return std::string(tcp::to_string(conn(c).close_reason())); },
          "Why it closed: 'none' (still open), 'normal', 'reset', 'refused', 'timeout', ...")
      .def_property_readonly(
          "local", [](const ConnectionView& c) { return endpoint_text(conn(c).endpoints().local); },
          "The VM's end, 'ip:port'.")
      .def_property_readonly(
          "remote", [](const ConnectionView& c) { return endpoint_text(conn(c).endpoints().remote); },
          "The peer, 'ip:port'.")
      .def_property_readonly(
          "bytes_sent", [](const ConnectionView& c) { return conn(c).bytes_sent(); }, "Bytes TCP took from the queue.")
      .def_property_readonly(
          "bytes_received", [](const ConnectionView& c) { return conn(c).bytes_received(); },
          "Bytes received in total.")
      .def_property_readonly(
          "bytes_pending", [](const ConnectionView& c) { return conn(c).bytes_pending(); },
          "Bytes queued by send() not yet taken by TCP.")
      .def(
          "tcp_stats",
          [](const ConnectionView& c) -> py::object {
            auto st = conn(c).tcp_stats();
            if (!st) return py::none();
            py::dict d;
            d["segments_in"] = st->segments_in;
            d["segments_out"] = st->segments_out;
            d["bytes_in"] = st->bytes_in;
            d["bytes_out"] = st->bytes_out;
            d["bytes_acked"] = st->bytes_acked;
            d["retransmits"] = st->retransmits;
            d["fast_retransmits"] = st->fast_retransmits;
            d["rto_count"] = st->rto_count;
            d["dup_acks"] = st->dup_acks;
            d["limited_transmits"] = st->limited_transmits;
            d["early_retransmits"] = st->early_retransmits;
            d["out_of_order"] = st->out_of_order;
            d["cwnd"] = st->cwnd;
            d["ssthresh"] = st->ssthresh;
            d["send_mss"] = st->send_mss;
            d["peer_mss"] = st->peer_mss;
            d["snd_wnd"] = st->snd_wnd;
            d["rcv_wnd"] = st->rcv_wnd;
            d["srtt"] = to_seconds(st->srtt);
            d["rto"] = to_seconds(st->rto);
            d["sack"] = st->sack_enabled;
            d["timestamps"] = st->timestamps_enabled;
            return py::object(std::move(d));
          },
          "The VM-side TCP connection's counters and congestion state (dict: retransmits, "
          "rto_count, cwnd, srtt and rto in seconds, send_mss, ...), None once the stack forgot it.")
      .def(
          "send",
          [](const ConnectionView& c, const py::object& data) {
            const std::string bytes = bytes_of(data);
            conn(c).send(view_of(bytes));
          },
          py::arg("data"), "Queues all of `data` (bytes); it goes out as the simulation runs.")
      .def(
          "send_pattern", [](const ConnectionView& c, std::uint64_t n) { conn(c).send_pattern(n); }, py::arg("n"),
          "Queues the next n bytes of the test pattern (byte i = i % 251), without building them in Python.")
      .def(
          "recv",
          [](const ConnectionView& c) {
            auto bytes = conn(c).recv();
            return to_bytes(bytes.data(), bytes.size());
          },
          "Returns and removes the bytes that arrived since the last call (b'' if none).")
      .def(
          "shutdown", [](const ConnectionView& c) { conn(c).shutdown(); },
          "Half-close: FIN after the queued bytes; receiving continues.")
      .def(
          "close", [](const ConnectionView& c) { conn(c).close(); },
          "FIN after the queued bytes, then release the connection.")
      .def(
          "reset", [](const ConnectionView& c) { conn(c).reset(); }, "RST now; queued bytes are dropped.")
      .def("__repr__", [](const ConnectionView& c) {
        const auto& k = conn(c);
        return "<tapwire.Connection " + endpoint_text(k.endpoints().local) + " -> " +
               endpoint_text(k.endpoints().remote) + " " + std::string(k.state()) + ">";
      });

  py::class_<ListenerView>(m, "Listener", "A TCP listener of the VM (sim.guest.tcp_listen).")
      .def_property_readonly(
          "port", [](const ListenerView& l) { return l.port; }, "The listening port.")
      .def_property_readonly(
          "accepted",
          [](const ListenerView& l) {
            std::vector<ConnectionView> out;
            for (std::uint32_t id : l.session->guest().accepted(l.id)) out.push_back(ConnectionView{l.session, id});
            return out;
          },
          "The connections accepted so far (list of tapwire.Connection), in accept order.")
      .def(
          "close", [](const ListenerView& l) { (void)l.session->guest().tcp_unlisten(l.id); },
          "Stops listening (accepted connections go on).");

  py::class_<Datagram>(m, "Datagram", "A UDP datagram the VM received.")
      .def_readonly("src", &Datagram::src, "Source address.")
      .def_readonly("src_port", &Datagram::src_port, "Source port.")
      .def_readonly("dst", &Datagram::dst, "Destination address.")
      .def_readonly("dst_port", &Datagram::dst_port, "Destination port.")
      .def_readonly("data", &Datagram::data, "The payload (bytes).")
      .def_readonly("at", &Datagram::at, "Arrival time, virtual seconds.")
      .def("__repr__", [](const Datagram& d) {
        return "<tapwire.Datagram " + d.src + ":" + std::to_string(d.src_port) + " -> " + d.dst + ":" +
               std::to_string(d.dst_port) + " " + std::to_string(py::len(d.data)) + " bytes>";
      });

  py::class_<GuestView>(m, "Guest", R"doc(
The simulated VM (sim.guest): our own TCP/IP stack with applications. Addresses are
dotted-quad strings; the proxy's gateway is 192.168.65.1 and its host alias
192.168.65.2 (connections to it reach 127.0.0.1 on the host) by default.
)doc")
      .def_property_readonly(
          "ip", [](const GuestView& g) { return ip_text(g.session->guest().ip()); },
          "The VM's address (str), None until configured.")
      .def_property_readonly(
          "mac", [](const GuestView& g) { return g.session->guest().mac().to_string(); }, "The VM's MAC.")
      .def_property_readonly(
          "mtu", [](const GuestView& g) { return g.session->guest().mtu(); }, "The VM interface's IP MTU.")
      .def(
          "dhcp",
          [](const GuestView& g) {
            g.session->guest().start_dhcp();
            return LeaseView{g.session};
          },
          "Starts the DHCP client and returns the lease (live): run until lease.done.")
      .def_property_readonly(
          "lease", [](const GuestView& g) { return LeaseView{g.session}; }, "The DHCP lease (live).")
      .def(
          "ping",
          [](const GuestView& g, const std::string& ip, std::uint32_t size, double timeout) {
            need_address(g, "ping");
            auto id = g.session->guest().ping(parse_ip(ip, "ip"), size, duration_from_seconds(timeout, "timeout"));
            return PingView{g.session, id};
          },
          py::arg("ip"), py::arg("size") = 56, py::arg("timeout") = 2.0,
          "Sends one ICMP echo request (size payload bytes) and returns its result (live): done, ok, rtt.")
      .def(
          "tcp_connect",
          [](const GuestView& g, const std::string& ip, std::int64_t port, std::int64_t src_port) {
            need_address(g, "tcp_connect");
            auto r = g.session->guest().tcp_connect(parse_ip(ip, "ip"), port_arg(port, "port"), {},
                                                    port_arg(src_port, "src_port"));
            if (!r.ok()) raise_runtime_error(std::string("tcp_connect: ") + r.error().reason);
            return ConnectionView{g.session, r.value()->id()};
          },
          py::arg("ip"), py::arg("port"), py::arg("src_port") = 0,
          "Opens a TCP connection from the VM (src_port 0: ephemeral); returns a tapwire.Connection "
          "(state 'SYN-SENT' until the proxy answers).")
      .def(
          "tcp_listen",
          [](const GuestView& g, std::int64_t port, const std::string& behaviour, std::uint64_t bytes) {
            sim::GuestServerMode mode;
            if (behaviour == "echo") mode = sim::GuestServerMode::echo;
            else if (behaviour == "sink") mode = sim::GuestServerMode::sink;
            else if (behaviour == "record") mode = sim::GuestServerMode::record;
            else if (behaviour == "source") mode = sim::GuestServerMode::source;
            else if (behaviour == "accept_then_close") mode = sim::GuestServerMode::accept_then_close;
            else
              raise_value_error("behaviour: expected one of echo, sink, record, source, accept_then_close, got '" +
                                behaviour + "'");
            const std::uint16_t p = port_arg(port, "port");
            auto r = g.session->guest().tcp_listen(p, mode, bytes);
            if (!r.ok()) raise_runtime_error(std::string("tcp_listen: ") + r.error().reason);
            return ListenerView{g.session, r.value(), p};
          },
          py::arg("port"), py::arg("behaviour") = "echo", py::arg("bytes") = 0,
          "Listens on a VM port; accepted connections run `behaviour` (echo, sink, record, source "
          "with `bytes` pattern bytes, accept_then_close). Returns a tapwire.Listener.")
      .def(
          "udp_send",
          [](const GuestView& g, const std::string& ip, std::int64_t port, const py::object& data,
             std::optional<std::int64_t> src_port, bool df) {
            need_address(g, "udp_send");
            SimSession& s = *g.session;
            std::uint16_t sport = 0;
            if (!src_port) {
              Result<std::uint16_t> ephemeral = s.guest().udp_bind_ephemeral();
              if (!ephemeral.ok()) raise_runtime_error(std::string("udp_send: ") + ephemeral.error().reason);
              sport = *ephemeral;
              s.note_udp_bound(sport);
            } else {
              sport = port_arg(*src_port, "src_port");
              if (sport == 0) raise_value_error("src_port: must not be 0");
              if (!s.udp_bound(sport)) {
                Status bound = s.guest().udp_bind(sport);
                if (!bound.ok()) raise_runtime_error(std::string("udp_send: ") + bound.error().reason);
                s.note_udp_bound(sport);
              }
            }
            const std::string bytes = bytes_of(data);
            auto r = s.guest().udp_send(sport, parse_ip(ip, "ip"), port_arg(port, "port"), view_of(bytes), df);
            if (!net::taken(r))
              raise_runtime_error("udp_send: the VM could not send the datagram (" + std::string(net::to_string(r)) + ")");
            return sport;
          },
          py::arg("ip"), py::arg("port"), py::arg("data"), py::arg("src_port") = py::none(), py::arg("df") = false,
          "Sends one UDP datagram from the VM and returns its source port (bound, so replies can be "
          "read with udp_recv(port)). src_port None: the next free port from 40000. Datagrams above "
          "the MTU are fragmented unless df=True.")
      .def(
          "udp_bind",
          [](const GuestView& g, std::int64_t port) {
            SimSession& s = *g.session;
            const std::uint16_t p = port_arg(port, "port");
            if (s.udp_bound(p)) return;
            Status bound = s.guest().udp_bind(p);
            if (!bound.ok()) raise_runtime_error(std::string("udp_bind: ") + bound.error().reason);
            s.note_udp_bound(p);
          },
          py::arg("port"), "Binds a VM UDP port so datagrams to it are kept for udp_recv.")
      .def(
          "udp_recv",
          [](const GuestView& g, std::int64_t port) {
            std::vector<Datagram> out;
            while (auto d = g.session->guest().udp_recv(port_arg(port, "port"))) {
              out.push_back(Datagram{d->src.to_string(), d->src_port, d->dst.to_string(), d->dst_port,
                                     to_bytes(d->data.data(), d->data.size()), to_seconds(d->at)});
            }
            return out;
          },
          py::arg("port"),
          "Returns and removes the datagrams that arrived on a bound VM port since the last call "
          "(a list of tapwire.Datagram; [] if none).")
      .def(
          "inject",
          [](const GuestView& g, const py::object& frame) {
            const std::string bytes = bytes_of(frame);
            g.session->guest().inject(view_of(bytes));
          },
          py::arg("frame"),
          "Sends exactly these bytes (a raw Ethernet frame, e.g. bytes(scapy_packet) or a "
          "tapwire.wire builder's result) from the VM to the proxy.")
      .def(
          "connections",
          [](const GuestView& g) {
            std::vector<ConnectionView> out;
            const auto total = g.session->guest().connection_total();
            for (std::uint32_t id = 0; id < total; ++id) out.push_back(ConnectionView{g.session, id});
            return out;
          },
          "Every connection the VM made or accepted, in creation order (tapwire.Connection views).")
      .def(
          "counters",
          [](const GuestView& g) {
            const sim::GuestCounters& c = g.session->guest().counters();
            py::dict d;
            d["frames_in"] = c.frames_in;
            d["frames_injected"] = c.frames_injected;
            d["icmp_errors_in"] = c.icmp_errors_in;
            d["pings_sent"] = c.pings_sent;
            d["pings_ok"] = c.pings_ok;
            d["udp_sent"] = c.udp_sent;
            d["udp_received"] = c.udp_received;
            d["tcp_segments_in"] = c.tcp_segments_in;
            d["tcp_bad_segments"] = c.tcp_bad_segments;
            d["tcp_segments_out"] = c.tcp_segments_out;
            d["tcp_segments_too_big"] = c.tcp_segments_too_big;
            d["link_full"] = c.link_full;
            return d;
          },
          "The VM's counters (frames_in, tcp_segments_in, udp_received, ...).");
}

}  // namespace tapwire::pybind
