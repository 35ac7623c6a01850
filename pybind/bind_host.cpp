// tapwire.Host (the simulated host network) and HostConnection (a host-side client).

#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "pybind/bindings.h"
#include "sim/host/sim_host_net.h"

namespace tapwire::pybind {

namespace {

// A host-side client. `read` is how much of received() recv() has returned already.
struct HostConnectionView {
  SessionPtr session;
  std::uint64_t id = 0;
  std::shared_ptr<std::size_t> read = std::make_shared<std::size_t>(0);
};

sim::SimHostClient& client(const HostConnectionView& v) { return *v.session->host().client(v.id); }

sim::HostValue host_value(const std::string& key, const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) return std::int64_t{v.cast<bool>() ? 1 : 0};
  if (py::isinstance<py::int_>(v)) return v.cast<std::int64_t>();
  if (py::isinstance<py::float_>(v)) return v.cast<double>();
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  raise_value_error(key + ": expected a number or a string, got " + py::repr(v).cast<std::string>());
}

sim::ServerProto proto_arg(const std::string& proto) {
  if (proto == "tcp") return sim::ServerProto::tcp;
  if (proto == "udp") return sim::ServerProto::udp;
  raise_value_error("proto: expected 'tcp' or 'udp', got '" + proto + "'");
}


}  // namespace

host::Endpoint endpoint_arg(const std::string& text, const char* what) {
  const auto colon = text.rfind(':');
  if (colon != std::string::npos) {
    auto ip = wire::Ipv4Addr::parse(text.substr(0, colon));
    const std::string port = text.substr(colon + 1);
    if (ip && !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos &&
        std::stoul(port) <= 65535)
      return host::Endpoint{*ip, static_cast<std::uint16_t>(std::stoul(port))};
  }
  raise_value_error(std::string(what) + ": expected 'ip:port' like '127.0.0.1:7', got '" + text + "'");
}

