// DnsService: the DNS server on the gateway, udp/53 and tcp/53
// (docs/architecture.md §Gateway services). This first part answers the built-in
// names; a name it does not know gets SERVFAIL (no resolver is configured yet), so
// a guest fails at once instead of waiting for ICMP port unreachable.
//
// Theory of operation
// - One query per UDP datagram; over TCP, messages framed by a 2-byte length
//   (RFC 1035 §4.2.2), several per connection and pipelined, each answered as soon as
//   it is read, in order.
// - Triage (RFC 1035 §4.1.1): shorter than a header, or a response (QR=1): a
//   counted drop, no reply. A header we can read but a body we cannot parse, or a
//   question count other than one: FORMERR with the client's id (and no question).
//   An opcode other than QUERY: NOTIMP.
// - Built-in names (case-insensitive, RFC 4343): gateway.internal -> the gateway,
//   host.internal -> the host alias, vm.internal -> the address the query came
//   from (the VM's lease). Type A (or ANY) gets the A record; any other type of a
//   built-in name gets NOERROR with no answer (NODATA), never NXDOMAIN. The reply
//   echoes the id, flags RD/CD and the question bytes (letter case included), sets
//   AA; RA is clear (no recursion is offered yet).
// - Size: a UDP reply larger than the client's limit (its EDNS size, else 512) is
//   cut at a record boundary with TC=1 (DnsMessage::truncated_to); TCP replies are
//   whole.
// - TCP connections are taken while pending (the SYN-ACK goes out at once), read on
//   `readable`, closed on the guest's FIN once answered; a connection whose unread
//   bytes pass kMaxTcpPending is reset. Nothing is held beyond a connection's life.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stack/base/log.h"
#include "stack/proxy/dns_status.h"
#include "stack/proxy/flow_context.h"
#include "stack/proxy/gateway_service.h"
#include "stack/wire/dns.h"

namespace tapwire::proxy {

class DnsService final : public GatewayService {
 public:
  static constexpr std::uint16_t kPort = 53;
  // Unanswered TCP bytes a client may leave with us (two maximum-size messages).
  static constexpr std::size_t kMaxTcpPending = 2 * (65535 + 2);

  DnsService(FlowContext& ctx, Logger logger);

  std::string_view name() const override { return "dns"; }
  void on_datagram(Instant now, const wire::Ipv4Repr& ip, const wire::UdpRepr& udp, Bytes ip_payload,
                   const net::RxInfo& rx) override;
  bool on_tcp_syn(Instant now, const tcp::StackEvent& syn) override;
  void on_tcp_event(Instant now, const tcp::StackEvent& event) override;
  void shutdown(Instant now) override;
  void leaks(std::vector<std::string>& out) const override;

  enum class Transport : std::uint8_t { udp, tcp };
  // The reply to one query message from `client`, or nothing (a counted drop). Over
  // UDP it fits the client's limit (its EDNS size, else 512); over TCP it is whole.
  std::optional<std::vector<std::uint8_t>> answer(Bytes query, wire::Ipv4Addr client, Transport transport);

  DnsStatus status() const { return DnsStatus{ctx_.config.dns.mode, 0, {}}; }
  void set_upstreams(std::vector<DnsUpstreamGroup>) {}

 private:
  void read_tcp(Instant now, tcp::ConnId conn);

  FlowContext& ctx_;
  Logger log_;
  wire::DnsName gateway_name_;
  wire::DnsName host_name_;
  wire::DnsName vm_name_;
  std::unordered_map<std::uint64_t, std::vector<std::uint8_t>> tcp_pending_;  // by connection
};

}  // namespace tapwire::proxy
