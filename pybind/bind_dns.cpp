// DNS from Python: the guest's stub resolver (sim.guest.dns_query, tapwire.DnsQuery),
// the host's DNS servers and resolver model (sim.host.add_dns_server, set_resolver,
// dns_server) and the proxy's DNS status (sim.proxy.dns_status). The classes Guest,
// Host and Proxy are bound in bind_guest.cpp / bind_host.cpp / bind_sim.cpp; this file
// adds their DNS methods, so bind_dns runs after those.
//
// Everything is sim/'s own: DnsQueryOptions and GuestDnsQuery (sim/guest/dns_stub.h),
// DnsServerSpec and ResolverSpec (sim/host/sim_dns_server.h, sim_resolver.h), record
// lines and their text form (stack/wire/dns_text.h). Bad arguments raise ValueError
// with the message sim/ gives (a record line that does not parse is quoted).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pybind11/stl.h>

#include "pybind/bindings.h"
#include "sim/guest/dns_answer.h"
#include "sim/guest/guest_vm.h"
#include "sim/host/sim_host_net.h"
#include "stack/proxy/proxy.h"
#include "stack/wire/dns_text.h"

namespace tapwire::pybind {

namespace {

struct DnsQueryView {
  SessionPtr session;  // keeps the world (and so the stub that updates the query) alive
  sim::GuestDnsQueryPtr q;
};

// Seconds (a number) or a duration string ("50ms"); None stays unset.
std::optional<Duration> duration_arg(const py::object& v, const char* what) {
  if (v.is_none()) return std::nullopt;
  if (py::isinstance<py::str>(v)) {
    const std::string text = v.cast<std::string>();
    if (auto d = parse_duration(text)) return *d;
    raise_value_error(std::string(what) + ": expected seconds or a duration like '50ms', got '" + text + "'");
  }
  if ((py::isinstance<py::float_>(v) || py::isinstance<py::int_>(v)) && !py::isinstance<py::bool_>(v))
    return duration_from_seconds(v.cast<double>(), what);
  raise_value_error(std::string(what) + ": expected seconds or a duration like '50ms', got " +
                    py::repr(v).cast<std::string>());
}

// "NOERROR", "SERVFAIL", ... or 0..15; None stays unset.
std::optional<std::uint8_t> rcode_arg(const py::object& v) {
  if (v.is_none()) return std::nullopt;
  if (py::isinstance<py::int_>(v) && !py::isinstance<py::bool_>(v)) {
    const auto n = v.cast<std::int64_t>();
    if (n >= 0 && n <= 15) return static_cast<std::uint8_t>(n);
  } else if (py::isinstance<py::str>(v)) {
    const std::string text = v.cast<std::string>();
    for (std::uint8_t i = 0; i < 16; ++i)
      if (sim::rcode_name(i) == text) return i;
  }
  raise_value_error("rcode: expected 'NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED' or 0..15, got " +
                    py::repr(v).cast<std::string>());
}

std::uint16_t u16_arg(std::int64_t v, std::int64_t lo, const char* what) {
  if (v < lo || v > 65535)
    raise_value_error(std::string(what) + ": expected " + std::to_string(lo) + "..65535, got " + std::to_string(v));
  return static_cast<std::uint16_t>(v);
}

// The keyword arguments of one question (dns_query, or one dict of dns_query_pipelined).
sim::DnsQueryOptions query_options(const std::string& name, const std::string& qtype, bool tcp, bool strict,
                                   const std::optional<std::int64_t>& id, bool randomize_case,
                                   const std::optional<std::int64_t>& edns, const py::object& timeout) {
  sim::DnsQueryOptions o;
  if (auto parsed = wire::DnsName::parse_text(name); !parsed.ok())
    raise_value_error("name: " + std::string(parsed.error().reason) + ", got '" + name + "'");
  o.name = name;
  auto t = sim::parse_qtype(qtype);
  if (!t.ok()) raise_value_error("qtype: " + std::string(t.error().reason) + ", got '" + qtype + "'");
  o.qtype = *t;
  o.tcp = tcp;
  o.strict = strict;
  if (id) o.id = u16_arg(*id, 0, "id");
  o.randomize_case = randomize_case;
  if (edns) o.edns = u16_arg(*edns, 512, "edns");
  if (auto d = duration_arg(timeout, "timeout")) {
    if (*d <= Duration::zero()) raise_value_error("timeout: must be longer than 0");
    o.timeout = *d;
  }
  return o;
}

void need_address(const GuestView& g) {
  if (!g.session->guest().ip())
    raise_runtime_error("dns_query: the guest has no address yet (pass vm={'ip': '192.168.65.9'} or run DHCP first)");
}

py::tuple record_tuple(const wire::DnsRecord& r) {
  const wire::DnsRecordText t = wire::to_text(r);
  return py::make_tuple(t.name, t.type, t.ttl, t.rdata);
}

py::dict flags_dict(const sim::GuestDnsQuery& q) {
  const wire::DnsHeader h = wire::DnsHeader::from_flags(q.id, q.flags);
  py::dict d;
  d["qr"] = h.qr;
  d["aa"] = h.aa;
  d["tc"] = h.tc;
  d["rd"] = h.rd;
  d["ra"] = h.ra;
  d["ad"] = h.ad;
  d["cd"] = h.cd;
  return d;
}

std::optional<double> seconds_of(const std::optional<Instant>& t) {
  if (!t) return std::nullopt;
  return to_seconds(*t);
}

void bind_query_class(py::module_& m) {
  using V = DnsQueryView;
  py::class_<V>(m, "DnsQuery", R"doc(
One question from the VM's stub resolver (live): updated in place as the simulation
runs, until `done`. Once done, exactly one holds: answered (`rcode`, `answers`, ...;
`rejected` may be set too: the reply came but the client refused it), `timed_out`, or
`error` (it could not be asked).
)doc")
      .def_property_readonly(
          "done", [](const V& v) { return v.q->done; }, "True once answered, timed out or failed.")
      .def_property_readonly(
          "name", [](const V& v) { return v.q->options.name; }, "The name as asked (before 0x20 case).")
      .def_property_readonly(
          "qname", [](const V& v) { return v.q->qname.to_text(); }, "The question name as sent (0x20 case applied).")
      .def_property_readonly(
          "qtype", [](const V& v) { return sim::qtype_name(v.q->options.qtype); }, "'A', 'AAAA', ...")
      .def_property_readonly(
          "id", [](const V& v) { return v.q->id; }, "The query's DNS id.")
      .def_property_readonly(
          "rcode", [](const V& v) -> std::optional<std::string> {
            if (!v.q->answered()) return std::nullopt;
            return v.q->rcode_name();
          },
          "'NOERROR', 'NXDOMAIN', 'SERVFAIL', ... of the accepted reply; None without one.")
      .def_property_readonly(
          "answers",
          [](const V& v) {
            py::list out;
            for (const wire::DnsRecord& r : v.q->answers) out.append(record_tuple(r));
            return out;
          },
          "The answer section in wire order: (name, type, ttl, rdata) tuples, rdata in presentation "
          "format (\"1.1.1.1\", \"b.test\", \"10 60 5060 svc.test\").")
      .def_property_readonly(
          "flags", [](const V& v) { return flags_dict(*v.q); },
          "The reply's header flags: dict of qr, aa, tc, rd, ra, ad, cd (bools).")
      .def_property_readonly(
          "truncated", [](const V& v) { return v.q->truncated; }, "TC on the accepted reply.")
      .def_property_readonly(
          "raw", [](const V& v) { return to_bytes(v.q->raw.data(), v.q->raw.size()); },
          "The accepted reply message (bytes; b'' without one).")
      .def_property_readonly(
          "rejected", [](const V& v) { return v.q->rejected; },
          "Why the client refused the reply (str: 'question case not echoed', a strict-chain "
          "reason), or None.")
      .def_property_readonly(
          "timed_out", [](const V& v) { return v.q->timed_out; }, "True when no reply came in time.")
      .def_property_readonly(
          "error", [](const V& v) { return v.q->error; }, "Why it could not be asked (str), or None.")
      .def_property_readonly(
          "fell_back_to_tcp", [](const V& v) { return v.q->fell_back_to_tcp; },
          "True when a TC=1 UDP reply made the stub ask again over TCP.")
      .def_property_readonly(
          "transport", [](const V& v) { return std::string(sim::to_string(v.q->transport_used)); },
          "'udp' or 'tcp' (of the accepted reply), 'none' without one.")
      .def_property_readonly(
          "udp_sends", [](const V& v) { return v.q->udp_sends; }, "UDP transmissions (first send and retries).")
      .def_property_readonly(
          "sent_at", [](const V& v) { return seconds_of(v.q->sent_at); }, "First transmission, virtual seconds.")
      .def_property_readonly(
          "answered_at", [](const V& v) { return seconds_of(v.q->answered_at); },
          "When the reply was accepted, virtual seconds (None without one).")
      .def_property_readonly(
          "ok", [](const V& v) { return v.q->ok(); }, "Done, answered, not rejected, NOERROR.")
      .def("__repr__", [](const V& v) {
        const sim::GuestDnsQuery& q = *v.q;
        std::string state = !q.done ? "pending" : q.answered() ? q.rcode_name() : q.timed_out ? "timed out" : "error";
        return "<tapwire.DnsQuery " + q.options.name + " " + sim::qtype_name(q.options.qtype) + " " + state + ">";
      });
}

void bind_guest_dns(py::module_& m) {
  auto guest = py::reinterpret_borrow<py::class_<GuestView>>(m.attr("Guest"));
  guest.def(
      "dns_query",
      [](const GuestView& g, const std::string& name, const std::string& qtype, bool tcp, bool strict,
         std::optional<std::int64_t> id, bool randomize_case, std::optional<std::int64_t> edns,
         const py::object& timeout, std::optional<std::string> server, std::int64_t port, std::int64_t retries,
         bool tcp_fallback) {
        need_address(g);
        sim::DnsQueryOptions o = query_options(name, qtype, tcp, strict, id, randomize_case, edns, timeout);
        if (server) o.server = parse_ip(*server, "server");
        o.port = u16_arg(port, 1, "port");
        if (retries < 0 || retries > 16) raise_value_error("retries: expected 0..16, got " + std::to_string(retries));
        o.retries = static_cast<std::uint32_t>(retries);
        o.tcp_fallback = tcp_fallback;
        return DnsQueryView{g.session, g.session->guest().dns_query(o)};
      },
      py::arg("name"), py::arg("qtype") = "A", py::kw_only(), py::arg("tcp") = false, py::arg("strict") = false,
      py::arg("id") = py::none(), py::arg("randomize_case") = false, py::arg("edns") = py::none(),
      py::arg("timeout") = py::none(), py::arg("server") = py::none(), py::arg("port") = 53, py::arg("retries") = 1,
      py::arg("tcp_fallback") = true, R"doc(
Asks one DNS question from the VM's stub resolver and returns a tapwire.DnsQuery (live).
qtype: 'A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'NS', 'PTR', 'SOA', 'ANY' or 'TYPE<n>'.
tcp: ask over TCP from the start. strict: refuse an answer section glibc's chain walk
would not use (out-of-order CNAMEs, duplicates). id: the DNS id (default: random).
randomize_case: 0x20 letter case, the reply must echo it. edns: add an OPT record with
this UDP size. timeout: per transmission (seconds or '5s'; default 5 s), `retries` UDP
retransmissions. server: default the lease's DNS server, else the gateway.
    q = sim.guest.dns_query("a.test", strict=True)
    sim.run_until(lambda: q.done, timeout=10)
)doc");
  guest.def(
      "dns_query_pipelined",
      [](const GuestView& g, const py::list& queries) {
        need_address(g);
        if (py::len(queries) == 0) raise_value_error("queries: expected at least one name or dict");
        std::vector<sim::DnsQueryOptions> options;
        for (const py::handle& item : queries) {
          if (py::isinstance<py::str>(item)) {
            options.push_back(query_options(item.cast<std::string>(), "A", true, false, std::nullopt, false,
                                            std::nullopt, py::none()));
            continue;
          }
          if (!py::isinstance<py::dict>(item))
            raise_value_error("queries: each item is a name or a dict of dns_query keywords, got " +
                              py::repr(item).cast<std::string>());
          py::dict d = py::reinterpret_borrow<py::dict>(item);
          for (const auto& kv : d) {
            const std::string key = py::str(kv.first);
            static const std::vector<std::string> kKeys = {"name", "qtype", "strict", "id", "randomize_case", "edns",
                                                           "timeout"};
            if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end())
              raise_value_error("queries: unknown key '" + key +
                                "' (name, qtype, strict, id, randomize_case, edns, timeout)");
          }
          if (!d.contains("name")) raise_value_error("queries: a dict needs 'name'");
          auto get = [&d](const char* k, py::object fallback) {
            return d.contains(k) ? py::reinterpret_borrow<py::object>(d[k]) : fallback;
          };
          options.push_back(query_options(
              get("name", py::none()).cast<std::string>(), get("qtype", py::str("A")).cast<std::string>(), true,
              get("strict", py::bool_(false)).cast<bool>(), get("id", py::none()).cast<std::optional<std::int64_t>>(),
              get("randomize_case", py::bool_(false)).cast<bool>(),
              get("edns", py::none()).cast<std::optional<std::int64_t>>(), get("timeout", py::none())));
        }
        std::vector<DnsQueryView> out;
        for (auto& q : g.session->guest().dns_query_pipelined(options)) out.push_back(DnsQueryView{g.session, q});
        return out;
      },
      py::arg("queries"), R"doc(
Writes several questions back to back on ONE new TCP connection (RFC 7766 §6.2.1) and
returns their tapwire.DnsQuery objects in the same order. Each item is a name (type A)
or a dict of dns_query keywords (name, qtype, strict, id, randomize_case, edns, timeout).
)doc");
}

void bind_host_dns(py::module_& m) {
  auto host = py::reinterpret_borrow<py::class_<HostView>>(m.attr("Host"));
  host.def(
      "add_dns_server",
      [](const HostView& h, const std::string& address, const std::vector<std::string>& records,
         const std::string& order, const py::object& delay, double drop, bool servfail, bool truncate,
         const py::object& rcode, const py::object& latency) {
        sim::DnsServerSpec spec;
        spec.at = endpoint_arg(address, "address");
        spec.records = records;
        auto o = sim::parse_dns_answer_order(order);
        if (!o) raise_value_error("order: expected 'as_listed', 'reversed' or 'rotate', got '" + order + "'");
        spec.order = *o;
        spec.delay = duration_arg(delay, "delay").value_or(Duration::zero());
        spec.latency = duration_arg(latency, "latency");
        spec.drop = drop;
        spec.servfail = servfail;
        spec.truncate = truncate;
        spec.rcode = rcode_arg(rcode);
        if (auto err = h.session->host().add_dns_server(std::move(spec))) raise_value_error("add_dns_server: " + *err);
      },
      py::arg("address"), py::arg("records") = std::vector<std::string>{}, py::kw_only(),
      py::arg("order") = "as_listed", py::arg("delay") = py::none(), py::arg("drop") = 0.0,
      py::arg("servfail") = false, py::arg("truncate") = false, py::arg("rcode") = py::none(),
      py::arg("latency") = py::none(), R"doc(
Adds (or replaces) a DNS server at "ip:port" answering UDP and TCP from `records`,
record lines like "a.test CNAME b.test" or "d.test A 1.1.1.1 60" (the TTL last,
default 300). order: 'as_listed', 'reversed' or 'rotate' (round robin) for the final
RRset. delay: time to answer (seconds or '50ms'); latency: one-way. drop: probability
a UDP query is ignored. servfail: answer SERVFAIL; rcode: force that rcode, no
records; truncate: every UDP answer TC=1 and empty (the client must use TCP).
    sim.host.add_dns_server("10.0.0.53:53", ["a.test A 1.1.1.1"])
    sim = tapwire.Sim(proxy={"dns": {"upstreams": ["10.0.0.53"]}})  # the proxy's side
)doc");
  host.def(
      "remove_dns_server",
      [](const HostView& h, const std::string& address) {
        return h.session->host().remove_dns_server(endpoint_arg(address, "address"));
      },
      py::arg("address"), "Removes a DNS server (later queries to it go unanswered). False if none.");
  host.def(
      "dns_server",
      [](const HostView& h, const std::string& address) -> py::object {
        const sim::DnsServerStats* s = h.session->host().dns_server_stats(endpoint_arg(address, "address"));
        if (s == nullptr) return py::none();
        py::dict d;
        d["queries_udp"] = s->queries_udp;
        d["queries_tcp"] = s->queries_tcp;
        d["answered"] = s->answered;
        d["dropped"] = s->dropped;
        d["truncated"] = s->truncated;
        d["formerr"] = s->formerr;
        d["tcp_connections"] = s->tcp_connections;
        d["last_query"] = to_bytes(s->last_query.data(), s->last_query.size());
        return py::object(std::move(d));
      },
      py::arg("address"),
      "What a DNS server saw (dict: queries_udp, queries_tcp, answered, dropped, truncated, formerr, "
      "tcp_connections, last_query (bytes)); None if no such server.");
  host.def(
      "set_resolver",
      [](const HostView& h, const std::vector<std::string>& records, const std::string& quirk, bool ttl_drift,
         const py::object& delay, const py::object& rcode) {
        sim::ResolverSpec spec;
        spec.records = records;
        auto q = sim::parse_resolver_quirk(quirk);
        if (!q) raise_value_error("quirk: expected 'none', 'chain_reversed' or 'old_macos', got '" + quirk + "'");
        spec.quirk = *q;
        spec.ttl_drift = ttl_drift;
        spec.delay = duration_arg(delay, "delay").value_or(Duration::zero());
        spec.rcode = rcode_arg(rcode);
        if (auto err = h.session->host().set_resolver(std::move(spec))) raise_value_error("set_resolver: " + *err);
      },
      py::arg("records") = std::vector<std::string>{}, py::kw_only(), py::arg("quirk") = "none",
      py::arg("ttl_drift") = false, py::arg("delay") = py::none(), py::arg("rcode") = py::none(), R"doc(
Sets the host's own resolver (what the proxy asks in dns mode 'host') to answer from
`records` (record lines). quirk: 'none', 'chain_reversed' (the whole list reversed) or
'old_macos' (each chain reversed and every CNAME owner re-queried and appended, as the
old VPNKit macOS path did, vpnkit#216); ttl_drift: each repeat reports its TTL one lower.
delay: time to answer. rcode: force that rcode with no records.
)doc");
}

void bind_proxy_dns(py::module_& m) {
  auto proxy = py::reinterpret_borrow<py::class_<ProxyView>>(m.attr("Proxy"));
  proxy.def(
      "dns_status",
      [](const ProxyView& p) {
        return py::module_::import("json").attr("loads")(proxy::to_json(p.session->proxy().dns_status()).dump());
      },
      "The DNS service's state (dict: mode, inflight, upstreams: one dict per server with server, zone, "
      "group, online, consecutive_failures, queries, answers, failures).");
}

}  // namespace

void bind_dns(py::module_& m) {
  bind_query_class(m);
  bind_guest_dns(m);
  bind_host_dns(m);
  bind_proxy_dns(m);
}

}  // namespace tapwire::pybind
