// GuestVm: the simulated VM, built on our own stack (docs/architecture.md §Test bed).
//
// Theory of operation
// - Wiring. Frames leave through a FramePort on one direction of the Link (to_proxy
//   for a VM facing the proxy) and arrive through the Link's receiver of the other
//   direction, straight into NetInterface::on_frame. The VM's NetInterface (guest
//   mode: its own address once known, the gateway as next hop, ARP for it) hands
//   IPv4 to on_ipv4: TCP segments go to the VM's TcpStack (normal, non-transparent,
//   the same implementation the proxy uses), UDP to bound sockets or the DHCP client,
//   ICMP echo requests for our address are answered here, echo replies complete pings.
//   The TcpStack emits through a SegmentSink that writes each segment in place with
//   NetInterface::send_ipv4 (a full link refuses it; the stack retries later).
// - Time. The VM is a World Node: the World delivers a step's frames, then calls
//   poll(now), which runs, in order: link-writable resumption, NetInterface timers,
//   the DHCP client, pings, TCP events and the applications (GuestConnection), the DNS
//   stub (dns_stub.h: it reads what the applications drained), floods, the TcpStack,
//   the applications again (they push what the stub wrote), then raw injections still
//   waiting for link room. poll_at() is the earliest of the NetInterface's, the
//   TcpStack's, the DHCP client's, the ping timeouts', the DNS queries' and the
//   floods' deadlines, or now while applications have work.
// - Addressing. A static address is configured at construction. With DHCP the
//   interface accepts any destination until bound (the OFFER may be unicast to the
//   address we do not have yet); then the leased address, subnet and gateway are set,
//   and the MTU too when adopt_dhcp_mtu is set.
// - Determinism. Every random choice (DHCP xid, ping id, ephemeral ports, ISNs, IP
//   ident, flood source ports, DNS ids and 0x20 case) comes from world.rng(config.name)
//   ("guest" by default) and streams forked from it.
// - Floods are bounded: at most kMaxFloodCount connections or datagrams each.
// The VM registers itself with the World and the Link in its constructor and removes
// itself in its destructor.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/core/node.h"
#include "sim/core/world.h"
#include "sim/guest/dhcp_client.h"
#include "sim/guest/dns_stub.h"
#include "sim/guest/guest_connection.h"
#include "sim/guest/vm_config.h"
#include "sim/link/frame_port.h"
#include "sim/link/link.h"
#include "stack/base/result.h"
#include "stack/net/interface.h"
#include "stack/tcp/stack.h"