void bind_host(py::module_& m) {
  py::class_<HostConnectionView>(m, "HostConnection", R"doc(
A client on the host side (another process on the host, or a remote machine) connected
with sim.host.connect(ip, port): to a proxy port forward, or to a simulated server. Same
methods as tapwire.Connection; its `state` is the simulated host socket's:
'connecting', 'established', 'refused', 'eof' (the peer shut down its side), 'shut_wr',
'closing', 'closed', 'reset'.
)doc")
      .def_property_readonly(
          "state", [](const HostConnectionView& c) { return client(c).state(); }, "See the class docstring.")
      .def_property_readonly(
          "established", [](const HostConnectionView& c) { return client(c).connected(); },
          "True once connected (stays True).")
      .def_property_readonly(
          "refused", [](const HostConnectionView& c) { return client(c).refused(); }, "True if refused.")
      .def_property_readonly(
          "was_reset", [](const HostConnectionView& c) { return client(c).was_reset(); }, "True after a RST.")
      .def_property_readonly(
          "eof", [](const HostConnectionView& c) { return client(c).peer_eof(); }, "True once the peer shut down.")
      .def_property_readonly(
          "local", [](const HostConnectionView& c) { return client(c).local().to_string(); }, "'ip:port'.")
      .def_property_readonly(
          "remote", [](const HostConnectionView& c) { return client(c).remote().to_string(); }, "'ip:port'.")
      .def_property_readonly(
          "bytes_sent", [](const HostConnectionView& c) { return client(c).sent().size(); },
          "Bytes written to the socket.")
      .def_property_readonly(
          "bytes_received", [](const HostConnectionView& c) { return client(c).received().size(); },
          "Bytes received in total.")
      .def(
          "send",
          [](const HostConnectionView& c, const py::object& data) {
            const std::string b = bytes_of(data);
            client(c).send(Bytes(reinterpret_cast<const std::uint8_t*>(b.data()), b.size()));
          },
          py::arg("data"), "Queues all of `data`.")
      .def(
          "send_pattern", [](const HostConnectionView& c, std::uint64_t n) { client(c).send_pattern(n); },
          py::arg("n"), "Queues the next n bytes of the test pattern (byte i = i % 251).")
      .def(
          "recv",
          [](const HostConnectionView& c) {
            const auto& all = client(c).received();
            const std::size_t from = std::min(*c.read, all.size());
            *c.read = all.size();
            return to_bytes(all.data() + from, all.size() - from);
          },
          "Returns the bytes that arrived since the last call (b'' if none).")
      .def(
          "shutdown", [](const HostConnectionView& c) { client(c).shutdown_write(); },
          "Half-close after everything queued was written.")
      .def(
          "close", [](const HostConnectionView& c) { client(c).close(); },
          "Graceful close after everything queued was written.")
      .def(
          "reset", [](const HostConnectionView& c) { client(c).reset(); }, "RST now.")
      .def("__repr__", [](const HostConnectionView& c) {
        return "<tapwire.HostConnection " + client(c).local().to_string() + " -> " + client(c).remote().to_string() +
               " " + client(c).state() + ">";
      });

  py::class_<HostView>(m, "Host", R"doc(
The simulated host network behind the proxy (sim.host): the proxy's host sockets with
an fd limit, and remote servers with behaviours.
)doc")
      .def(
          "add_server",
          [](const HostView& h, const std::string& address, const std::string& behaviour, const py::kwargs& params) {
            sim::HostParams p;
            const host::Endpoint at = endpoint_arg(address, "address");
            p["ip"] = at.addr.to_string();
            p["port"] = std::int64_t{at.port};
            for (auto item : params) {
              std::string key = py::str(item.first);
              if (key == "read_rate") key = "rate";  // the scenario file's name for it
              if (key == "latency" && (py::isinstance<py::float_>(item.second) || py::isinstance<py::int_>(item.second)) &&
                  !py::isinstance<py::bool_>(item.second)) {
                p[key] = std::to_string(duration_from_seconds(item.second.cast<double>(), "latency").ns()) + "ns";
                continue;
              }
              p[key] = host_value(key, item.second);
            }
            if (auto err = h.session->host().add_server(behaviour, p)) raise_value_error("add_server: " + *err);
          },
          py::arg("address"), py::arg("behaviour") = "echo", R"doc(
Adds (or replaces) a server at "ip:port" (port 0: every TCP port of ip without its own
server). Behaviours: echo, sink, source (bytes=N), refuse, blackhole, reset_after
(bytes=N), slow_reader (rate=bytes/s), accept_then_close, http (bytes=body size).
Parameters: proto ("tcp"/"udp"; UDP has echo, sink, respond (bytes=N), refuse and
blackhole), bytes, rate (or read_rate), status (http status code, default 200),
latency (one-way; seconds or "5ms": the SYN reaches the server after it, the proxy
learns the answer after twice it), rcvbuf, sndbuf, ping (0/1).
    sim.host.add_server("127.0.0.1:7", "echo", latency="50ms")
)doc")
      .def(
          "remove_server",
          [](const HostView& h, const std::string& address, const std::string& proto) {
            return h.session->host().remove_server(endpoint_arg(address, "address"), proto_arg(proto));
          },
          py::arg("address"), py::arg("proto") = "tcp",
          "Removes a server (later connects are refused; live connections go on). False if none.")
      .def(
          "server",
          [](const HostView& h, const std::string& address, const std::string& proto) -> py::object {
            const sim::ServerStats* s = h.session->host().server_stats(endpoint_arg(address, "address"), proto_arg(proto));
            if (s == nullptr) return py::none();
            py::dict d;
            d["connections"] = s->connections;
            d["active"] = s->active;
            d["bytes_received"] = s->bytes_received;
            d["bytes_sent"] = s->bytes_sent;
            d["resets_sent"] = s->resets_sent;
            d["datagrams_received"] = s->datagrams_received;
            d["datagrams_sent"] = s->datagrams_sent;
            py::list conns;
            for (const sim::ServerConnRecord& r : s->conns) {
              py::dict c;
              c["peer"] = r.peer.to_string();
              c["received"] = to_bytes(r.received.data(), r.received.size());
              c["received_total"] = r.received_total;
              c["sent_total"] = r.sent_total;
              c["peer_eof"] = r.peer_eof;
              c["peer_reset"] = r.peer_reset;
              c["closed"] = r.closed;
              conns.append(c);
            }
            d["conns"] = conns;
            return py::object(std::move(d));
          },
          py::arg("address"), py::arg("proto") = "tcp",
          "What a server saw (dict: connections, active, bytes_received, bytes_sent, resets_sent, "
          "datagrams_*, and conns: one dict per connection with peer, received (bytes, up to the "
          "record cap), received_total, peer_eof, peer_reset, closed); None if no such server.")
      .def_property(
          "fd_limit", [](const HostView& h) { return h.session->host().config().fd_limit; },
          [](const HostView& h, std::uint64_t limit) { h.session->set_fd_limit(limit); },
          "The proxy process's fd limit (0 = unlimited); connect/accept/open fail with EMFILE beyond it. "
          "Writable at any time.")
      .def_property_readonly(
          "fds_in_use", [](const HostView& h) { return h.session->host().fds_in_use(); },
          "Open proxy sockets plus fds still lingering after close.")
      .def_property_readonly(
          "open_sockets", [](const HostView& h) { return h.session->host().open_sockets(); },
          "Open proxy sockets (listeners included).")
      .def(
          "sockets",
          [](const HostView& h) {
            py::list out;
            for (const sim::SimSocketInfo& s : h.session->host().sockets()) {
              py::dict d;
              d["kind"] = std::string(sim::to_string(s.kind));
              d["local"] = s.local.to_string();
              d["remote"] = s.remote.to_string();
              d["state"] = s.state;
              d["bytes_in"] = s.bytes_in;
              d["bytes_out"] = s.bytes_out;
              out.append(d);
            }
            return out;
          },
          "The proxy's open host sockets (list of dicts: kind, local, remote, state, bytes_in, bytes_out).")
      .def(
          "connect",
          [](const HostView& h, const std::string& ip, std::int64_t port) {
            if (port <= 0 || port > 65535) raise_value_error("port: expected 1..65535, got " + std::to_string(port));
            sim::SimHostClient& c =
                h.session->host().host_connect(host::Endpoint{parse_ip(ip, "ip"), static_cast<std::uint16_t>(port)});
            return HostConnectionView{h.session, c.id()};
          },
          py::arg("ip"), py::arg("port"),
          "Connects a host-side client to ip:port (a proxy port forward's host address, or a "
          "simulated server); returns a tapwire.HostConnection.");
}

}  // namespace tapwire::pybind
