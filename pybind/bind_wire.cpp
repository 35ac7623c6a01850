// tapwire.wire: packet formats from Python, through stack/wire's views and Reprs (the
// same parsers and emitters the proxy uses). parse() turns an Ethernet frame into a
// nested dict of its layers; the builders emit common frames as bytes. Bytes in and
// out, so scapy packets can be injected (bytes(pkt)) and captured frames decoded.
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pybind11/stl.h>

#include "pybind/bindings.h"
#include "stack/wire/arp.h"
#include "stack/wire/classify.h"
#include "stack/wire/dhcp.h"
#include "stack/wire/dns.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

namespace tapwire::pybind {

namespace {

using namespace tapwire::wire;

constexpr char kFlagLetters[] = "FSRPAUEC";  // bit 0 (FIN) .. bit 7 (CWR)

std::string flags_text(std::uint8_t flags) {
  std::string out;
  for (int bit = 0; bit < 8; ++bit)
    if (flags & (1u << bit)) out += kFlagLetters[bit];
  return out;
}

std::uint8_t flags_arg(const std::string& text) {
  std::uint8_t flags = 0;
  for (char c : text) {
    const char* p = std::strchr(kFlagLetters, c >= 'a' && c <= 'z' ? c - 32 : c);
    if (c == '\0' || p == nullptr) raise_value_error("flags: expected TCP flag letters from 'FSRPAUEC', got '" + text + "'");
    flags = static_cast<std::uint8_t>(flags | (1u << (p - kFlagLetters)));
  }
  return flags;
}

MacAddr mac_arg(const std::string& text, const char* what) {
  auto mac = MacAddr::parse(text);
  if (!mac) raise_value_error(std::string(what) + ": expected a MAC like '02:50:00:00:00:10', got '" + text + "'");
  return *mac;
}

py::bytes b(Bytes data) { return to_bytes(data.data(), data.size()); }


Bytes view_of(const std::string& s) { return Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }

// Records "layer: reason" for the first layer that did not parse.
void set_error(py::dict& out, std::string_view layer, const Error& e) {
  if (!out.contains("error")) out["error"] = std::string(layer) + ": " + e.reason;
}
// The same for the layer where classification stopped.
void set_error(py::dict& out, const FrameClass& c) { set_error(out, to_string(c.stopped_at), *c.error); }

py::dict tcp_options_dict(const TcpOptions& o) {
  py::dict d;
  d["mss"] = o.mss ? py::object(py::int_(*o.mss)) : py::none();
  d["wscale"] = o.window_scale ? py::object(py::int_(*o.window_scale)) : py::none();
  d["sack_permitted"] = o.sack_permitted;
  py::list sack;
  for (std::uint8_t i = 0; i < o.sack_count; ++i) sack.append(py::make_tuple(o.sack[i].left, o.sack[i].right));
  d["sack"] = sack;
  d["timestamps"] = o.timestamps ? py::object(py::make_tuple(o.timestamps->value, o.timestamps->echo)) : py::none();
  return d;
}

std::string dns_rdata_text(const DnsRecord& r) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, DnsRdataA>) return v.addr.to_string();
        else if constexpr (std::is_same_v<T, DnsRdataName>) return v.name.to_text();
        else if constexpr (std::is_same_v<T, DnsRdataMx>) return std::to_string(v.preference) + " " + v.exchange.to_text();
        else if constexpr (std::is_same_v<T, DnsRdataSrv>)
          return std::to_string(v.priority) + " " + std::to_string(v.weight) + " " + std::to_string(v.port) + " " +
                 v.target.to_text();
        else if constexpr (std::is_same_v<T, DnsRdataTxt>) {
          std::string s;
          for (const auto& t : v.strings) s += (s.empty() ? "" : " ") + t;
          return s;
        } else {
          return "";
        }
      },
      r.rdata);
}

py::list dns_records(const std::vector<DnsRecord>& records) {
  py::list out;
  for (const DnsRecord& r : records) {
    py::dict d;
    d["name"] = r.name.to_text();
    d["type"] = r.type;
    d["class"] = r.rclass;
    d["ttl"] = r.ttl;
    d["data"] = dns_rdata_text(r);
    d["rdata"] = b(Bytes(r.rdata_wire().data(), r.rdata_wire().size()));
    out.append(d);
  }
  return out;
}

