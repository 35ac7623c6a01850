// tapwire.Sim and the views that need no host or guest types: Link, Rule, Proxy.
#include <cmath>
#include <fstream>
#include <optional>
#include <string>
#include <utility>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "pybind/bindings.h"
#include "sim/link/link_rule.h"
#include "sim/scenario/loader.h"
#include "sim/testbed/testbed_counters.h"
#include "stack/config/json_reader.h"
#include "stack/proxy/proxy.h"

namespace tapwire::pybind {

// ---------------------------------------------------------------------------------
// Helpers shared by every binding file

void raise_value_error(const std::string& message) { throw py::value_error(message); }

void raise_runtime_error(const std::string& message) { throw std::runtime_error(message); }

wire::Ipv4Addr parse_ip(const std::string& text, const char* what) {
  auto ip = wire::Ipv4Addr::parse(text);
  if (!ip) raise_value_error(std::string(what) + ": expected a dotted-quad IPv4 address, got '" + text + "'");
  return *ip;
}

Duration duration_from_seconds(double seconds, const char* what) {
  if (!std::isfinite(seconds) || seconds < 0)
    raise_value_error(std::string(what) + ": expected a non-negative number of seconds, got " +
                      std::to_string(seconds));
  return Duration::nanos(static_cast<std::int64_t>(std::llround(seconds * 1e9)));
}

py::bytes to_bytes(const std::uint8_t* data, std::size_t n) {
  return py::bytes(reinterpret_cast<const char*>(data), n);
}

std::string bytes_of(const py::handle& data) {
  if (py::isinstance<py::bytes>(data)) return data.cast<std::string>();
  PyObject* converted = PyObject_Bytes(data.ptr());  // bytearray, memoryview, __bytes__
  if (converted == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::bytes>(converted).cast<std::string>();
}

std::string json_dumps(const py::handle& obj) {
  return py::module_::import("json").attr("dumps")(obj).cast<std::string>();
}

namespace {

// A Python value as a link / rule value: bool and int -> integer, float -> number,
// str -> string. Anything else is a ValueError naming the key.
sim::LinkValue link_value(const std::string& key, const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) return std::int64_t{v.cast<bool>() ? 1 : 0};
  if (py::isinstance<py::int_>(v)) return v.cast<std::int64_t>();
  if (py::isinstance<py::float_>(v)) return v.cast<double>();
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  raise_value_error(key + ": expected a number or a string, got " + py::repr(v).cast<std::string>());
}

std::optional<sim::Direction> direction_arg(const std::optional<std::string>& dir) {
  if (!dir) return std::nullopt;
  auto d = sim::parse_direction(*dir);
  if (!d) raise_value_error("dir: expected 'to_guest' or 'to_proxy', got '" + *dir + "'");
  return d;
}

void check_idle(const PySim& sim, const char* what) {
  if (sim.running)
    raise_runtime_error(std::string(what) + "() cannot be called while the simulation is running "
                                            "(from inside a run_until predicate)");
}

// A targeted link rule, added at creation and removed by remove() or at the end of a
// `with` block.
struct RuleView {
  SessionPtr session;
  sim::RuleId id = 0;
};

py::dict link_params_dict(const sim::LinkParams& p) {
  py::dict d;
  d["delay"] = to_seconds(p.delay);
  d["jitter"] = to_seconds(p.jitter);
  d["bandwidth"] = p.bandwidth_bps;
  d["queue"] = p.queue_frames;
  d["loss"] = p.loss;
  d["duplicate"] = p.duplicate;
  d["reorder"] = p.reorder;
  d["reorder_delay"] = to_seconds(p.reorder_delay);
  d["corrupt"] = p.corrupt;
  d["mtu_blackhole"] = p.mtu_blackhole;
  return d;
}

py::dict link_counters_dict(const sim::LinkCounters& c) {
  py::dict d;
  for (const sim::LinkCounterField& f : sim::link_counter_fields()) d[f.name] = c.*(f.field);
  d["dropped"] = c.dropped();
  return d;
}

RuleView add_rule(const SessionPtr& s, const py::dict& match, const py::kwargs& keys) {
  sim::LinkRule rule;
  for (auto item : match) {
    const std::string key = py::str(item.first);
    if (auto err = rule.match.set(key, link_value("match." + key, item.second)))
      raise_value_error("match." + key + ": " + *err);
  }
  for (auto item : keys) {
    const std::string key = py::str(item.first);
    if (item.second.is_none()) continue;
    sim::LinkValue v = link_value(key, item.second);
    // Durations may be given in seconds (as everywhere in this module) or as "5ms".
    if (key == "delay" && !std::holds_alternative<std::string>(v)) {
      const double secs = std::holds_alternative<double>(v) ? std::get<double>(v)
                                                            : static_cast<double>(std::get<std::int64_t>(v));
      v = std::to_string(duration_from_seconds(secs, "delay").ns()) + "ns";
    }
    if (auto err = rule.set(key, v)) raise_value_error(key + ": " + *err);
  }
  return RuleView{s, s->link().add_rule(std::move(rule))};
}

// Durations in link.set: seconds (float) or a duration string, like the scenario file.
sim::LinkValue link_setting_value(const std::string& key, const py::handle& v) {
  sim::LinkValue value = link_value(key, v);
  static const char* const kDurationKeys[] = {"delay", "jitter", "reorder_delay"};
  for (const char* d : kDurationKeys) {
    if (key == d && !std::holds_alternative<std::string>(value)) {
      const double secs = std::holds_alternative<double>(value)
                              ? std::get<double>(value)
                              : static_cast<double>(std::get<std::int64_t>(value));
      return std::to_string(duration_from_seconds(secs, d).ns()) + "ns";
    }
  }
  return value;
}

// run_until / run_for with the GIL released while the World runs; the predicate (if
// any) is called with the GIL held.
bool run_session(PySim& sim, const py::object& predicate, Instant deadline) {
  std::optional<py::error_already_set> error;
  std::function<bool()> done;
  if (!predicate.is_none()) {
    done = [&predicate, &error]() -> bool {
      py::gil_scoped_acquire gil;
      try {
        return py::bool_(predicate());
      } catch (py::error_already_set& e) {
        error = std::move(e);
        return true;  // stop; the exception is raised below
      }
    };
  }
  struct RunningFlag {  // cleared however the run ends
    bool& flag;
    explicit RunningFlag(bool& f) : flag(f) { flag = true; }
    ~RunningFlag() { flag = false; }
  };
  bool held = false;
  {
    RunningFlag running(sim.running);
    py::gil_scoped_release release;
    held = sim.session->run(done, deadline);
  }
  if (error) throw std::move(*error);
  if (const auto& failure = sim.session->failure()) raise_runtime_error("simulation failed: " + *failure);
  return held;
}

// A keyword argument of Sim(...) as JSON, for the loader's section reader.
std::optional<nlohmann::json> section_json(const py::object& value, const char* name) {
  if (value.is_none()) return std::nullopt;
  auto parsed = config::parse_json_text(json_dumps(value), std::string("<python> ") + name);
  if (!parsed.ok()) raise_value_error(parsed.error().to_string());
  return std::move(parsed).value();
}

std::shared_ptr<PySim> make_sim(std::uint64_t seed, const py::object& proxy, const py::object& vm,
                                const py::object& link, const py::object& host) {
  const auto proxy_json = section_json(proxy, "proxy");
  const auto vm_json = section_json(vm, "vm");
  const auto link_json = section_json(link, "link");
  const auto host_json = section_json(host, "host");
  auto ptr = [](const std::optional<nlohmann::json>& j) { return j ? &*j : nullptr; };
  auto setup = sim::load_world_setup(
      sim::WorldSetupJson{ptr(proxy_json), ptr(vm_json), ptr(link_json), ptr(host_json)}, "<python>");
  if (!setup.ok()) raise_value_error(setup.error().to_string());
  auto made = SimSession::from_setup(setup.value(), seed);
  if (auto* err = std::get_if<std::string>(&made)) raise_value_error("<python>: " + *err);
  return std::make_shared<PySim>(PySim{std::get<SessionPtr>(made), false});
}

std::shared_ptr<PySim> sim_from_scenario(const py::object& path_or_dict, std::optional<std::uint64_t> seed) {
  std::variant<SessionPtr, std::string> made;
  if (py::isinstance<py::dict>(path_or_dict)) {
    py::dict doc = py::reinterpret_borrow<py::dict>(path_or_dict).attr("copy")();
    if (!doc.contains("name")) doc["name"] = "python";
    made = SimSession::from_scenario_text(json_dumps(doc), "<python>", seed);
  } else {
    const std::string path = py::module_::import("os").attr("fspath")(path_or_dict).cast<std::string>();
    made = SimSession::from_scenario_file(path, seed);
  }
  if (auto* err = std::get_if<std::string>(&made)) raise_value_error(*err);
  return std::make_shared<PySim>(PySim{std::get<SessionPtr>(made), false});
}

// What run_until waited for, for its timeout message: `what` when given, else the
// predicate's name and, for a lambda, where it was written ("<lambda> at test_x.py:12").
std::string predicate_description(const py::object& predicate, const std::optional<std::string>& what) {
  if (what) return *what;
  if (!py::hasattr(predicate, "__name__")) return py::repr(predicate).cast<std::string>();
  std::string name = py::str(predicate.attr("__name__"));
  if (py::hasattr(predicate, "__code__")) {
    const py::object code = predicate.attr("__code__");
    const std::string file = py::module_::import("os.path").attr("basename")(code.attr("co_filename")).cast<std::string>();
    name += " at " + file + ":" + py::str(code.attr("co_firstlineno")).cast<std::string>();
  }
  return "predicate " + name;
}

}  // namespace

void bind_sim(py::module_& m) {
  py::class_<PySim, std::shared_ptr<PySim>> sim(m, "Sim", R"doc(
A deterministic simulation: the proxy, one simulated VM (``guest``), the simulated host
network (``host``) and the impaired link between VM and proxy (``link``), on a virtual
clock that only moves when you run it.

    sim = tapwire.Sim(seed=1, vm={"ip": "192.168.65.9"})
    sim.host.add_server("127.0.0.1:7", "echo")
    conn = sim.guest.tcp_connect("192.168.65.2", 7)   # the host alias reaches 127.0.0.1
    sim.run_until(lambda: conn.state == "ESTABLISHED", timeout=1)
    conn.send(b"hello")
    sim.run_for(0.1)
    assert conn.recv() == b"hello"

Sim(seed=1, proxy=None, vm=None, link=None, host=None): the keyword arguments take the
same keys as the scenario file's sections (scenarios/README.md), e.g.
proxy={"mtu": 9000}, vm={"ip": "192.168.65.9", "mtu": 1500}, link={"loss": 0.01,
"delay": "5ms"}, host={"fd_limit": 64, "servers": [{"listen": "1.2.3.4:80",
"behaviour": "echo"}]}. A bad key or value raises ValueError naming its JSON path
("<python>: $.proxy.mtu: ..."). Without vm["ip"] the VM has no address until
``sim.guest.dhcp()`` completes. Same seed and same calls: the same frames, digest
and pcap bytes.

DNS: proxy={"dns": {"upstreams": ["10.0.0.53"]}} with
sim.host.add_dns_server("10.0.0.53:53", ["a.test A 1.1.1.1"]) (or
host={"dns_servers": [...]}) and q = sim.guest.dns_query("a.test"); see
help(tapwire.DnsQuery). Without upstreams only the built-in names (gateway.internal,
host.internal, vm.internal) and dns.hosts are answered; other names get SERVFAIL.

Objects returned by the API (connections, leases, pings, rules) are live views: their
attributes change as the simulation runs, and they keep the simulation alive.
)doc");
  sim.def(py::init(&make_sim), py::arg("seed") = 1, py::kw_only(), py::arg("proxy") = py::none(),
          py::arg("vm") = py::none(), py::arg("link") = py::none(), py::arg("host") = py::none(),
          "Builds a simulation (see the class docstring for the arguments).");
  sim.def_static("from_scenario", &sim_from_scenario, py::arg("path_or_dict"), py::arg("seed") = py::none(),
                 R"doc(
A Sim built from a scenario file (path) or a scenario dict (the file's JSON as Python
values; "name" may be left out). The scenario's actions are performed at their times as
the clock runs; its expectations are not evaluated (use tapwire.run_scenario for that).
``seed`` overrides the scenario's seed. Errors raise ValueError naming the JSON path.
)doc");
  sim.def_property_readonly(
      "seed", [](const PySim& s) { return s.session->seed(); }, "The seed this simulation runs with.");
  sim.def_property_readonly(
      "now", [](const PySim& s) { return to_seconds(s.session->world().now()); },
      "Virtual time in seconds since the start (float).");
  sim.def_property_readonly(
      "digest", [](const PySim& s) { return s.session->world().digest().hex(); },
      "SHA-256 (hex) over every frame delivered so far, in delivery order: equal digests mean "
      "identical runs.");
  sim.def(
      "run_for",
      [](PySim& s, double seconds) {
        check_idle(s, "run_for");
        const Instant deadline = s.session->world().now() + duration_from_seconds(seconds, "run_for");
        run_session(s, py::none(), deadline);
      },
      py::arg("seconds"),
      "Runs the simulation for `seconds` of virtual time (everything due up to now + seconds), "
      "releasing the GIL. Afterwards sim.now == the old now + seconds.");
  sim.def(
      "run_until",
      [](PySim& s, const py::object& predicate, double timeout, const std::optional<std::string>& what) {
        check_idle(s, "run_until");
        if (!PyCallable_Check(predicate.ptr())) raise_value_error("run_until: predicate must be callable");
        const Instant start = s.session->world().now();
        const Instant deadline = start + duration_from_seconds(timeout, "timeout");
        if (run_session(s, predicate, deadline)) return true;
        const std::string msg =
            sim::missed_wait_message(s.session->world(), predicate_description(predicate, what), start, deadline);
        PyErr_SetString(PyExc_TimeoutError, msg.c_str());
        throw py::error_already_set();
      },
      py::arg("predicate"), py::arg("timeout"), py::kw_only(), py::arg("what") = py::none(), R"doc(
Runs until predicate() is true and returns True.

The predicate is evaluated once before running, then after every virtual instant at
which events ran (never in between). It may have side effects and may call send(),
recv(), state and other views, but not run_for/run_until. `timeout` is in virtual
seconds from now; if the event queue empties, time jumps to the deadline. When the
deadline passes with the predicate still false, raises TimeoutError naming what it
waited for (`what`, or the predicate's name with its file and line) and the virtual
time reached (sim.now is then the deadline):
    run_until: timed out waiting for conn established: still false at virtual time
    5.000000000s (timeout 3s after 2.000000000s)
An exception raised by the predicate stops the run and propagates. The GIL is released while the simulation runs and taken back for each
evaluation of the predicate.
)doc");
  sim.def_property_readonly(
      "guest", [](const PySim& s) { return GuestView{s.session}; }, "The simulated VM (tapwire.Guest).");
  sim.def_property_readonly(
      "host", [](const PySim& s) { return HostView{s.session}; },
      "The simulated host network behind the proxy (tapwire.Host).");
  sim.def_property_readonly(
      "proxy", [](const PySim& s) { return ProxyView{s.session}; }, "The proxy under test (tapwire.Proxy).");
  sim.def_property_readonly(
      "link", [](const PySim& s) { return LinkView{s.session}; },
      "The impaired link between the VM and the proxy (tapwire.Link).");
  sim.def(
      "rule",
      [](const PySim& s, const py::object& match, const py::kwargs& keys) {
        py::dict md = match.is_none() ? py::dict() : py::dict(match);
        return add_rule(s.session, md, keys);
      },
      py::arg("match") = py::none(), "Same as sim.link.rule(...).");
  sim.def(
      "partition", [](const PySim& s) { s.session->link().partition(); },
      "Same as sim.link.partition(): every frame, both ways, is dropped until heal().");
  sim.def(
      "heal", [](const PySim& s) { s.session->link().heal(); }, "Same as sim.link.heal().");
  sim.def(
      "stats", [](const PySim& s) { return s.session->stats(); },
      "Every counter of the scenario report, by dotted name: proxy.* (the proxy's stats), "
      "link.to_guest.* / link.to_proxy.*, capture.*, guest.*, host.*, world.*.");
  sim.def(
      "leaks", [](const PySim& s) { return s.session->leaks(); }, R"doc(
What is left behind that should not be, as {"proxy": [...], "host": [...], "guest": [...]}
with only the non-empty sides; {} when clean. Proxy: live flows, host handles, TCP
connections without a flow, timers not owned by a live flow or service. Host: open
proxy sockets other than listeners, lingering fds. Guest: live TCP connections,
unfinished apps, queued injections, active floods. TIME-WAIT records, DHCP leases and
ARP timers are not leaks.
)doc");
  sim.def(
      "capture", [](const PySim& s) {
        auto bytes = s.session->pcap();
        return to_bytes(bytes.data(), bytes.size());
      },
      R"doc(
The capture so far as pcap file bytes (nanosecond timestamps on the virtual clock):
both directions at the proxy's end of the link, from time zero. Frames to the guest
are recorded as the proxy sends them (before link loss), frames to the proxy as they
arrive (after loss, duplication and reordering). The capture keeps at most 64 MiB of
pcap; later frames are not recorded (see stats()["capture.*"] for full counts).
scapy reads it: scapy.all.rdpcap(io.BytesIO(sim.capture())).
)doc");
  sim.def(
      "write_pcap",
      [](const PySim& s, const py::object& path) {
        const std::string p = py::module_::import("os").attr("fspath")(path).cast<std::string>();
        auto bytes = s.session->pcap();
        std::ofstream out(p, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        if (!out) raise_runtime_error("write_pcap: cannot write " + p);
      },
      py::arg("path"), "Writes capture() to a file.");
  sim.def_property_readonly(
      "failure", [](const PySim& s) { return s.session->failure(); },
      "None, or why the simulation stopped being valid (a livelock); run_* then raise RuntimeError.");
  sim.def("__repr__", [](const PySim& s) {  // "<tapwire.Sim seed=1 now=0.5s>"
    return "<tapwire.Sim seed=" + std::to_string(s.session->seed()) + " now=" + to_string(s.session->world().now()) +
           ">";
  });

  // --- Link ---
  py::class_<RuleView>(m, "Rule", R"doc(
A targeted link rule (from sim.link.rule(...)): active from its creation until remove()
or the end of its `with` block. `matched` counts the frames its match accepted,
`fired` those it acted on.
)doc")
      .def_property_readonly(
          "matched", [](const RuleView& r) { return r.session->link().rule_matched(r.id).value_or(0); },
          "Frames the match accepted so far.")
      .def_property_readonly(
          "fired", [](const RuleView& r) { return r.session->link().rule_fired(r.id).value_or(0); },
          "Frames the rule dropped or delayed so far.")
      .def_property_readonly(
          "active", [](const RuleView& r) { return r.session->link().rule_matched(r.id).has_value(); },
          "False once removed.")
      .def(
          "remove", [](const RuleView& r) { return r.session->link().remove_rule(r.id); },
          "Removes the rule (later frames pass). Returns False if it was already removed.")
      .def(
          "__enter__", [](const RuleView& r) { return r; }, "Returns the rule (already active).")
      .def(
          "__exit__",
          [](const RuleView& r, const py::args&) {
            r.session->link().remove_rule(r.id);
            return false;
          },
          "Removes the rule; exceptions propagate.");

  py::class_<LinkView>(m, "Link", "The impaired link between the VM and the proxy (sim.link).")
      .def(
          "set",
          [](const LinkView& l, const std::optional<std::string>& dir, const py::kwargs& keys) {
            const auto d = direction_arg(dir);
            for (auto item : keys) {
              const std::string key = py::str(item.first);
              if (auto err = l.session->link().apply(key, link_setting_value(key, item.second), d))
                raise_value_error("link." + key + ": " + *err);
            }
          },
          py::arg("dir") = py::none(), R"doc(
Changes impairments now, for both directions or only dir="to_guest"/"to_proxy".
Keys (the scenario file's `link` keys): delay, jitter, reorder_delay (seconds as a
number, or "5ms"), bandwidth (bits/s or "100Mbit"), queue (frames), loss, duplicate,
reorder, corrupt (probabilities 0..1), mtu_blackhole (IP MTU; 0 = off).
    sim.link.set(loss=0.05, delay="2ms")
A bad key or value raises ValueError naming the key.
)doc")
      .def(
          "params",
          [](const LinkView& l, const std::string& dir) {
            return link_params_dict(l.session->link().params(*direction_arg(dir)));
          },
          py::arg("dir") = "to_guest", "The current impairments of one direction (durations in seconds).")
      .def(
          "counters",
          [](const LinkView& l, const std::string& dir) {
            return link_counters_dict(l.session->link().counters(*direction_arg(dir)));
          },
          py::arg("dir") = "to_guest", "Frame counters of one direction (sent, delivered, dropped_*, ...).")
      .def(
          "rule",
          [](const LinkView& l, const py::object& match, const py::kwargs& keys) {
            py::dict md = match.is_none() ? py::dict() : py::dict(match);
            return add_rule(l.session, md, keys);
          },
          py::arg("match") = py::none(), R"doc(
Adds a targeted rule and returns it (a tapwire.Rule, usable as a context manager):

    with sim.link.rule(match={"dir": "to_guest", "flags": "SA"}, action="drop", nth=1):
        ...   # the first SYN-ACK to the guest is dropped

match keys: dir ("to_guest"/"to_proxy"), proto ("tcp", "udp", "icmp", "arp", "ipv4"),
flags (TCP flag letters: "SA" = SYN and ACK set, "=SA" = exactly those), src, dst
(addresses), sport, dport, min_len (frame bytes). Rule keys: action ("drop" or
"delay"), delay (seconds or "5ms"; selects the delay action), nth (1-based), every
(True: act on every match). Match keys may also be given flat as keyword arguments.
)doc")
      .def(
          "partition", [](const LinkView& l) { l.session->link().partition(); },
          "Drops every frame both ways (also frames already in flight, at arrival) until heal().")
      .def(
          "heal", [](const LinkView& l) { l.session->link().heal(); }, "Ends a partition.")
      .def_property_readonly(
          "partitioned", [](const LinkView& l) { return l.session->link().partitioned(); },
          "True between partition() and heal().")
      .def_property_readonly(
          "in_flight", [](const LinkView& l) { return l.session->link().in_flight(); },
          "Frames on the wire now (both directions).");

  // --- Proxy ---
  py::class_<ProxyView>(m, "Proxy", "The proxy under test (sim.proxy).")
      .def(
          "stats", [](const ProxyView& p) { return p.session->proxy().stats(); },
          "The proxy's counters by report name (e.g. 'tcp.rst_to_guest', 'drop.<reason>'), plus the "
          "gauges 'tcp.flows_live' and 'tcp.time_wait_records'.")
      .def(
          "flows",
          [](const ProxyView& p) {
            py::list out;
            for (const proxy::FlowRow& f : p.session->proxy().flows()) {
              py::dict d;
              d["serial"] = f.serial;
              d["protocol"] = f.protocol;
              d["initiator"] = f.initiator;
              d["state"] = f.state;
              d["guest_src"] = f.guest_src;
              d["guest_dst"] = f.guest_dst;
              d["host_remote"] = f.host_remote;
              d["host_local"] = f.host_local;
              d["host_open"] = f.host_open;
              d["bytes_guest_to_host"] = f.bytes_guest_to_host;
              d["bytes_host_to_guest"] = f.bytes_host_to_guest;
              d["age"] = to_seconds(f.age);
              d["idle"] = to_seconds(f.idle);
              out.append(d);
            }
            return out;
          },
          R"doc(
The live flows of every protocol from the proxy's one flow table, in table order, each
a dict: protocol ("tcp", "udp", "icmp"), initiator ("guest" or "host"), state,
guest_src and guest_dst (the guest side, "ip:port"; "*" where a UDP mapping has none;
"ip id N" for an ICMP echo session), host_remote (the host side), host_local (a
forwarded flow's listener, "" otherwise), host_open,
bytes_guest_to_host, bytes_host_to_guest, age and idle (seconds), serial.
)doc")
      .def(
          "snapshot",
          [](const ProxyView& p) {
            return py::module_::import("json").attr("loads")(proxy::to_json(p.session->proxy().snapshot()).dump());
          },
          "One picture of the proxy at this instant, as a dict: flows, forwards (spec, requested, protocol, host, "
          "host_port, guest, paused, accepted, limit_closed, active), connection_limit (limit, from, reserve, "
          "fd_limit, in_use, warnings), host_open_handles, own_sockets, counters (the daemon's diagnostics show "
          "the same).")
      .def(
          "leaks", [](const ProxyView& p) { return p.session->proxy().leaks(); },
          "The proxy's own part of sim.leaks() (a list of descriptions; empty when clean).");
}

}  // namespace tapwire::pybind
