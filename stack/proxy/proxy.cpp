#include "stack/proxy/proxy.h"

#include <algorithm>
#include <utility>

#include "stack/wire/dhcp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

namespace tapwire::proxy {

tcp::StackConfig proxy_tcp_stack_config(const ProxyConfig& config) {
  tcp::StackConfig sc;
  sc.transparent = true;
  // The forwarder decides every pending SYN within connect_timeout; the stack's own
  // expiry is only a safety net behind it.
  sc.pending_syn_timeout = config.connect_timeout + Duration::seconds(5);
  tcp::ConnOptions& o = sc.transparent_options;
  o.mtu = config.mtu;  // advertised MSS = mtu - 40; send MSS = min(peer MSS, mtu - 40)
  o.mss_option = config.tcp.mss_option;
  o.window_scale = config.tcp.wscale;
  o.sack = config.tcp.sack;
  o.timestamps = config.tcp.timestamps;
  o.nagle = config.tcp.nagle;
  o.send_buffer = config.tcp.send_buffer;
  o.recv_buffer = config.tcp.recv_buffer;
  o.msl = config.msl;
  return sc;
}

net::InterfaceConfig proxy_net_interface_config(const ProxyConfig& config) {
  net::InterfaceConfig ic;
  ic.mac = config.gateway_mac;
  ic.mtu = config.mtu;
  ic.subnet = config.subnet;
  ic.accept_any_destination = true;  // the proxy terminates every datagram of the VM
  ic.learn_from_ipv4 = true;
  ic.reassembly.timeout = config.reassembly_timeout;
  return ic;
}

Proxy::Proxy(ProxyConfig config, host::FrameLink& link, host::HostNet& host, const Rng& rng, Logger logger)
    : config_(std::move(config)),
      link_(link),
      host_(host),
      log_(std::move(logger)),
      iface_rng_(rng.fork("proxy.interface")),
      tcp_rng_(rng.fork("proxy.tcp")),
      policy_(config_),
      iface_(proxy_net_interface_config(config_), link_, *this, iface_rng_),
      tcp_(tcp_rng_, proxy_tcp_stack_config(config_)),
      forwarder_(config_, tcp_, host_, policy_, flows_, stats_, log_.child("tcp")),
      dhcp_(iface_, config_, log_.child("dhcp"), stats_),
      udp_(iface_, host_, config_, policy_, log_.child("udp"), stats_),
      icmp_(iface_, host_, config_, policy_, log_.child("icmp"), stats_),
      segment_out_(*this) {
  // ARP is answered for the gateway and the host alias (VPNKit's static table).
  iface_.add_address(config_.gateway_ip);
  iface_.add_address(config_.host_ip);
}

Proxy::~Proxy() = default;

// ---- entry points --------------------------------------------------------------------------

void Proxy::on_frame(Instant now, Bytes frame) {
  note_now(now);
  iface_.on_frame(now, frame);
  note_link_state();
}

void Proxy::on_host_event(Instant now, const host::HostEvent& event) {
  note_now(now);
  if (forwarder_.owns(event.handle)) {
    forwarder_.on_host_event(now, event);
    forwarder_.process_stack_events(now);
  } else if (udp_.owns(event.handle)) {
    udp_.on_host_event(now, event);
  } else if (icmp_.owns(event.handle)) {
    icmp_.on_host_event(now, event);
  }
  // Anything else is stale (its handle was closed): harmless by contract.
  note_link_state();
}

void Proxy::on_link_writable(Instant now) {
  note_now(now);
  link_blocked_ = false;
  iface_.on_link_writable(now);
  // The stack's output first (it was cut short), then the readers that were held.
  run_tcp(now);
  if (!link_blocked_) forwarder_.on_link_writable(now);
  if (!link_blocked_) udp_.on_link_writable(now);
  if (!link_blocked_) icmp_.on_link_writable(now);
  run_tcp(now);
  note_link_state();
  iface_.flush();
}

void Proxy::poll(Instant now) {
  note_now(now);
  iface_.poll(now);
  forwarder_.poll(now);
  forwarder_.process_stack_events(now);
  run_tcp(now);
  udp_.poll(now);
  icmp_.poll(now);
  dhcp_.poll(now);
  note_link_state();
  iface_.flush();
}

std::optional<Instant> Proxy::poll_at() const {
  std::optional<Instant> t;
  auto take = [&](std::optional<Instant> d) {
    if (d && (!t || *d < *t)) t = d;
  };
  take(iface_.poll_at());
  take(tcp_.poll_at());
  take(forwarder_.poll_at());
  take(udp_.poll_at());
  take(icmp_.poll_at());
  take(dhcp_.poll_at());
  return t;
}

void Proxy::shutdown(Instant now) {
  note_now(now);
  forwarder_.abort_all(now);
  forwarder_.process_stack_events(now);
  udp_.close_all();
  icmp_.close_all();
  run_tcp(now);
  iface_.flush();
}

void Proxy::run_tcp(Instant now) {
  // Each round: emit what is due, then let the forwarder react to the events that
  // produced (timeouts, closes); its reactions may queue more output. Bounded: a
  // round without events ends it.
  for (int round = 0; round < 8; ++round) {
    tcp_.poll(now, segment_out_);
    forwarder_.process_stack_events(now);
    const std::optional<Instant> next = tcp_.poll_at();
    if (!next || *next > now || link_blocked_) break;
  }
}

void Proxy::note_link_state() {
  // Any component that met a full link stops the TCP forwarder's host reads too:
  // while the link is full nothing is read from host sockets (DESIGN.md §2).
  const bool blocked = link_blocked_ || udp_.link_blocked() || icmp_.link_blocked();
  forwarder_.set_link_blocked(blocked);
}

bool Proxy::SegmentOut::emit(wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg) {
  const net::SendResult r = proxy_.iface_.send_ipv4(
      proxy_.now_, src, dst, wire::kIpProtoTcp, seg.buffer_len(),
      [&](MutBytes out) { seg.emit(out, src, dst); });
  switch (r) {
    case net::SendResult::sent:
    case net::SendResult::queued:
      return true;
    case net::SendResult::link_full:
      proxy_.stats_.drop(Drop::tcp_link_full);
      proxy_.link_blocked_ = true;
      proxy_.forwarder_.set_link_blocked(true);
      return false;
    default:
      // Unresolved next hop or impossible size: the segment is lost like on a wire;
      // TCP retransmits. (The interface counted the drop by reason.)
      return true;
  }
}

// ---- IPv4 dispatch --------------------------------------------------------------------------

void Proxy::on_ipv4(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx) {
  switch (ip.protocol) {
    case wire::ip_proto::tcp:
      handle_tcp(now, ip, payload);
      return;
    case wire::ip_proto::udp:
      handle_udp(now, ip, payload, rx);
      return;
    case wire::ip_proto::icmp:
      icmp_.handle_icmp(now, ip, payload, rx);
      return;
    default:
      stats_.drop(Drop::unknown_protocol);
      TW_LOG(log_, debug, "drop: IPv4 protocol %u from %s", static_cast<unsigned>(ip.protocol),
             ip.src.to_string().c_str());
      return;
  }
}

void Proxy::handle_tcp(Instant now, const wire::Ipv4Repr& ip, Bytes payload) {
  auto seg = wire::TcpSegment::check(payload);
  if (!seg) {
    stats_.drop(Drop::bad_tcp);
    return;
  }
  auto repr = wire::TcpRepr::parse(*seg, ip.src, ip.dst);
  if (!repr) {
    stats_.drop(repr.error().code == Errc::bad_checksum ? Drop::bad_tcp_checksum : Drop::bad_tcp);
    TW_LOG(log_, debug, "drop: bad TCP segment from %s (%s)", ip.src.to_string().c_str(), repr.error().reason);
    return;
  }
  const tcp::Endpoint src{ip.src, repr->src_port};
  const tcp::Endpoint dst{ip.dst, repr->dst_port};
  Flow* flow = flows_.by_guest_tuple(src, dst);
  if (flow != nullptr && flow->state == FlowState::connecting && repr->has(wire::tcp_flags::SYN) &&
      !repr->has(wire::tcp_flags::ACK)) {
    // The stack's pending mode absorbs it: still one host connect, no reply.
    stats_.add(Counter::tcp_syn_retransmit_absorbed);
  } else if (flow == nullptr && !repr->has(wire::tcp_flags::SYN)) {
    // No flow: the stack answers as a closed port (RST), or a TIME-WAIT record
    // answers a retransmitted FIN.
    stats_.drop(Drop::tcp_no_flow);
  }
  tcp_.on_segment(now, ip.src, ip.dst, *repr);
  forwarder_.process_stack_events(now);
}

void Proxy::handle_udp(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const net::RxInfo& rx) {
  std::optional<wire::UdpRepr> udp = parse_guest_udp(ip, payload, stats_);
  if (!udp) return;
  if (udp->dst_port == wire::kDhcpServerPort && (policy_.is_gateway(ip.dst) || policy_.is_broadcast(ip.dst))) {
    dhcp_.handle_udp(now, ip, *udp, rx);
    return;
  }
  udp_.handle_udp(now, ip, *udp, payload, rx);
}

// ---- introspection --------------------------------------------------------------------------

std::map<std::string, std::uint64_t> Proxy::stats() const {
  std::map<std::string, std::uint64_t> m = stats_.to_map(&iface_, &host_);
  m["tcp.flows_live"] = flows_.size();
  m["tcp.time_wait_records"] = tcp_.time_wait_count();
  return m;
}

std::vector<FlowRow> Proxy::flows() const {
  std::vector<FlowRow> rows = flows_.rows(now_);
  for (const UdpFlowRow& u : udp_.flows()) {
    FlowRow r;
    r.serial = 0;
    r.protocol = "udp";
    r.state = "ACTIVE";
    r.guest_src = u.guest_ip.to_string() + ":" + std::to_string(u.guest_port);
    r.guest_dst = "*";
    r.host_remote = "*";
    r.host_open = u.handle.valid();
    r.bytes_guest_to_host = u.bytes_from_guest;
    r.bytes_host_to_guest = u.bytes_to_guest;
    r.age = now_ - u.opened;
    r.idle = now_ - u.last_activity;
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<std::string> Proxy::leaks() const {
  std::vector<std::string> out;
  flows_.for_each([&](const Flow& f) {
    out.push_back(FlowTable::describe(f) + ": still in the table (" + std::string(to_string(f.state)) + ")");
  });
  if (udp_.flow_count() != 0) out.push_back("udp: " + std::to_string(udp_.flow_count()) + " NAT flows");
  if (icmp_.session_count() != 0) out.push_back("icmp: " + std::to_string(icmp_.session_count()) + " echo sessions");
  // Host sockets: the proxy has no listener of its own yet (port forwards would be
  // the configured exceptions).
  const std::uint64_t open_handles = host_.counters().open_handles;
  if (open_handles != 0) out.push_back("host: " + std::to_string(open_handles) + " open handles");
  const std::size_t conns = tcp_.connection_count();
  if (conns > flows_.size()) {
    out.push_back("tcp: " + std::to_string(conns - flows_.size()) + " connections without a flow");
  }
  // Timers: the TcpStack's minus its TIME-WAIT records when no connection is live;
  // the forwarder's one per flow; the UDP NAT's and ICMP's one per flow/session.
  if (conns == 0 && tcp_.timer_count() > tcp_.time_wait_count()) {
    out.push_back("tcp: " + std::to_string(tcp_.timer_count() - tcp_.time_wait_count()) +
                  " timers without a connection");
  }
  if (forwarder_.timer_count() > flows_.size()) {
    out.push_back("tcp forwarder: " + std::to_string(forwarder_.timer_count() - flows_.size()) +
                  " timers without a flow");
  }
  if (udp_.timer_count() > udp_.flow_count()) {
    out.push_back("udp: " + std::to_string(udp_.timer_count() - udp_.flow_count()) + " timers without a flow");
  }
  if (icmp_.timer_count() > icmp_.session_count()) {
    out.push_back("icmp: " + std::to_string(icmp_.timer_count() - icmp_.session_count()) +
                  " timers without a session");
  }
  return out;
}

}  // namespace tapwire::proxy