void parse_dns(py::dict& out, Bytes payload) {
  auto msg = DnsMessage::parse(payload);
  if (!msg.ok()) return set_error(out, "dns", msg.error());
  const DnsMessage& m = msg.value();
  py::dict d;
  d["id"] = m.header.id;
  d["qr"] = m.header.qr;
  d["opcode"] = m.header.opcode;
  d["aa"] = m.header.aa;
  d["tc"] = m.header.tc;
  d["rd"] = m.header.rd;
  d["ra"] = m.header.ra;
  d["rcode"] = m.header.rcode;
  py::list qs;
  for (const DnsQuestion& q : m.questions) {
    py::dict qd;
    qd["name"] = q.name.to_text();
    qd["type"] = q.qtype;
    qd["class"] = q.qclass;
    qs.append(qd);
  }
  d["questions"] = qs;
  d["answers"] = dns_records(m.answers);
  d["authority"] = dns_records(m.authority);
  d["additional"] = dns_records(m.additional);
  out["dns"] = d;
}

void parse_dhcp(py::dict& out, const FrameClass& c) {
  if (!c.dhcp) return set_error(out, c);
  auto repr = DhcpRepr::parse(*c.dhcp);
  if (!repr.ok()) return set_error(out, "dhcp", repr.error());
  const DhcpRepr& r = repr.value();
  const DhcpOptions& o = r.options;
  py::dict d;
  d["op"] = r.op == DhcpOp::request ? "request" : "reply";
  d["xid"] = r.xid;
  d["flags"] = r.flags;
  d["ciaddr"] = r.ciaddr.to_string();
  d["yiaddr"] = r.yiaddr.to_string();
  d["siaddr"] = r.siaddr.to_string();
  d["giaddr"] = r.giaddr.to_string();
  d["client_mac"] = r.client_mac().to_string();
  static const char* const kTypes[] = {"?", "discover", "offer", "request", "decline", "ack", "nak", "release", "inform"};
  if (o.message_type) {
    const auto t = static_cast<unsigned>(*o.message_type);
    d["message_type"] = t < 9 ? py::object(py::str(kTypes[t])) : py::object(py::int_(t));
  } else {
    d["message_type"] = py::none();
  }
  auto ip_or_none = [](const std::optional<Ipv4Addr>& a) { return a ? py::object(py::str(a->to_string())) : py::none(); };
  d["subnet_mask"] = ip_or_none(o.subnet_mask);
  std::vector<std::string> routers, dns;
  for (const auto& a : o.routers) routers.push_back(a.to_string());
  for (const auto& a : o.dns_servers) dns.push_back(a.to_string());
  d["routers"] = routers;
  d["dns_servers"] = dns;
  d["domain_name"] = o.domain_name;
  d["interface_mtu"] = o.interface_mtu;
  d["lease_time"] = o.lease_time;
  d["server_id"] = ip_or_none(o.server_id);
  d["requested_ip"] = ip_or_none(o.requested_ip);
  out["dhcp"] = d;
}

void parse_ipv4(py::dict& out, const FrameClass& c) {
  if (!c.ipv4) return set_error(out, c);
  const Ipv4Packet& p = *c.ipv4;
  py::dict ip;
  ip["src"] = p.src().to_string();
  ip["dst"] = p.dst().to_string();
  ip["protocol"] = p.protocol();
  ip["ttl"] = p.ttl();
  ip["ident"] = p.ident();
  ip["df"] = p.dont_frag();
  ip["mf"] = p.more_frags();
  ip["frag_offset"] = p.frag_offset();
  ip["header_len"] = p.header_len();
  ip["total_len"] = p.total_len();
  ip["dscp"] = p.dscp();
  ip["ecn"] = p.ecn();
  ip["checksum_ok"] = p.verify_checksum();
  out["ipv4"] = ip;
  if (c.fragment) return;  // the transport header is not (all) here
  switch (c.ip_proto) {
    case ip_proto::tcp: {
      if (!c.tcp) return set_error(out, c);
      auto r = TcpRepr::parse(*c.tcp, c.src, c.dst, ChecksumPolicy::verify);
      const bool checksum_ok = r.ok();
      if (!r.ok()) r = TcpRepr::parse(*c.tcp, c.src, c.dst, ChecksumPolicy::ignore);
      if (!r.ok()) return set_error(out, "tcp", r.error());
      const TcpRepr& t = r.value();
      py::dict d;
      d["sport"] = t.src_port;
      d["dport"] = t.dst_port;
      d["seq"] = t.seq;
      d["ack"] = t.ack;
      d["flags"] = flags_text(t.flags);
      d["window"] = t.window;
      d["urgent"] = t.urgent;
      d["header_len"] = t.header_len();
      d["options"] = tcp_options_dict(t.options);
      d["payload"] = b(t.payload);
      d["checksum_ok"] = checksum_ok;
      out["tcp"] = d;
      return;
    }
    case ip_proto::udp: {
      if (!c.udp) return set_error(out, c);
      auto r = UdpRepr::parse(*c.udp, c.src, c.dst, ChecksumPolicy::verify);
      const bool checksum_ok = r.ok();
      if (!r.ok()) r = UdpRepr::parse(*c.udp, c.src, c.dst, ChecksumPolicy::ignore);
      if (!r.ok()) return set_error(out, "udp", r.error());
      const UdpRepr& u = r.value();
      py::dict d;
      d["sport"] = u.src_port;
      d["dport"] = u.dst_port;
      d["payload"] = b(u.payload);
      d["checksum_ok"] = checksum_ok;
      out["udp"] = d;
      if (c.has_port(kDhcpServerPort) || c.has_port(kDhcpClientPort)) parse_dhcp(out, c);
      else if (c.has_port(53)) parse_dns(out, u.payload);
      return;
    }
    case ip_proto::icmp: {
      if (!c.icmp) return set_error(out, c);
      auto r = IcmpRepr::parse(*c.icmp, ChecksumPolicy::verify);
      const bool checksum_ok = r.ok();
      if (!r.ok()) r = IcmpRepr::parse(*c.icmp, ChecksumPolicy::ignore);
      if (!r.ok()) return set_error(out, "icmp", r.error());
      const IcmpRepr& i = r.value();
      py::dict d;
      d["type"] = i.type;
      d["code"] = i.code;
      d["id"] = i.echo_id;
      d["seq"] = i.echo_seq;
      d["next_hop_mtu"] = i.next_hop_mtu;
      d["data"] = b(i.data);
      d["checksum_ok"] = checksum_ok;
      out["icmp"] = d;
      return;
    }
    default: return;
  }
}