namespace tapwire::sim {

struct PingResult {
  wire::Ipv4Addr dst;
  std::uint16_t id = 0;
  std::uint16_t seq = 0;
  std::uint32_t size = 0;  // ICMP payload bytes (pattern)
  bool sent = false;
  bool done = false;
  bool ok = false;         // an echo reply with the same id, seq and data arrived in time
  Duration rtt{};
  Duration timeout{};
  Instant sent_at;
  Instant deadline;
};

struct GuestDatagram {
  wire::Ipv4Addr src;
  std::uint16_t src_port = 0;
  wire::Ipv4Addr dst;
  std::uint16_t dst_port = 0;
  std::vector<std::uint8_t> data;
  Instant at;
  bool reassembled = false;
};

enum class GuestFloodKind : std::uint8_t { tcp, udp };

inline constexpr std::uint64_t kMaxFloodCount = 100'000;

struct GuestFloodSpec {
  GuestFloodKind kind = GuestFloodKind::tcp;
  wire::Ipv4Addr dst;
  std::uint16_t port = 0;
  std::uint64_t count = 0;              // capped at kMaxFloodCount
  Duration interval = Duration::zero(); // between starts (0: as fast as concurrency allows)
  std::uint32_t concurrency = 0;        // tcp: connections open at once (0: unlimited)
  std::uint64_t bytes = 0;              // tcp: pattern bytes per connection; udp: payload size
  bool abandon = false;                 // tcp: send the SYN, then forget the connection
  // tcp: a connection with no outcome (done, refused, reset) this long after its start
  // is aborted and counts as timed out.
  Duration timeout = Duration::seconds(10);
};

struct GuestFloodResult {
  std::uint64_t requested = 0;  // after the cap
  bool capped = false;          // the spec asked for more than kMaxFloodCount
  std::uint64_t started = 0;    // connections opened / datagrams handed to the interface
  std::uint64_t succeeded = 0;  // tcp: established and sent everything
  std::uint64_t refused = 0;
  std::uint64_t reset = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t abandoned = 0;  // tcp abandon: SYNs sent and forgotten
  std::uint64_t failed = 0;     // local errors (no address, no ephemeral port, ...)
  bool done = false;
};

struct GuestCounters {
  std::uint64_t frames_in = 0;
  std::uint64_t frames_injected = 0;
  std::uint64_t inject_queued = 0;       // injections that waited for link room
  std::uint64_t echo_requests_answered = 0;
  std::uint64_t echo_replies_unmatched = 0;
  std::uint64_t icmp_errors_in = 0;
  std::uint64_t pings_sent = 0;
  std::uint64_t pings_ok = 0;
  std::uint64_t pings_timed_out = 0;
  std::uint64_t udp_sent = 0;
  std::uint64_t udp_received = 0;
  std::uint64_t udp_no_socket = 0;       // answered with ICMP port unreachable
  std::uint64_t udp_queue_full = 0;
  std::uint64_t tcp_segments_in = 0;
  std::uint64_t tcp_bad_segments = 0;
  std::uint64_t tcp_segments_out = 0;
  std::uint64_t tcp_segments_too_big = 0;  // the stack built a segment above the MTU (a bug)
  std::uint64_t not_for_us = 0;          // IPv4 for another address while unconfigured
  std::uint64_t link_full = 0;           // sends the link refused (retried later)
};

// Everything that must be zero (or back to its baseline) when nothing is running.
struct GuestLeakCounts {
  std::size_t tcp_connections = 0;   // live TcpStack slots
  std::size_t tcp_time_wait = 0;
  std::size_t tcp_timers = 0;
  std::size_t tcp_listeners = 0;
  std::size_t open_apps = 0;         // GuestConnections not finished
  std::size_t udp_sockets = 0;
  std::size_t pending_pings = 0;
  std::size_t pending_dns_queries = 0;
  std::size_t pending_injects = 0;
  std::size_t active_floods = 0;
  bool net_timers = false;           // NetInterface has a deadline (ARP, reassembly)
};

struct GuestConnInfo {
  std::uint32_t id = 0;
  GuestRole role = GuestRole::client;
  tcp::FourTuple endpoints{};
  std::string state;
  tcp::CloseReason reason = tcp::CloseReason::none;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_pending = 0;
  bool established = false;
  bool released = false;
  bool finished = false;
};

class GuestVm final : public Node, private net::IpHandler {
 public:
  // Sends on `send_dir` of `link` and receives on the other direction. A VM facing the
  // proxy uses the default; a test's second VM on the same link uses to_guest.
  GuestVm(World& world, Link& link, GuestVmConfig config, Direction send_dir = Direction::to_proxy);
  ~GuestVm() override;
  GuestVm(const GuestVm&) = delete;
  GuestVm& operator=(const GuestVm&) = delete;

  // --- Node ---
  void poll(Instant now) override;
  std::optional<Instant> poll_at() const override;
  std::string name() const override { return config_.name; }

  // --- configuration ---
  const GuestVmConfig& config() const { return config_; }
  std::optional<wire::Ipv4Addr> ip() const { return ip_; }
  std::size_t mtu() const { return net_.mtu(); }
  const wire::MacAddr& mac() const { return net_.mac(); }

