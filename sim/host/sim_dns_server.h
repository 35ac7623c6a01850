// SimDnsServer: a simulated upstream DNS server at one host endpoint (ip:port), for
// the proxy's DNS forwarder to query over UDP and TCP (SimHostNet::add_dns_server).
//
// Theory of operation.
// - Records come as record lines (stack/wire/dns_text.h) and form a DnsZone
//   (dns_zone.h); every answer is the zone's answer to the one question asked.
// - The reply (RFC 1035 §4.1.1): the query's id, QR=1, opcode, RD and CD copied, RA=1,
//   AA=0, the question echoed byte for byte (DnsMessage::make_response keeps the name's
//   bytes, so 0x20-mixed case comes back as sent), the zone's rcode and records, and an
//   OPT record (UDP size 1232, DO copied) when the query carried one (RFC 6891 §7).
// - Spec knobs, applied in this order: `servfail` answers SERVFAIL with no records;
//   else `rcode` forces that rcode with no records; else the zone answers. `order`
//   arranges the final RRset (the records after the CNAME chain): as_listed, reversed,
//   or rotate, which shifts it left by one more position for every query the server
//   has answered from its zone (round-robin DNS).
// - Malformed input: fewer than 12 octets, or a message with QR=1, is ignored
//   (counted in `dropped`); a query that does not parse or does not hold exactly one
//   question gets FORMERR with the header only; an opcode other than QUERY gets NOTIMP.
// - UDP (RFC 1035 §4.2.1, RFC 6891 §6.2.5): with probability `drop` a query is ignored
//   (one draw from the server's Rng per UDP query). An answer larger than the client's
//   limit (the EDNS UDP size, at least 512; 512 without EDNS) is cut by
//   DnsMessage::truncated_to with TC=1. `truncate` always answers with TC=1 and the
//   header, question and OPT only, so the client must retry over TCP.
// - TCP (RFC 1035 §4.2.2, RFC 7766 §6.2.1): messages framed by a two-octet length.
//   Pipelined queries are answered in order, each `delay` after it was read; the
//   server closes after the client's EOF once every answer is written, and closes at
//   once on a frame too short to hold a header.
// - Timing: a datagram or segment takes the server's one-way `latency` each way (the
//   host's default_latency when unset); `delay` is added before every answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/world.h"
#include "sim/host/dns_zone.h"
#include "sim/host/tcp_apps.h"
#include "sim/host/tcp_fabric.h"
#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/base/rng.h"
#include "stack/base/time.h"
#include "stack/host/host_net.h"

namespace tapwire::sim {

enum class DnsAnswerOrder { as_listed, reversed, rotate };
std::string_view to_string(DnsAnswerOrder order);
std::optional<DnsAnswerOrder> parse_dns_answer_order(std::string_view text);

struct DnsServerSpec {
  host::Endpoint at{};                 // where it listens, UDP and TCP
  std::vector<std::string> records{};  // record lines
  DnsAnswerOrder order = DnsAnswerOrder::as_listed;
  std::optional<Duration> latency{};   // one-way; unset: SimHostConfig::default_latency
  Duration delay = Duration::zero();   // time to answer, on top of the latency
  double drop = 0.0;                   // probability a UDP query is ignored, 0..1
  bool servfail = false;
  bool truncate = false;               // every UDP answer: TC=1, no records
  std::optional<std::uint8_t> rcode{};  // forced rcode 0..15, no records
};

struct DnsServerStats {
  std::uint64_t queries_udp = 0;  // datagrams received
  std::uint64_t queries_tcp = 0;  // framed messages received
  std::uint64_t answered = 0;     // replies sent (FORMERR and NOTIMP included)
  std::uint64_t dropped = 0;      // ignored: `drop`, too short, or QR set
  std::uint64_t truncated = 0;    // UDP answers sent with TC=1
  std::uint64_t formerr = 0;
  std::uint64_t tcp_connections = 0;
  std::vector<std::uint8_t> last_query;  // the latest message, without TCP framing
};

class SimDnsServer {
 public:
  // Errors: a record line that does not parse (named by position), drop outside 0..1,
  // rcode above 15, port 0, a negative delay or latency.
  static Result<std::unique_ptr<SimDnsServer>, std::string> create(DnsServerSpec spec, Rng rng);

  const DnsServerSpec& spec() const { return spec_; }
  const DnsServerStats& stats() const { return stats_; }
  const DnsZone& zone() const { return zone_; }

  // The reply to one UDP datagram, or nullopt when the server stays silent.
  std::optional<std::vector<std::uint8_t>> on_udp_query(Bytes query);
  // The reply to one TCP message (no framing), or nullopt when the message is too
  // short to answer (the server then closes the connection).
  std::optional<std::vector<std::uint8_t>> on_tcp_query(Bytes query);

  // The app serving one accepted TCP connection at the end `end`.
  std::unique_ptr<TcpServerApp> accept_tcp(World& world, TcpFabric& fabric, EndRef end);

 private:
  SimDnsServer(DnsServerSpec spec, DnsZone zone, Rng rng);
  // limit: the most octets the reply may take (UDP), or 0 for TCP.
  std::optional<std::vector<std::uint8_t>> respond(Bytes query, std::size_t udp_limit);
  wire::DnsMessage answer(const wire::DnsMessage& query);

  DnsServerSpec spec_;
  DnsZone zone_;
  Rng rng_;
  DnsServerStats stats_;
  ServerStats conn_stats_;  // the byte counts TcpServerApp keeps for its connections
  std::uint64_t rotation_ = 0;
};

}  // namespace tapwire::sim