py::dict parse_frame(const py::object& frame) {
  const std::string bytes = bytes_of(frame);
  py::dict out;
  out["len"] = bytes.size();
  const FrameClass c = classify_frame(view_of(bytes));
  if (!c.ethernet) {
    set_error(out, c);
    return out;
  }
  py::dict ed;
  ed["src"] = c.src_mac.to_string();
  ed["dst"] = c.dst_mac.to_string();
  ed["ethertype"] = c.ethertype;
  ed["vlan"] = c.vlan ? py::object(py::int_(c.vlan->id)) : py::none();
  out["ethernet"] = ed;
  if (c.ethertype == kEthertypeArp) {
    if (!c.arp) {
      set_error(out, c);
      return out;
    }
    py::dict a;
    a["op"] = c.arp->op == ArpOp::request ? "request" : "reply";
    a["sender_mac"] = c.arp->sender_mac.to_string();
    a["sender_ip"] = c.arp->sender_ip.to_string();
    a["target_mac"] = c.arp->target_mac.to_string();
    a["target_ip"] = c.arp->target_ip.to_string();
    out["arp"] = a;
  } else if (c.ethertype == kEthertypeIpv4) {
    parse_ipv4(out, c);
  }
  return out;
}

// --- builders ---

constexpr const char* kGuestMac = "02:50:00:00:00:10";    // the simulated VM's default MAC
constexpr const char* kGatewayMac = "02:50:00:00:00:01";  // the proxy's default gateway MAC

std::vector<std::uint8_t> ethernet_frame(const std::string& src_mac, const std::string& dst_mac, std::uint16_t ethertype,
                                         Bytes payload) {
  EthernetRepr e;
  e.src = mac_arg(src_mac, "src_mac");
  e.dst = mac_arg(dst_mac, "dst_mac");
  e.ethertype = ethertype;
  e.payload = payload;
  std::vector<std::uint8_t> out(e.buffer_len());
  e.emit(MutBytes(out.data(), out.size()));
  return out;
}

// An Ethernet frame carrying one IPv4 datagram whose payload `emit_l4` writes.
template <class EmitL4>
py::bytes ipv4_frame(const std::string& src, const std::string& dst, std::uint8_t proto, std::size_t l4_len,
                     EmitL4 emit_l4, int ttl, int ident, bool df, const std::string& src_mac,
                     const std::string& dst_mac) {
  Ipv4Repr ip;
  ip.src = parse_ip(src, "src");
  ip.dst = parse_ip(dst, "dst");
  ip.protocol = proto;
  ip.ttl = static_cast<std::uint8_t>(ttl);
  ip.ident = static_cast<std::uint16_t>(ident);
  ip.dont_frag = df;
  ip.payload_len = l4_len;
  if (ip.buffer_len() > kIpv4MaxTotalLen) raise_value_error("payload: the datagram exceeds 65535 bytes");
  std::vector<std::uint8_t> datagram(ip.buffer_len());
  MutBytes rest = ip.emit_header(MutBytes(datagram.data(), datagram.size()));
  emit_l4(rest.first(l4_len), ip.src, ip.dst);
  auto frame = ethernet_frame(src_mac, dst_mac, kEthertypeIpv4, Bytes(datagram.data(), datagram.size()));
  return to_bytes(frame.data(), frame.size());
}