  // --- DHCP ---
  void start_dhcp();
  const Lease& lease() const { return dhcp_.lease(); }
  const DhcpClient& dhcp() const { return dhcp_; }

  // --- ICMP echo ---
  std::uint32_t ping(wire::Ipv4Addr dst, std::uint32_t size = 56, Duration timeout = Duration::seconds(2));
  const PingResult& ping_result(std::uint32_t ping) const { return pings_.at(ping); }
  const std::vector<PingResult>& pings() const { return pings_; }

  // --- UDP ---
  // Ephemeral UDP ports: the guest's one choice of a source port nobody named (scenario
  // actions and Python alike): the lowest port from kFirstEphemeralUdpPort up that is
  // not bound. A fixed starting point, not a random one, so runs stay reproducible.
  static constexpr std::uint16_t kFirstEphemeralUdpPort = 40000;
  Status udp_bind(std::uint16_t port);
  // Binds the next free ephemeral port and returns it; Errc::limit when none is left.
  Result<std::uint16_t> udp_bind_ephemeral();
  void udp_unbind(std::uint16_t port);
  // Datagrams above the MTU are fragmented unless df (then too_big).
  net::SendResult udp_send(std::uint16_t src_port, wire::Ipv4Addr dst, std::uint16_t dst_port, Bytes data,
                           bool df = false);
  std::optional<GuestDatagram> udp_recv(std::uint16_t port);
  std::size_t udp_pending(std::uint16_t port) const;

  // --- TCP apps ---
  // A client connection (src_port 0 = ephemeral) with an optional script.
  Result<GuestConnection*> tcp_connect(wire::Ipv4Addr dst, std::uint16_t port,
                                       const GuestClientScript& script = {}, std::uint16_t src_port = 0);
  // A server: accepted connections run `mode` (`bytes`: source size). Returns an id.
  Result<std::uint32_t> tcp_listen(std::uint16_t port, GuestServerMode mode, std::uint64_t bytes = 0,
                                   std::size_t backlog = 128);
  Status tcp_unlisten(std::uint32_t listener);
  GuestConnection* connection(std::uint32_t id);
  const GuestConnection* connection(std::uint32_t id) const;
  std::size_t connection_total() const { return conns_.size(); }  // ids are 0 .. total-1
  // The ids of connections a listener accepted, in accept order.
  std::vector<std::uint32_t> accepted(std::uint32_t listener) const;

  // --- DNS (dns_stub.h) ---
  // A query from the guest's stub resolver; the result object is updated in place
  // until `done` (a query that cannot be asked is done at once, with `error`).
  GuestDnsQueryPtr dns_query(const DnsQueryOptions& options);
  // Several queries written back to back on ONE new TCP connection.
  std::vector<GuestDnsQueryPtr> dns_query_pipelined(const std::vector<DnsQueryOptions>& options);
  const DnsStub& dns() const { return dns_; }

  // --- raw frames ---
  // Sends exactly these bytes on the link (now, or when the link has room, in order).
  void inject(Bytes frame);

  // --- floods ---
  std::uint32_t flood(const GuestFloodSpec& spec);
  // Shorthands for flood(): `count` connections (each sends `bytes` pattern bytes, then
  // closes; or, with abandon, only its SYN), or `count` datagrams of `size` bytes, each
  // from a new source port.
  std::uint32_t tcp_flood(wire::Ipv4Addr dst, std::uint16_t port, std::uint64_t count, Duration interval,
                          std::uint32_t concurrency = 0, std::uint64_t bytes = 0, bool abandon = false);
  std::uint32_t udp_flood(wire::Ipv4Addr dst, std::uint16_t port, std::uint64_t count, Duration interval,
                          std::uint32_t size = 0);
  const GuestFloodResult& flood_result(std::uint32_t flood) const { return floods_.at(flood).result; }

