#include "stack/proxy/dns_reply.h"

#include <algorithm>

namespace tapwire::proxy {

std::vector<std::uint8_t> dns_bare_reply(std::uint16_t id, std::uint16_t flags, std::uint8_t rcode) {
  wire::DnsMessage m;
  m.header = wire::DnsHeader::from_flags(id, flags);
  m.header.qr = true;
  m.header.aa = false;
  m.header.tc = false;
  m.header.ra = false;
  m.header.ad = false;
  m.header.rcode = rcode;
  return m.encode();
}

wire::DnsMessage dns_local_reply(const wire::DnsMessage& query, std::uint8_t rcode) {
  wire::DnsMessage reply = wire::DnsMessage::make_response(query, rcode);
  reply.header.ra = true;
  if (query.edns()) {
    wire::DnsEdns ours;  // RFC 6891 §6.1.1: a responder that understands EDNS answers with an OPT
    reply.additional.push_back(ours.to_record());
  }
  return reply;
}

std::size_t dns_udp_limit(const wire::DnsMessage& query) {
  std::size_t limit = wire::kDnsUdpLimit;
  if (auto edns = query.edns()) limit = std::max<std::size_t>(limit, edns->udp_payload_size);
  return limit;
}

std::optional<std::vector<std::uint8_t>> dns_fit(std::vector<std::uint8_t> reply, std::size_t limit) {
  if (reply.size() <= limit) return reply;
  auto parsed = wire::DnsMessage::parse(Bytes(reply.data(), reply.size()));
  if (!parsed) return std::nullopt;
  auto cut = parsed->encode_limited(limit);
  if (!cut) return std::nullopt;
  return std::move(*cut);
}

bool dns_truncated(Bytes message) { return message.size() >= 3 && (message[2] & 0x02) != 0; }

std::uint8_t dns_rcode_of(Bytes message) {
  return message.size() >= 4 ? static_cast<std::uint8_t>(message[3] & 0x0f) : wire::dns_rcode::SERVFAIL;
}

bool dns_server_failed(Bytes reply) {
  const std::uint8_t rcode = dns_rcode_of(reply);
  return rcode == wire::dns_rcode::SERVFAIL || rcode == wire::dns_rcode::REFUSED;
}

Result<std::vector<std::uint8_t>, UpstreamReplyProblem> dns_relay(Bytes upstream_reply, std::uint16_t sent_id,
                                                                  const wire::DnsMessage& client) {
  auto view = wire::DnsMessageView::check(upstream_reply);
  if (!view) return UpstreamReplyProblem::malformed;
  if (view->id() != sent_id || (view->flags() & 0x8000) == 0 || view->qdcount() != 1) {
    return UpstreamReplyProblem::not_ours;
  }
  auto parsed = wire::DnsMessage::parse(*view);
  if (!parsed) return UpstreamReplyProblem::malformed;
  const wire::DnsQuestion& ours = client.questions.at(0);
  const wire::DnsQuestion& theirs = parsed->questions[0];
  if (!(theirs.name == ours.name) || theirs.qtype != ours.qtype || theirs.qclass != ours.qclass) {
    return UpstreamReplyProblem::not_ours;
  }
  std::vector<std::uint8_t> out(upstream_reply.begin(), upstream_reply.end());
  store_be16(out.data(), client.header.id);
  // The question name sits uncompressed at offset 12 in every sane reply (DnsName keeps
  // the bytes it was decoded from); then they become the client's own bytes, which
  // differ at most in letter case.
  const Bytes theirs_wire = theirs.name.wire();
  if (out.size() >= wire::kDnsHeaderLen + theirs_wire.size() &&
      std::equal(theirs_wire.begin(), theirs_wire.end(), out.begin() + wire::kDnsHeaderLen)) {
    const Bytes name = ours.name.wire();
    std::copy(name.begin(), name.end(), out.begin() + wire::kDnsHeaderLen);
  }
  return out;
}

}  // namespace tapwire::proxy