py::bytes build_tcp(const std::string& src, const std::string& dst, int sport, int dport, const std::string& flags,
                    std::uint32_t seq, std::uint32_t ack, int window, std::optional<int> mss, std::optional<int> wscale,
                    bool sack_permitted, std::optional<std::pair<std::uint32_t, std::uint32_t>> timestamps,
                    const py::object& payload, int ttl, int ident, bool df, const std::string& src_mac,
                    const std::string& dst_mac) {
  TcpRepr t;
  t.src_port = static_cast<std::uint16_t>(sport);
  t.dst_port = static_cast<std::uint16_t>(dport);
  t.seq = seq;
  t.ack = ack;
  t.flags = flags_arg(flags);
  t.window = static_cast<std::uint16_t>(window);
  if (mss) t.options.mss = static_cast<std::uint16_t>(*mss);
  if (wscale) t.options.window_scale = static_cast<std::uint8_t>(*wscale);
  t.options.sack_permitted = sack_permitted;
  if (timestamps) t.options.timestamps = TcpTimestamps{timestamps->first, timestamps->second};
  const std::string data = bytes_of(payload);
  t.payload = view_of(data);
  return ipv4_frame(
      src, dst, ip_proto::tcp, t.buffer_len(), [&](MutBytes out, Ipv4Addr s, Ipv4Addr d) { t.emit(out, s, d); }, ttl,
      ident, df, src_mac, dst_mac);
}

}  // namespace