  // --- introspection ---
  std::vector<GuestConnInfo> connections() const;
  const GuestCounters& counters() const { return counters_; }
  GuestLeakCounts leak_counts() const;
  net::NetInterface& interface() { return net_; }
  const net::NetInterface& interface() const { return net_; }
  tcp::TcpStack& tcp() { return tcp_; }
  const tcp::TcpStack& tcp() const { return tcp_; }
  const FramePort& port() const { return port_; }

 private:
  class Sink final : public tcp::SegmentSink {
   public:
    explicit Sink(GuestVm& vm) : vm_(vm) {}
    bool emit(wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg) override;
   private:
    GuestVm& vm_;
  };
  struct UdpSocket {
    std::deque<GuestDatagram> queue;
  };
  struct Listener {
    tcp::ListenerId id;
    std::uint16_t port = 0;
    GuestServerMode mode = GuestServerMode::echo;
    std::uint64_t bytes = 0;
    bool open = true;
    std::vector<std::uint32_t> accepted;
  };
  struct Flood {
    GuestFloodSpec spec;
    GuestFloodResult result;
    Instant next_at;
    std::uint64_t active = 0;            // tcp: connections without an outcome yet
    std::vector<std::uint32_t> pending;  // tcp: connections not yet classified
    std::uint16_t next_port = 0;         // udp: source port of the next datagram
  };

  // net::IpHandler
  void on_ipv4(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx) override;
  void on_frame(Instant now, Bytes frame);
  void on_udp(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx);
  void on_icmp(Instant now, const wire::Ipv4Repr& ip, Bytes payload);
  void bind_address(wire::Ipv4Addr ip, std::optional<wire::Ipv4Cidr> subnet, std::optional<wire::Ipv4Addr> gw);
  tcp::ConnOptions conn_options() const;
  net::SendResult send_udp_datagram(Instant now, wire::Ipv4Addr src, std::uint16_t src_port, wire::Ipv4Addr dst,
                                    std::uint16_t dst_port, Bytes data, bool df);
  void poll_dhcp(Instant now);
  void poll_pings(Instant now);
  bool send_ping(Instant now, PingResult& p);
  void poll_floods(Instant now);
  void flood_start_tcp(Instant now, std::uint32_t index, Flood& f);
  void flood_classify(Flood& f);
  void handle_tcp_events(Instant now);
  void service_apps(Instant now);
  void drain_injects();
  GuestConnection& add_connection(GuestRole role, tcp::ConnId conn, Instant now);
  static std::uint64_t key(tcp::ConnId c) { return (std::uint64_t{c.index} << 32) | c.generation; }

  World& world_;
  Link& link_;
  GuestVmConfig config_;
  Direction send_dir_;
  Rng rng_;        // world.rng(config.name): xids, ping id, flood ports
  Rng net_rng_;    // forks of rng_ for the interface and the TCP stack
  Rng tcp_rng_;
  FramePort port_;
  Sink sink_;
  net::NetInterface net_;
  tcp::TcpStack tcp_;
  DhcpClient dhcp_;
  DnsStub dns_;    // after rng_: its stream is rng_.fork("dns")
  Instant now_;
  std::optional<wire::Ipv4Addr> ip_;
  bool link_writable_ = false;

  std::uint16_t ping_id_ = 0;
  std::uint16_t ping_seq_ = 0;
  std::vector<PingResult> pings_;
  std::vector<std::uint32_t> pending_pings_;

  std::map<std::uint16_t, UdpSocket> udp_;

  std::vector<std::unique_ptr<GuestConnection>> conns_;
  std::unordered_map<std::uint64_t, std::uint32_t> by_conn_;
  std::vector<GuestConnection*> service_;
  std::vector<Listener> listeners_;
  std::vector<std::uint32_t> abandon_;  // flood connections to abort once their SYN left

  std::vector<Flood> floods_;
  std::deque<std::vector<std::uint8_t>> injects_;

  std::vector<std::uint8_t> scratch_;
  GuestCounters counters_;
};

}  // namespace tapwire::sim
