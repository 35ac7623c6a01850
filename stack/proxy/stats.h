// ProxyStats: the proxy's counters and its drops by named reason (docs/architecture.md §Packets: counted drops).
//
// Every counter and every drop reason is one line of the X-macro lists below: the
// enum, its name table and the report names all come from that line, so adding a
// counter is a one-line change. Counting is one array increment (net::NamedCounters):
// nothing per frame builds or looks up a string.
//
// Report names (to_map) are dotted: a counter's name as listed ("udp.flows_expired"),
// a drop reason under "drop." ("drop.udp_flow_cap"). to_map() can also fold in, at
// report time, the counters kept by the layers under the proxy so they are never
// counted twice:
//   - the NetInterface's statistics as "net.<field>" ("net.frames_in") and its drops
//     (interface, reassembly, ARP) as "drop.net.<reason>" ("drop.net.bad_checksum");
//   - the HostNet's counters as "host.<field>" ("host.open_handles").
// Frames in/out, ARP and fragmentation figures therefore live in the interface, not
// here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "stack/net/drop_counters.h"

namespace tapwire::net {
class NetInterface;
}
namespace tapwire::host {
class HostNet;
}

namespace tapwire::proxy {

// X(enumerator, "report.name")
#define TAPWIRE_PROXY_COUNTERS(X)                                          \
  /* --- DHCP server (RFC 2131) --- */                                     \
  X(dhcp_discover, "dhcp.discover")                                        \
  X(dhcp_request, "dhcp.request")                                          \
  X(dhcp_release, "dhcp.release")                                          \
  X(dhcp_decline, "dhcp.decline")                                          \
  X(dhcp_inform, "dhcp.inform")                                            \
  X(dhcp_offer, "dhcp.offer")                                              \
  X(dhcp_ack, "dhcp.ack")                                                  \
  X(dhcp_nak, "dhcp.nak")                                                  \
  X(dhcp_replies_broadcast, "dhcp.replies_broadcast")                      \
  X(dhcp_replies_unicast, "dhcp.replies_unicast")                          \
  X(dhcp_leases_reclaimed, "dhcp.leases_reclaimed")                        \
  X(dns_queries, "dns.queries")                                            \
  X(dns_nodata, "dns.nodata")                                              \
  X(dns_servfail, "dns.servfail")                                          \
  X(dns_formerr, "dns.formerr")                                            \
  X(dns_notimp, "dns.notimp")                                              \
  X(dns_truncated, "dns.truncated")                                        \
  X(dns_tcp_connections, "dns.tcp_connections")                            \
  X(dns_local_answers, "dns.local_answers")                                \
  X(dns_nxdomain, "dns.nxdomain")                                          \
  X(dns_forwarded, "dns.forwarded")                                        \
  X(dns_upstream_sent, "dns.upstream_sent")                                \
  X(dns_upstream_answers, "dns.upstream_answers")                          \
  X(dns_upstream_failures, "dns.upstream_failures")                        \
  X(dns_upstream_timeouts, "dns.upstream_timeouts")                        \
  X(dns_upstream_tcp, "dns.upstream_tcp")                                  \
  X(dns_host_lookups, "dns.host_lookups")                                  \
  /* --- ICMP echo --- */                                                  \
  X(icmp_echo_requests, "icmp.echo_requests")                              \
  X(icmp_echo_local_replies, "icmp.echo_local_replies")                    \
  X(icmp_echo_forwarded, "icmp.echo_forwarded")                            \
  X(icmp_echo_replies_from_host, "icmp.echo_replies_from_host")            \
  X(icmp_sessions_opened, "icmp.sessions_opened")                          \
  X(icmp_sessions_expired, "icmp.sessions_expired")                        \
  X(icmp_sessions_evicted, "icmp.sessions_evicted")                        \
  X(icmp_admin_prohibited_sent, "icmp.admin_prohibited_sent")              \
  /* --- UDP NAT --- */                                                    \
  X(udp_datagrams_from_guest, "udp.datagrams_from_guest")                  \
  X(udp_bytes_from_guest, "udp.bytes_from_guest")                          \
  X(udp_datagrams_to_guest, "udp.datagrams_to_guest")                      \
  X(udp_bytes_to_guest, "udp.bytes_to_guest")                              \
  X(udp_datagrams_fragmented, "udp.datagrams_fragmented")                  \
  X(udp_flows_opened, "udp.flows_opened")                                  \
  X(udp_flows_expired, "udp.flows_expired")                                \
  X(udp_flows_evicted, "udp.flows_evicted")                                \
  X(udp_flows_closed, "udp.flows_closed")                                  \
  X(udp_port_unreachable_sent, "udp.port_unreachable_sent")                \
  X(udp_admin_prohibited_sent, "udp.admin_prohibited_sent")                \
  X(udp_link_blocked, "udp.link_blocked")                                  \
  /* --- TCP forwarder --- */                                              \
  X(tcp_syn_received, "tcp.syn_received")                                  \
  X(tcp_syn_retransmit_absorbed, "tcp.syn_retransmit_absorbed")            \
  X(tcp_host_connect_ok, "tcp.host_connect_ok")                            \
  X(tcp_host_connect_refused, "tcp.host_connect_refused")                  \
  X(tcp_host_connect_timeout, "tcp.host_connect_timeout")                  \
  X(tcp_host_connect_limit, "tcp.host_connect_limit")                      \
  X(tcp_rst_to_guest, "tcp.rst_to_guest")                                  \
  X(tcp_rst_from_guest, "tcp.rst_from_guest")                              \
  X(tcp_rst_from_host, "tcp.rst_from_host")                                \
  X(tcp_gateway_port_rst, "tcp.gateway_port_rst")                          \
  X(tcp_flows_opened, "tcp.flows_opened")                                  \
  X(tcp_flows_closed, "tcp.flows_closed")                                  \
  X(tcp_flows_idle_closed, "tcp.flows_idle_closed")                        \
  X(tcp_bytes_from_guest, "tcp.bytes_from_guest")                          \
  X(tcp_bytes_to_guest, "tcp.bytes_to_guest")                              \
  X(tcp_time_wait_entered, "tcp.time_wait_entered")                      \
  /* --- port forwards, host -> guest --- */                               \
  X(fwd_tcp_accepted, "fwd.tcp_accepted")                                  \
  X(fwd_tcp_guest_connected, "fwd.tcp_guest_connected")                    \
  X(fwd_tcp_guest_refused, "fwd.tcp_guest_refused")                        \
  X(fwd_tcp_guest_timeout, "fwd.tcp_guest_timeout")                        \
  X(fwd_accept_paused, "fwd.accept_paused")                                \
  X(fwd_udp_datagrams_from_host, "fwd.udp_datagrams_from_host")            \
  X(fwd_udp_datagrams_to_host, "fwd.udp_datagrams_to_host")                \
  X(fwd_udp_flows_opened, "fwd.udp_flows_opened")

// X(enumerator): reported as "drop.<enumerator>".
#define TAPWIRE_PROXY_DROPS(X)                                                                  \
  /* --- any protocol --- */                                                                    \
  X(unknown_protocol)       /* IPv4 protocol the proxy does not terminate */                    \
  X(not_routable)           /* guest sent to 0.0.0.0, loopback or another martian destination */ \
  /* --- DHCP --- */                                                                            \
  X(bad_dhcp)               /* not a BOOTP request, bad cookie, bad options, not Ethernet */    \
  X(dhcp_no_message_type)   /* plain BOOTP (no option 53): not served */                        \
  X(dhcp_unexpected_type)   /* a server message type (OFFER, ACK, ...) from the guest */        \
  X(dhcp_other_server)      /* REQUEST naming another server id: the client chose it */         \
  X(dhcp_pool_exhausted)    /* DISCOVER, pool full, every lease held by a MAC with traffic */   \
  X(dhcp_not_bound)         /* RELEASE/DECLINE for an address the client does not hold */       \
  X(dhcp_reply_failed)      /* the reply could not be built or sent (link full, ...) */         \
  /* --- DNS --- */                                                                             \
  X(dns_malformed)          /* shorter than a DNS header, or a response: not answered */        \
  X(dns_reply_failed)       /* a reply not delivered to the guest (link full, ARP, TCP) */      \
  X(dns_tcp_oversized)      /* a TCP client's pending queries passed the per-connection cap */  \
  X(dns_inflight_limit)     /* a query over dns.max_inflight or max_inflight_per_client */      \
  X(dns_upstream_mismatch)  /* an upstream datagram with another id, question or source */      \
  X(dns_upstream_malformed) /* an upstream reply that does not parse */                         \
  X(dns_no_socket)          /* no host socket for an upstream query (fd limit): SERVFAIL */     \
  /* --- UDP --- */                                                                             \
  X(bad_udp)                /* truncated UDP header or impossible length */                    \
  X(bad_udp_checksum)       /* UDP checksum failed */                                           \
  X(udp_bad_source)         /* guest datagram from 0.0.0.0 or source port 0 */                  \
  X(udp_broadcast)          /* guest broadcast/multicast other than DHCP: not forwarded */      \
  X(udp_policy_denied)      /* destination outside allow_outbound */                            \
  X(udp_flow_cap)           /* no flow could be made (udp_max_flows is 0) */                    \
  X(udp_host_open_failed)   /* host udp_open failed (fd limit, ...) */                          \
  X(udp_host_send_failed)   /* host udp_send_to failed (would_block included) */               \
  X(udp_host_recv_failed)   /* host udp_recv_from reported an error */                         \
  X(udp_host_truncated)     /* a host datagram larger than the receive buffer */               \
  X(udp_to_guest_failed)    /* ARP unresolved or invalid: a host datagram not delivered */     \
  X(udp_pending_discarded)  /* a datagram held for link room discarded with its flow */        \
  X(gateway_port_unreachable) /* UDP to a gateway port without a service (ICMP sent) */        \
  /* --- ICMP --- */                                                                            \
  X(bad_icmp)               /* truncated ICMP or bad checksum */                               \
  X(icmp_unsupported_type)  /* anything but an echo request from the guest */                  \
  X(icmp_echo_broadcast)    /* echo request to a broadcast/multicast address: ignored */        \
  X(icmp_policy_denied)     /* echo request to a destination outside allow_outbound */         \
  X(icmp_host_open_failed)  /* host icmp_open failed (no ping sockets, fd limit) */            \
  X(icmp_host_send_failed)  /* host icmp_echo_send failed */                                    \
  X(icmp_host_recv_failed)  /* host icmp_echo_recv reported an error */                        \
  X(icmp_to_guest_failed)   /* a reply not delivered to the guest (link full, ARP) */          \
  /* --- TCP forwarder --- */                                                                   \
  X(bad_tcp)                /* truncated/malformed TCP segment */                              \
  X(bad_tcp_checksum)       /* TCP checksum failed */                                           \
  X(tcp_no_flow)            /* a segment (not SYN) for no flow: answered RST or dropped */     \
  X(tcp_policy_denied)      /* SYN to a destination outside allow_outbound */                   \
  X(tcp_connection_limit)   /* SYN over the connection limit (max_connections) */               \
  X(udp_connection_limit)   /* a new UDP NAT flow over the connection limit */                  \
  X(icmp_connection_limit)  /* a new ICMP echo session over the connection limit */             \
  X(fwd_connection_limit)   /* a forwarded connection accepted over the limit: closed at once */ \
  X(fwd_accept_failed)      /* accept() on a forward's listener failed (fd limit: paused) */    \
  X(fwd_udp_send_failed)    /* a guest reply to a UDP forward client not sent by the host */    \
  X(fwd_udp_no_port)        /* no free gateway port for a new UDP forward flow */              \
  X(tcp_link_full)          /* a segment to the guest not sent: the link was full */

#define TAPWIRE_PROXY_ENUM_COUNTER(id, name) id,
#define TAPWIRE_PROXY_ENUM_DROP(id) id,

enum class Counter : std::uint16_t { TAPWIRE_PROXY_COUNTERS(TAPWIRE_PROXY_ENUM_COUNTER) count_ };
enum class Drop : std::uint16_t { TAPWIRE_PROXY_DROPS(TAPWIRE_PROXY_ENUM_DROP) count_ };

#undef TAPWIRE_PROXY_ENUM_COUNTER
#undef TAPWIRE_PROXY_ENUM_DROP

// "udp.flows_expired"; "drop" names are the bare reason ("udp_flow_cap").
std::string_view to_string(Counter counter);
std::string_view to_string(Drop reason);

class ProxyStats {
 public:
  void add(Counter c, std::uint64_t n = 1) { counters_.add(c, n); }
  void drop(Drop reason, std::uint64_t n = 1) { drops_.add(reason, n); }
  std::uint64_t get(Counter c) const { return counters_.get(c); }
  std::uint64_t get(Drop reason) const { return drops_.get(reason); }
  std::uint64_t operator[](Counter c) const { return get(c); }
  std::uint64_t operator[](Drop reason) const { return get(reason); }
  std::uint64_t total_drops() const { return drops_.total(); }

  const net::NamedCounters<Counter>& counters() const { return counters_; }
  const net::NamedCounters<Drop>& drops() const { return drops_; }
  void reset() {
    counters_.reset();
    drops_.reset();
  }

  // Every counter and drop reason by report name (zeros included, so reports and
  // expectations see a stable key set), plus, when given, the interface's and the
  // host's counters (see the header comment).
  std::map<std::string, std::uint64_t> to_map(const net::NetInterface* iface = nullptr,
                                              const host::HostNet* host = nullptr) const;

 private:
  net::NamedCounters<Counter> counters_;
  net::NamedCounters<Drop> drops_;
};

}  // namespace tapwire::proxy
