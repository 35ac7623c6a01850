// Frame summaries: the frame is classified once (stack/wire/classify.h); then one
// function per layer, top down, appends to a line. Theory of operation: each layer
// function reads its fields from the classification and either appends its own words
// and hands on to the next layer, or, where the classification stopped at it, appends
// "malformed (<reason>)" and stops. Details beyond classification (TCP options, DHCP
// and DNS messages, ICMP quotes) are parsed from the classifier's views. The innermost
// layer reached names the protocol.
#include "sim/cli/frame_summary.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "stack/base/result.h"
#include "stack/wire/classify.h"
#include "stack/wire/dns.h"
#include "stack/wire/dns_text.h"

namespace tapwire::sim {

namespace {

using namespace tapwire::wire;

constexpr auto kNoVerify = ChecksumPolicy::ignore;
constexpr std::size_t kMaxDnsRecordsShown = 4;

void appendf(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string& out, const char* fmt, ...) {
  char buf[256];
  va_list args;
  va_start(args, fmt);
  const int n = std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  if (n > 0) out.append(buf, static_cast<std::size_t>(n) < sizeof buf ? static_cast<std::size_t>(n) : sizeof buf - 1);
}

// Bytes from the wire (TXT strings, host names) shown with non-printable bytes as '.'.
std::string printable(std::string_view raw, std::size_t limit) {
  std::string out;
  for (std::size_t i = 0; i < raw.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(raw[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '.';
  }
  return out;
}

void mark_malformed(FrameSummary& s, const Error& error) {
  s.text += "malformed (";
  s.text += error.reason != nullptr ? error.reason : std::string(to_string(error.code));
  s.text += ")";
  s.protocol = "malformed";
  s.malformed = true;
}

// ---- DNS ------------------------------------------------------------------------

// The rdata in a few words: TXT cut short (the full text form is wire::dns_rdata_text).
std::string short_rdata_text(const DnsRecord& record) {
  std::string out;
  if (const auto* a = std::get_if<DnsRdataA>(&record.rdata)) return a->addr.to_string();
  if (const auto* aaaa = std::get_if<DnsRdataAaaa>(&record.rdata)) {
    for (std::size_t i = 0; i < 16; i += 2) appendf(out, "%s%x", i ? ":" : "", load_be16(&aaaa->addr[i]));
    return out;
  }
  if (const auto* name = std::get_if<DnsRdataName>(&record.rdata)) return name->name.to_text();
  if (const auto* mx = std::get_if<DnsRdataMx>(&record.rdata)) return std::to_string(mx->preference) + " " + mx->exchange.to_text();
  if (const auto* txt = std::get_if<DnsRdataTxt>(&record.rdata)) {
    out = "\"" + (txt->strings.empty() ? std::string() : printable(txt->strings[0], 40)) + "\"";
    if (txt->strings.size() > 1) appendf(out, " +%zu strings", txt->strings.size() - 1);
    return out;
  }
  if (const auto* srv = std::get_if<DnsRdataSrv>(&record.rdata)) {
    appendf(out, "%u %u %u ", srv->priority, srv->weight, srv->port);
    return out + srv->target.to_text();
  }
  if (const auto* soa = std::get_if<DnsRdataSoa>(&record.rdata)) {
    out = soa->mname.to_text() + " " + soa->rname.to_text();
    appendf(out, " serial=%" PRIu32, soa->serial);
    return out;
  }
  if (const auto* raw = std::get_if<DnsRdataRaw>(&record.rdata)) {
    appendf(out, "(%zu bytes)", raw->bytes.size());
    return out;
  }
  return out;
}

void dns_summary(FrameSummary& s, Bytes payload) {
  auto message = DnsMessage::parse(payload);
  if (!message.ok()) {
    s.text += "DNS ";
    mark_malformed(s, message.error());
    return;
  }
  const DnsHeader& h = message->header;
  appendf(s.text, "DNS %s id=0x%04x", h.qr ? "response" : "query", h.id);
  if (h.opcode != dns_opcode::QUERY) appendf(s.text, " opcode=%u", h.opcode);
  if (h.qr) s.text += " " + wire::dns_rcode_text(h.rcode);
  if (h.tc) s.text += " TC";
  for (std::size_t i = 0; i < message->questions.size(); ++i) {
    const DnsQuestion& q = message->questions[i];
    s.text += (i == 0 ? " " : ", ") + wire::dns_type_text(q.qtype) + "? " + q.name.to_text();
  }
  std::size_t shown = 0;
  for (const DnsRecord& r : message->answers) {
    if (shown == kMaxDnsRecordsShown) break;
    s.text += (shown++ == 0 ? ": " : ", ") + wire::dns_type_text(r.type) + " " + short_rdata_text(r);
  }
  if (message->answers.size() > shown) appendf(s.text, " +%zu more", message->answers.size() - shown);
  if (!message->authority.empty()) appendf(s.text, " ns=%zu", message->authority.size());
  std::size_t additional = 0;
  for (const DnsRecord& r : message->additional) additional += r.type == dns_type::OPT ? 0 : 1;
  if (additional != 0) appendf(s.text, " ar=%zu", additional);
  if (auto edns = message->edns()) appendf(s.text, " edns=%u%s", edns->udp_payload_size, edns->dnssec_ok() ? "+DO" : "");
  s.protocol = "DNS";
}

// ---- DHCP -----------------------------------------------------------------------

const char* dhcp_type_name(DhcpMessageType type) {
  switch (type) {
    case DhcpMessageType::discover: return "DISCOVER";
    case DhcpMessageType::offer: return "OFFER";
    case DhcpMessageType::request: return "REQUEST";
    case DhcpMessageType::decline: return "DECLINE";
    case DhcpMessageType::ack: return "ACK";
    case DhcpMessageType::nak: return "NAK";
    case DhcpMessageType::release: return "RELEASE";
    case DhcpMessageType::inform: return "INFORM";
  }
  return nullptr;
}

void dhcp_summary(FrameSummary& s, const FrameClass& c) {
  if (!c.dhcp) {
    s.text += "DHCP ";
    mark_malformed(s, *c.error);
    return;
  }
  auto repr = DhcpRepr::parse(*c.dhcp);
  if (!repr.ok()) {
    s.text += "DHCP ";
    mark_malformed(s, repr.error());
    return;
  }
  const DhcpOptions& o = repr->options;
  if (!o.message_type) {
    s.text += repr->op == DhcpOp::request ? "BOOTP request" : "BOOTP reply";
  } else if (const char* name = dhcp_type_name(*o.message_type)) {
    s.text += "DHCP ";
    s.text += name;
  } else {
    appendf(s.text, "DHCP type=%u", static_cast<unsigned>(*o.message_type));
  }
  appendf(s.text, " xid=0x%08" PRIx32, repr->xid);
  s.text += " chaddr=" + repr->client_mac().to_string();
  if (!repr->yiaddr.is_unspecified()) s.text += " yiaddr=" + repr->yiaddr.to_string();
  if (!repr->ciaddr.is_unspecified()) s.text += " ciaddr=" + repr->ciaddr.to_string();
  if (o.requested_ip) s.text += " requested=" + o.requested_ip->to_string();
  if (o.server_id) s.text += " server=" + o.server_id->to_string();
  if (o.lease_time) appendf(s.text, " lease=%" PRIu32 "s", *o.lease_time);
  if (o.host_name) s.text += " hostname=" + printable(*o.host_name, 32);
  s.protocol = "DHCP";
}

// ---- transports ------------------------------------------------------------------

std::string endpoint(Ipv4Addr addr, std::uint16_t port) { return addr.to_string() + ":" + std::to_string(port); }

void udp_summary(FrameSummary& s, const FrameClass& c) {
  if (!c.udp) {
    s.text += "IPv4 " + c.src.to_string() + " > " + c.dst.to_string() + " UDP ";
    mark_malformed(s, *c.error);
    return;
  }
  s.text += "IPv4 " + endpoint(c.src, c.sport) + " > " + endpoint(c.dst, c.dport) + " ";
  if (c.has_port(kDhcpServerPort) || c.has_port(kDhcpClientPort)) return dhcp_summary(s, c);
  if (c.has_port(53)) return dns_summary(s, c.payload);
  appendf(s.text, "UDP len=%zu", c.payload.size());
  s.protocol = "UDP";
}

std::string tcp_flag_text(std::uint8_t flags) {
  std::string out = "[";
  if (flags & tcp_flags::SYN) out += 'S';
  if (flags & tcp_flags::FIN) out += 'F';
  if (flags & tcp_flags::RST) out += 'R';
  if (flags & tcp_flags::PSH) out += 'P';
  if (flags & tcp_flags::URG) out += 'U';
  if (flags & tcp_flags::ECE) out += 'E';
  if (flags & tcp_flags::CWR) out += 'W';
  if (flags & tcp_flags::ACK) out += '.';
  if (out.size() == 1) out += "none";
  return out + "]";
}

void tcp_summary(FrameSummary& s, const FrameClass& c) {
  if (!c.tcp) {
    s.text += "IPv4 " + c.src.to_string() + " > " + c.dst.to_string() + " TCP ";
    mark_malformed(s, *c.error);
    return;
  }
  s.text += "IPv4 " + endpoint(c.src, c.sport) + " > " + endpoint(c.dst, c.dport) + " TCP ";
  auto repr = TcpRepr::parse(*c.tcp, c.src, c.dst, kNoVerify);
  if (!repr.ok()) {
    mark_malformed(s, repr.error());
    return;
  }
  const TcpRepr& t = *repr;
  s.text += tcp_flag_text(t.flags);
  appendf(s.text, " seq=%" PRIu32, t.seq);
  if (t.has(tcp_flags::ACK)) appendf(s.text, " ack=%" PRIu32, t.ack);
  appendf(s.text, " win=%u", t.window);
  const TcpOptions& o = t.options;
  if (o.mss) appendf(s.text, " mss=%u", *o.mss);
  if (o.window_scale) appendf(s.text, " wscale=%u", *o.window_scale);
  if (o.sack_permitted) s.text += " sackOK";
  if (o.timestamps) appendf(s.text, " ts=%" PRIu32 "/%" PRIu32, o.timestamps->value, o.timestamps->echo);
  for (std::uint8_t i = 0; i < o.sack_count; ++i)
    appendf(s.text, "%s%" PRIu32 "-%" PRIu32, i == 0 ? " sack=" : ",", o.sack[i].left, o.sack[i].right);
  if (o.unknown_len != 0) appendf(s.text, " opts+%u", o.unknown_len);
  appendf(s.text, " len=%zu", t.payload.size());
  s.protocol = "TCP";
}

// "TCP 192.168.65.3:40000 > 93.184.216.34:443" for the datagram an ICMP error quotes.
std::string quoted_text(Bytes quoted) {
  auto packet = Ipv4Packet::check_quoted(quoted);
  if (!packet.ok()) return "unparseable datagram";
  const Bytes l4 = packet->payload();
  const char* proto = packet->protocol() == ip_proto::tcp ? "TCP" : packet->protocol() == ip_proto::udp ? "UDP" : nullptr;
  if (proto != nullptr && l4.size() >= 4 && !packet->is_fragment())
    return std::string(proto) + " " + endpoint(packet->src(), load_be16(l4.data())) + " > " +
           endpoint(packet->dst(), load_be16(l4.data() + 2));
  return "proto " + std::to_string(packet->protocol()) + " " + packet->src().to_string() + " > " + packet->dst().to_string();
}

void icmp_summary(FrameSummary& s, const FrameClass& c) {
  s.text += "IPv4 " + c.src.to_string() + " > " + c.dst.to_string() + " ICMP ";
  if (!c.icmp) return mark_malformed(s, *c.error);
  auto repr = IcmpRepr::parse(*c.icmp, kNoVerify);
  if (!repr.ok()) return mark_malformed(s, repr.error());
  const IcmpRepr& m = *repr;
  if (m.is_echo()) {
    appendf(s.text, "echo %s id=%u seq=%u len=%zu", m.type == icmp_type::echo_request ? "request" : "reply",
            m.echo_id, m.echo_seq, m.data.size());
  } else if (m.type == icmp_type::dest_unreachable) {
    switch (m.code) {
      case icmp_unreach::net: s.text += "net-unreachable"; break;
      case icmp_unreach::host: s.text += "host-unreachable"; break;
      case icmp_unreach::protocol: s.text += "protocol-unreachable"; break;
      case icmp_unreach::port: s.text += "port-unreachable"; break;
      case icmp_unreach::frag_needed: appendf(s.text, "frag-needed mtu=%u", m.next_hop_mtu); break;
      case icmp_unreach::admin_prohibited: s.text += "admin-prohibited"; break;
      default: appendf(s.text, "unreachable code=%u", m.code); break;
    }
    s.text += " (quoting " + quoted_text(m.quoted()) + ")";
  } else if (m.type == icmp_type::time_exceeded) {
    s.text += m.code == icmp_time_exceeded::reassembly ? "time-exceeded reassembly" : "time-exceeded ttl";
    s.text += " (quoting " + quoted_text(m.quoted()) + ")";
  } else {
    appendf(s.text, "type=%u code=%u len=%zu", m.type, m.code, m.data.size());
  }
  s.protocol = "ICMP";
}

void ipv4_summary(FrameSummary& s, const FrameClass& c) {
  if (!c.ipv4) {
    s.text += "IPv4 ";
    return mark_malformed(s, *c.error);
  }
  if (c.fragment) {
    appendf(s.text, "IPv4 %s > %s frag id=0x%04x off=%" PRIu32 "%s proto=%u len=%zu", c.src.to_string().c_str(),
            c.dst.to_string().c_str(), c.ipv4->ident(), c.frag_offset, c.ipv4->more_frags() ? " MF" : "", c.ip_proto,
            c.l4.size());
    s.protocol = "IPv4-fragment";
    return;
  }
  switch (c.ip_proto) {
    case ip_proto::tcp: return tcp_summary(s, c);
    case ip_proto::udp: return udp_summary(s, c);
    case ip_proto::icmp: return icmp_summary(s, c);
    default:
      appendf(s.text, "IPv4 %s > %s proto=%u len=%zu", c.src.to_string().c_str(), c.dst.to_string().c_str(),
              c.ip_proto, c.l4.size());
      s.protocol = "IPv4";
  }
}

void arp_summary(FrameSummary& s, const FrameClass& c) {
  s.text += "ARP ";
  if (!c.arp) return mark_malformed(s, *c.error);
  if (c.arp->op == ArpOp::request)
    s.text += "who-has " + c.arp->target_ip.to_string() + " tell " + c.arp->sender_ip.to_string();
  else
    s.text += c.arp->sender_ip.to_string() + " is-at " + c.arp->sender_mac.to_string();
  s.protocol = "ARP";
}

}  // namespace

FrameSummary summarize_frame(Bytes frame) {
  FrameSummary s;
  s.protocol = "other";
  const FrameClass c = classify_frame(frame);
  if (!c.ethernet) {
    mark_malformed(s, *c.error);
    return s;
  }
  s.text = c.src_mac.to_string() + " > " + c.dst_mac.to_string() + " ";
  if (c.vlan) appendf(s.text, "vlan %u ", c.vlan->id);
  switch (c.ethertype) {
    case kEthertypeArp: arp_summary(s, c); break;
    case kEthertypeIpv4: ipv4_summary(s, c); break;
    default: appendf(s.text, "ethertype 0x%04x len=%zu", c.ethertype, c.l3.size()); break;
  }
  return s;
}

std::string format_timestamp(std::int64_t ns) {
  char buf[40];
  const char* sign = ns < 0 ? "-" : "";
  const std::uint64_t magnitude = ns < 0 ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
  std::snprintf(buf, sizeof buf, "%s%" PRIu64 ".%09" PRIu64, sign, magnitude / 1'000'000'000u, magnitude % 1'000'000'000u);
  return buf;
}

}  // namespace tapwire::sim
