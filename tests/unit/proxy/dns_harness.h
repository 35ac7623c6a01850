// Helpers for the DNS service's tests through the whole Proxy: queries from the guest
// over UDP and TCP, the replies it gets, and the upstream side played on FakeHostNet.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "stack/proxy/dns_forwarder.h"
#include "stack/wire/dns.h"
#include "tests/unit/proxy/proxy_harness.h"

namespace tapwire::proxy::dns_test {

using namespace harness;
using wire::DnsMessage;
using wire::DnsName;
using wire::DnsRecord;
using Kind = fakes::FakeHostNet::Kind;
namespace dns_type = wire::dns_type;
namespace dns_rcode = wire::dns_rcode;

inline DnsName name(std::string_view text) { return *DnsName::parse_text(text); }

inline std::vector<std::uint8_t> query(std::uint16_t id, std::string_view qname, std::uint16_t qtype) {
  return DnsMessage::make_query(id, name(qname), qtype).encode();
}

inline DnsMessage parse(Bytes bytes) {
  auto m = DnsMessage::parse(bytes);
  BOOST_REQUIRE(m.ok());
  return *m;
}

// What the upstream side has seen is looked at from the latest query on: the
// forwarder reuses idle sockets, so a socket may carry an earlier query's datagrams.
inline std::uint64_t upstream_mark = 0;

// Sends one UDP datagram from the guest's port `sport` to gateway:53.
inline void send_udp(Harness& h, const std::vector<std::uint8_t>& q, std::uint16_t sport = 5555) {
  upstream_mark = h.host.udp_sends();
  h.raw(fakes::guest_udp_frame(kGuestIp, sport, kGatewayIp, 53, Bytes(q.data(), q.size())));
}

// The UDP payloads the proxy sent to the guest's port `sport` since the last call
// (other frames are kept).
inline std::vector<std::vector<std::uint8_t>> udp_replies(Harness& h, std::uint16_t sport = 5555) {
  std::vector<std::vector<std::uint8_t>> out;
  std::vector<Frame> rest;
  for (const Frame& f : h.other) {
    const fakes::ParsedUdp u = fakes::parse_udp_frame(f);
    if (u.dst_port != sport) {
      rest.push_back(f);
      continue;
    }
    BOOST_REQUIRE_EQUAL(u.src_port, 53);
    BOOST_REQUIRE(u.frame.ip.src == kGatewayIp);
    out.push_back(u.payload);
  }
  h.other = std::move(rest);
  return out;
}

// Asks over UDP and returns the parsed replies that came at once.
inline std::vector<DnsMessage> ask_udp(Harness& h, const std::vector<std::uint8_t>& q, std::uint16_t sport = 5555) {
  h.other.clear();
  send_udp(h, q, sport);
  std::vector<DnsMessage> out;
  for (const auto& bytes : udp_replies(h, sport)) out.push_back(parse(Bytes(bytes.data(), bytes.size())));
  return out;
}

// A TCP message with its 2-byte length (RFC 1035 §4.2.2).
inline std::vector<std::uint8_t> framed(const std::vector<std::uint8_t>& message) {
  std::vector<std::uint8_t> out;
  wire::dns_tcp_append(out, Bytes(message.data(), message.size()));
  return out;
}

// Splits a TCP byte stream into its framed messages (nothing may be left over).
inline std::vector<DnsMessage> unframe(const Frame& stream) {
  std::vector<DnsMessage> out;
  std::size_t at = 0;
  while (const auto message = wire::dns_tcp_next(Bytes(stream.data(), stream.size()), at)) out.push_back(parse(*message));
  BOOST_REQUIRE_EQUAL(at, stream.size());
  return out;
}

// --- the upstream side ---

inline host::Endpoint upstream(std::string_view ip, std::uint16_t port = 53) {
  return host::Endpoint{*wire::Ipv4Addr::parse(ip), port};
}

inline DnsUpstreamGroup group(std::string_view text) { return *DnsUpstreamGroup::parse(text); }

// The open upstream sockets of the given kind, oldest first.
inline std::vector<host::Handle> open_sockets(Harness& h, fakes::FakeHostNet::Kind kind) {
  std::vector<host::Handle> out;
  for (host::Handle s : h.host.opened())
    if (h.host.is_open(s) && h.host.socket(s)->kind == kind) out.push_back(s);
  return out;
}

// The open upstream UDP sockets that sent something after `since` (default: since the
// latest query was sent).
inline std::vector<host::Handle> query_sockets(Harness& h, std::optional<std::uint64_t> since = std::nullopt) {
  std::vector<host::Handle> out;
  for (host::Handle s : open_sockets(h, Kind::udp)) {
    const auto& sent = h.host.socket(s)->udp_out;
    if (!sent.empty() && sent.back().seq > since.value_or(upstream_mark)) out.push_back(s);
  }
  return out;
}

// No leaks, and the only host sockets left open are the forwarder's unused spares.
inline void check_no_leaks_but_spares(Harness& h) {
  h.check_no_leaks();
  BOOST_CHECK_EQUAL(h.proxy.dns_status().inflight, 0u);
  BOOST_CHECK_EQUAL(h.host.open_count(), open_sockets(h, Kind::udp).size());
  BOOST_CHECK_LE(h.host.open_count(), DnsForwarder::kSpareSockets);
}

// The datagrams sent on `socket` to `to` since the latest query.
inline std::vector<Frame> sent_to(Harness& h, host::Handle socket, host::Endpoint to) {
  std::vector<Frame> out;
  for (const auto& d : h.host.socket(socket)->udp_out)
    if (d.peer == to && d.seq > upstream_mark) out.push_back(d.bytes);
  return out;
}

// An upstream's reply to the query bytes `sent` (its id and question), with `answers`.
inline std::vector<std::uint8_t> reply_to(const Frame& sent, std::vector<DnsRecord> answers,
                                          std::uint8_t rcode = wire::dns_rcode::NOERROR) {
  DnsMessage r = DnsMessage::make_response(parse(Bytes(sent.data(), sent.size())), rcode);
  r.header.ra = true;
  r.answers = std::move(answers);
  return r.encode();
}

inline DnsRecord a(std::string_view owner, std::string_view ip, std::uint32_t ttl = 60) {
  return DnsRecord::a(name(owner), ttl, *wire::Ipv4Addr::parse(ip));
}
inline DnsRecord cname(std::string_view owner, std::string_view target, std::uint32_t ttl = 60) {
  return DnsRecord::cname(name(owner), ttl, name(target));
}

}  // namespace tapwire::proxy::dns_test
