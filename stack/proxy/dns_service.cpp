#include "stack/proxy/dns_service.h"

#include <algorithm>
#include <utility>

namespace tapwire::proxy {

namespace {

constexpr std::uint32_t kBuiltinTtl = 60;
constexpr std::uint16_t kQrBit = 0x8000;

wire::DnsName builtin(std::string_view text) { return *wire::DnsName::parse_text(text); }

// A reply with the client's id and flags but no question: for queries whose body we
// cannot trust (RFC 1035 §4.1.1, FORMERR).
std::vector<std::uint8_t> bare_reply(std::uint16_t id, std::uint16_t flags, std::uint8_t rcode) {
  wire::DnsMessage m;
  m.header = wire::DnsHeader::from_flags(id, flags);
  m.header.qr = true;
  m.header.aa = false;
  m.header.tc = false;
  m.header.ra = false;
  m.header.rcode = rcode;
  return m.encode();
}

}  // namespace

DnsService::DnsService(FlowContext& ctx, Logger logger)
    : ctx_(ctx),
      log_(std::move(logger)),
      gateway_name_(builtin("gateway.internal")),
      host_name_(builtin("host.internal")),
      vm_name_(builtin("vm.internal")) {}

std::optional<std::vector<std::uint8_t>> DnsService::answer(Bytes query, wire::Ipv4Addr client,
                                                            Transport transport) {
  auto view = wire::DnsMessageView::check(query);
  if (!view || (view->flags() & kQrBit) != 0) {
    ctx_.stats.drop(Drop::dns_malformed);
    return std::nullopt;
  }
  ctx_.stats.add(Counter::dns_queries);
  auto parsed = wire::DnsMessage::parse(*view);
  if (!parsed || parsed->questions.size() != 1) {
    ctx_.stats.add(Counter::dns_formerr);
    return bare_reply(view->id(), view->flags(), wire::dns_rcode::FORMERR);
  }
  const wire::DnsMessage& q = *parsed;
  if (q.header.opcode != wire::dns_opcode::QUERY) {
    ctx_.stats.add(Counter::dns_notimp);
    return bare_reply(view->id(), view->flags(), wire::dns_rcode::NOTIMP);
  }
  const wire::DnsQuestion& question = q.questions[0];
  std::optional<wire::Ipv4Addr> addr;
  if (question.name == gateway_name_) addr = ctx_.policy.gateway_ip();
  if (question.name == host_name_) addr = ctx_.policy.host_ip();
  if (question.name == vm_name_) addr = client;

  wire::DnsMessage reply = wire::DnsMessage::make_response(q);
  if (!addr) {
    // No resolver yet: a name that is not built in cannot be answered.
    reply.header.rcode = wire::dns_rcode::SERVFAIL;
    ctx_.stats.add(Counter::dns_servfail);
  } else {
    reply.header.aa = true;
    const bool wants_a = question.qclass == wire::dns_class::IN &&
                         (question.qtype == wire::dns_type::A || question.qtype == wire::dns_type::ANY);
    if (wants_a) {
      reply.answers.push_back(wire::DnsRecord::a(question.name, kBuiltinTtl, *addr));
      ctx_.stats.add(Counter::dns_builtin_answers);
    } else {
      ctx_.stats.add(Counter::dns_nodata);  // the name exists: NOERROR, no answer
    }
  }
  if (transport == Transport::tcp) return reply.encode();
  // The client's limit: its EDNS payload size (RFC 6891 §6.2.5, at least 512), else 512.
  std::size_t limit = wire::kDnsUdpLimit;
  if (auto edns = q.edns()) limit = std::max<std::size_t>(limit, edns->udp_payload_size);
  auto limited = reply.encode_limited(limit);
  if (!limited) return bare_reply(view->id(), view->flags(), wire::dns_rcode::SERVFAIL);
  if (limited->size() >= 3 && ((*limited)[2] & 0x02) != 0) ctx_.stats.add(Counter::dns_truncated);
  return std::move(*limited);
}

// ---- UDP -------------------------------------------------------------------------------------

void DnsService::on_datagram(Instant now, const wire::Ipv4Repr& ip, const wire::UdpRepr& udp, Bytes,
                             const net::RxInfo&) {
  std::optional<std::vector<std::uint8_t>> reply = answer(udp.payload, ip.src, Transport::udp);
  if (!reply) return;
  wire::UdpRepr out;
  out.src_port = kPort;
  out.dst_port = udp.src_port;
  out.payload = Bytes(reply->data(), reply->size());
  const wire::Ipv4Addr src = ctx_.policy.gateway_ip();
  const net::SendResult r = ctx_.iface.send_ipv4_fragmented(
      now, src, ip.src, wire::ip_proto::udp, out.buffer_len(), [&](MutBytes buf) { out.emit(buf, src, ip.src); });
  if (r == net::SendResult::link_full) ctx_.link.mark_full();
  if (!net::taken(r)) ctx_.stats.drop(Drop::dns_reply_failed);
}

// ---- TCP -------------------------------------------------------------------------------------

bool DnsService::on_tcp_syn(Instant, const tcp::StackEvent& syn) {
  if (!ctx_.tcp.accept_pending(syn.conn)) return false;
  tcp_pending_[slot_key(syn.conn)];
  ctx_.stats.add(Counter::dns_tcp_connections);
  return true;
}

void DnsService::on_tcp_event(Instant now, const tcp::StackEvent& event) {
  switch (event.kind) {
    case tcp::StackEvent::Kind::readable:
      read_tcp(now, event.conn);
      break;
    case tcp::StackEvent::Kind::peer_fin:
      read_tcp(now, event.conn);
      (void)ctx_.tcp.shutdown_write(event.conn);  // answered everything it sent: our FIN
      break;
    case tcp::StackEvent::Kind::closed:
      tcp_pending_.erase(slot_key(event.conn));
      (void)ctx_.tcp.close(event.conn);  // releases the slot
      break;
    default:
      break;
  }
}

void DnsService::read_tcp(Instant, tcp::ConnId conn) {
  auto it = tcp_pending_.find(slot_key(conn));
  if (it == tcp_pending_.end()) return;
  std::vector<std::uint8_t>& buf = it->second;
  std::uint8_t chunk[4096];
  for (;;) {
    auto got = ctx_.tcp.recv(conn, MutBytes(chunk, sizeof chunk));
    if (!got || *got == 0) break;
    buf.insert(buf.end(), chunk, chunk + *got);
    if (buf.size() > kMaxTcpPending) {
      ctx_.stats.drop(Drop::dns_tcp_oversized);
      tcp_pending_.erase(it);
      (void)ctx_.tcp.abort(conn);
      return;
    }
  }
  // Every complete message, in order (RFC 1035 §4.2.2: two-octet length, then the message).
  const auto endpoints = ctx_.tcp.endpoints(conn);
  const wire::Ipv4Addr client = endpoints ? endpoints->remote.ip : wire::Ipv4Addr{};
  std::size_t used = 0;
  while (buf.size() - used >= 2) {
    const std::size_t len = load_be16(buf.data() + used);
    if (buf.size() - used - 2 < len) break;
    const Bytes query(buf.data() + used + 2, len);
    used += 2 + len;
    std::optional<std::vector<std::uint8_t>> reply = answer(query, client, Transport::tcp);
    if (!reply) continue;
    std::vector<std::uint8_t> framed(2 + reply->size());
    store_be16(framed.data(), static_cast<std::uint16_t>(reply->size()));
    std::copy(reply->begin(), reply->end(), framed.begin() + 2);
    auto sent = ctx_.tcp.send(conn, Bytes(framed.data(), framed.size()));
    if (!sent || *sent != framed.size()) {
      // A client that does not read its answers: a partial reply would break the
      // framing, so the connection ends here.
      ctx_.stats.drop(Drop::dns_reply_failed);
      tcp_pending_.erase(it);
      (void)ctx_.tcp.abort(conn);
      return;
    }
  }
  buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(used));
}

void DnsService::shutdown(Instant) {
  for (const auto& [key, unused] : tcp_pending_) (void)ctx_.tcp.abort(slot_id_from_key<tcp::ConnId>(key));
  tcp_pending_.clear();
}

void DnsService::leaks(std::vector<std::string>& out) const {
  if (!tcp_pending_.empty()) out.push_back("dns: " + std::to_string(tcp_pending_.size()) + " TCP connections");
}

}  // namespace tapwire::proxy