void bind_wire(py::module_& w) {
  w.doc() = R"doc(
Packet formats (the same parsers and emitters the proxy uses).

parse(frame) -> dict of layers: {"len", "ethernet": {src, dst, ethertype, vlan},
"arp": {...} | "ipv4": {src, dst, protocol, ttl, ident, df, mf, frag_offset,
header_len, total_len, checksum_ok}, then "tcp": {sport, dport, seq, ack, flags
("SA"), window, options: {mss, wscale, sack_permitted, sack, timestamps}, payload,
checksum_ok} | "udp": {sport, dport, payload, checksum_ok} (+ "dhcp" or "dns" on their
ports) | "icmp": {type, code, id, seq, next_hop_mtu, data}; "error": "layer: reason"
when a layer did not parse}.

Builders return whole Ethernet frames (bytes) from the VM's default MAC to the
gateway's: tcp(), tcp_syn(), udp(), icmp_echo(), arp_request(), ethernet().
)doc";
  w.def("parse", &parse_frame, py::arg("frame"),
        "Parses an Ethernet frame (bytes, or anything bytes() accepts, e.g. a scapy packet) into a "
        "nested dict of its layers (see the module docstring). Never raises on bad input: the "
        "first layer that does not parse is named in d['error'].");
  w.def("ethernet",
        [](const py::object& payload, int ethertype, const std::string& src_mac, const std::string& dst_mac) {
          const std::string p = bytes_of(payload);
          auto f = ethernet_frame(src_mac, dst_mac, static_cast<std::uint16_t>(ethertype), view_of(p));
          return to_bytes(f.data(), f.size());
        },
        py::arg("payload"), py::arg("ethertype") = kEthertypeIpv4, py::kw_only(), py::arg("src_mac") = kGuestMac,
        py::arg("dst_mac") = kGatewayMac, "An Ethernet frame around `payload` (no padding).");
  w.def("tcp", &build_tcp, py::arg("src"), py::arg("dst"), py::arg("sport"), py::arg("dport"), py::kw_only(),
        py::arg("flags") = "S", py::arg("seq") = 0, py::arg("ack") = 0, py::arg("window") = 65535,
        py::arg("mss") = py::none(), py::arg("wscale") = py::none(), py::arg("sack_permitted") = false,
        py::arg("timestamps") = py::none(), py::arg("payload") = py::bytes(), py::arg("ttl") = 64,
        py::arg("ident") = 0, py::arg("df") = true, py::arg("src_mac") = kGuestMac, py::arg("dst_mac") = kGatewayMac,
        "A TCP segment in IPv4 in Ethernet, checksums filled. flags: letters 'FSRPAUEC'; "
        "timestamps: (TSval, TSecr) or None.");
  w.def(
      "tcp_syn",
      [](const std::string& src, const std::string& dst, int sport, int dport, std::uint32_t seq,
         std::optional<int> mss, std::optional<int> wscale, bool sack_permitted,
         std::optional<std::pair<std::uint32_t, std::uint32_t>> timestamps, int window, const std::string& src_mac,
         const std::string& dst_mac) {
        return build_tcp(src, dst, sport, dport, "S", seq, 0, window, mss, wscale, sack_permitted, timestamps,
                         py::bytes(), 64, 0, true, src_mac, dst_mac);
      },
      py::arg("src"), py::arg("dst"), py::arg("sport"), py::arg("dport"), py::kw_only(), py::arg("seq") = 0,
      py::arg("mss") = py::none(), py::arg("wscale") = py::none(), py::arg("sack_permitted") = false,
      py::arg("timestamps") = py::none(), py::arg("window") = 65535, py::arg("src_mac") = kGuestMac,
      py::arg("dst_mac") = kGatewayMac, "A SYN (tcp() with flags='S'), e.g. tcp_syn(vm, dst, 40000, 80, mss=8960).");
  w.def(
      "udp",
      [](const std::string& src, const std::string& dst, int sport, int dport, const py::object& payload, int ttl,
         int ident, bool df, const std::string& src_mac, const std::string& dst_mac) {
        UdpRepr u;
        u.src_port = static_cast<std::uint16_t>(sport);
        u.dst_port = static_cast<std::uint16_t>(dport);
        const std::string data = bytes_of(payload);
        u.payload = view_of(data);
        return ipv4_frame(
            src, dst, ip_proto::udp, u.buffer_len(), [&](MutBytes out, Ipv4Addr s, Ipv4Addr d) { u.emit(out, s, d); },
            ttl, ident, df, src_mac, dst_mac);
      },
      py::arg("src"), py::arg("dst"), py::arg("sport"), py::arg("dport"), py::arg("payload") = py::bytes(),
      py::kw_only(), py::arg("ttl") = 64, py::arg("ident") = 0, py::arg("df") = false, py::arg("src_mac") = kGuestMac,
      py::arg("dst_mac") = kGatewayMac, "A UDP datagram in IPv4 in Ethernet, checksums filled.");
  w.def(
      "icmp_echo",
      [](const std::string& src, const std::string& dst, int id, int seq, const py::object& data, bool reply,
         const std::string& src_mac, const std::string& dst_mac) {
        const std::string d = bytes_of(data);
        IcmpRepr i = reply ? IcmpRepr::echo_reply(static_cast<std::uint16_t>(id), static_cast<std::uint16_t>(seq), view_of(d))
                           : IcmpRepr::echo_request(static_cast<std::uint16_t>(id), static_cast<std::uint16_t>(seq), view_of(d));
        return ipv4_frame(
            src, dst, ip_proto::icmp, i.buffer_len(), [&](MutBytes out, Ipv4Addr, Ipv4Addr) { i.emit(out); }, 64, 0,
            false, src_mac, dst_mac);
      },
      py::arg("src"), py::arg("dst"), py::kw_only(), py::arg("id") = 1, py::arg("seq") = 1,
      py::arg("data") = py::bytes(), py::arg("reply") = false, py::arg("src_mac") = kGuestMac,
      py::arg("dst_mac") = kGatewayMac, "An ICMP echo request (or reply) in IPv4 in Ethernet.");
  w.def(
      "arp_request",
      [](const std::string& sender_ip, const std::string& target_ip, const std::string& sender_mac) {
        ArpRepr a;
        a.op = ArpOp::request;
        a.sender_mac = mac_arg(sender_mac, "sender_mac");
        a.sender_ip = parse_ip(sender_ip, "sender_ip");
        a.target_ip = parse_ip(target_ip, "target_ip");
        std::vector<std::uint8_t> body(a.buffer_len());
        a.emit(MutBytes(body.data(), body.size()));
        auto f = ethernet_frame(sender_mac, "ff:ff:ff:ff:ff:ff", kEthertypeArp, Bytes(body.data(), body.size()));
        return to_bytes(f.data(), f.size());
      },
      py::arg("sender_ip"), py::arg("target_ip"), py::kw_only(), py::arg("sender_mac") = kGuestMac,
      "A broadcast ARP request 'who has target_ip, tell sender_ip'.");
  w.attr("GUEST_MAC") = kGuestMac;
  w.attr("GATEWAY_MAC") = kGatewayMac;
}

}  // namespace tapwire::pybind
