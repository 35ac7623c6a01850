// DnsService: the DNS server on the gateway, udp/53 and tcp/53 (docs/architecture.md
// §DNS). It answers the local names itself and hands every other question to the
// resolver of the configured mode (dns_resolver.h): the upstream forwarder or the
// host's resolver.
//
// Theory of operation
// - Transports. One query per UDP datagram. Over TCP, messages framed by a 2-byte
//   length (RFC 1035 §4.2.2, RFC 7766 §6.2.1), several per connection and pipelined;
//   each is answered as soon as its answer is known, so answers may come back out of
//   order (RFC 7766 §6.2.1.1). A connection is taken while pending (the SYN-ACK goes
//   out at once); the guest's FIN is answered with ours once every query read on the
//   connection has been answered; a connection whose unread bytes pass kMaxTcpPending
//   is reset.
// - Triage (RFC 1035 §4.1.1): shorter than a header, or a response (QR=1): a counted
//   drop, no reply. A readable header with a body we cannot parse, or a question count
//   other than one: FORMERR with the client's id and no question. An opcode other
//   than QUERY: NOTIMP.
// - Sources, in order: the local names (built-in names and hosts entries,
//   dns_local_names.h: authoritative, AA set), then the resolver. A query the resolver
//   takes is pending until it answers; over the limits (DnsConfig::max_inflight in
//   all, max_inflight_per_client per client address) it is dropped and counted
//   (drop.dns_inflight_limit): a stub resolver retries, and an answer that says
//   SERVFAIL would be false.
// - Size: a UDP reply larger than the client's limit (its EDNS size, else 512) is cut
//   at a record boundary with TC=1 (dns_reply.h); TCP replies are whole.
// - A client that goes away (its TCP connection closes) has its pending queries
//   cancelled in the resolver; nothing is held beyond a query's or connection's life.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stack/base/log.h"
#include "stack/base/rng.h"
#include "stack/base/slot_table.h"
#include "stack/proxy/dns_local_names.h"
#include "stack/proxy/dns_reply.h"
#include "stack/proxy/dns_resolver.h"
#include "stack/proxy/dns_status.h"
#include "stack/proxy/flow_context.h"
#include "stack/proxy/gateway_service.h"
#include "stack/wire/dns.h"

namespace tapwire::proxy {

class DnsService final : public GatewayService, private DnsAnswerSink {
 public:
  static constexpr std::uint16_t kPort = 53;
  // Unanswered TCP bytes a client may leave with us (two maximum-size messages).
  static constexpr std::size_t kMaxTcpPending = 2 * (65535 + 2);

  // `rng` draws the ids of upstream queries.
  DnsService(FlowContext& ctx, Logger logger, Rng rng);
  ~DnsService() override;

  std::string_view name() const override { return "dns"; }
  void on_datagram(Instant now, const wire::Ipv4Repr& ip, const wire::UdpRepr& udp, Bytes ip_payload,
                   const net::RxInfo& rx) override;
  bool on_tcp_syn(Instant now, const tcp::StackEvent& syn) override;
  void on_tcp_event(Instant now, const tcp::StackEvent& event) override;
  void poll(Instant now) override;
  std::optional<Instant> poll_at() const override;
  void shutdown(Instant now) override;
  void leaks(std::vector<std::string>& out) const override;

  DnsStatus status() const;
  void set_upstreams(std::vector<DnsUpstreamGroup> groups);

 private:
  struct Client {
    DnsTransport transport = DnsTransport::udp;
    wire::Ipv4Addr addr;
    std::uint16_t port = 0;  // UDP
    tcp::ConnId conn{};      // TCP
  };
  struct Pending {
    Client client;
    std::size_t udp_limit = wire::kDnsUdpLimit;
  };
  struct TcpClient {
    std::vector<std::uint8_t> unread;
    std::uint32_t pending = 0;  // queries read and not answered yet
    bool peer_fin = false;
  };

  // Triage, local names, then the resolver (see the file comment).
  void on_query(Instant now, Bytes query, const Client& client);
  void answer(Instant now, DnsQueryId id, std::vector<std::uint8_t> reply) override;
  void forget(DnsQueryId id, const Pending& p);
  void deliver(Instant now, const Client& client, std::vector<std::uint8_t> reply, std::size_t udp_limit);
  void send_udp(Instant now, const Client& client, Bytes reply);
  void send_tcp(Instant now, const Client& client, Bytes reply);
  void read_tcp(Instant now, tcp::ConnId conn);
  // Our FIN once the guest's came and every query is answered.
  void maybe_finish_tcp(tcp::ConnId conn);
  void drop_tcp_client(tcp::ConnId conn, bool reset);
  void count_reply(Bytes reply);

  FlowContext& ctx_;
  Logger log_;
  LocalNames local_;
  std::unique_ptr<DnsResolver> resolver_;
  SlotTable<Pending, DnsQueryId> pending_;
  std::unordered_map<std::uint32_t, std::uint32_t> inflight_by_client_;  // by IPv4 address
  std::unordered_map<std::uint64_t, TcpClient> tcp_clients_;           // by connection
};

}  // namespace tapwire::proxy
