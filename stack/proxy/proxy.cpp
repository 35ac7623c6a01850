#include "stack/proxy/proxy.h"

#include <algorithm>
#include <utility>


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
      dns_rng_(rng.fork("proxy.dns")),
      policy_(config_),
      iface_(proxy_net_interface_config(config_), link_, *this, iface_rng_),
      tcp_(tcp_rng_, proxy_tcp_stack_config(config_)),
      ctx_{config_, policy_, iface_, tcp_, host_, flows_, handles_, stats_, gate_, limit_},
      forwarder_(ctx_, log_.child("tcp")),
      udp_(ctx_, log_.child("udp")),
      icmp_(ctx_, log_.child("icmp")),
      forwards_(ctx_, forwarder_, udp_, log_.child("fwd")),
      handlers_{&forwarder_, &udp_, &icmp_},
      segment_out_(*this) {
  limit_.set(config_.max_connections, 0);
  // ARP is answered for the gateway and the host alias (VPNKit's static table).
  iface_.add_address(config_.gateway_ip);
  iface_.add_address(config_.host_ip);
  dhcp_ = add_service<DhcpServer>({DhcpServer::kPort});
  if (config_.dns.mode != DnsMode::off) {
    dns_ = add_service<DnsService>({ServicePort{L4::udp, DnsService::kPort}, ServicePort{L4::tcp, DnsService::kPort}},
                                  dns_rng_);
  }
}

DnsStatus Proxy::dns_status() const {
  if (dns_ == nullptr) return DnsStatus{DnsMode::off, 0, {}};
  return dns_->status();
}

void Proxy::set_dns_upstreams(std::vector<DnsUpstreamGroup> groups) {
  config_.dns.upstreams = groups;
  if (dns_ != nullptr) dns_->set_upstreams(std::move(groups));
}

Proxy::~Proxy() = default;

// ---- port forwards and the connection limit ----------------------------------------------------

Result<ForwardStatus, ForwardError> Proxy::add_forward(const PortForward& spec) {
  Result<ForwardStatus, ForwardError> added = forwards_.add(now_, spec);
  drain_tcp_events(now_);
  run_tcp(now_);
  iface_.flush();
  return added;
}

bool Proxy::remove_forward(const PortForward& spec) { return forwards_.remove(now_, spec); }

std::vector<ForwardStatus> Proxy::forwards() const { return forwards_.list(); }

std::vector<std::pair<std::size_t, ForwardError>> Proxy::open_configured_forwards() {
  std::vector<std::pair<std::size_t, ForwardError>> failed;
  for (std::size_t i = 0; i < config_.port_forwards.size(); ++i) {
    Result<ForwardStatus, ForwardError> added = add_forward(config_.port_forwards[i]);
    if (!added) failed.emplace_back(i, added.error());
  }
  return failed;
}

void Proxy::set_fd_limit(std::uint64_t fd_limit) {
  limit_.set_fd_limit(fd_limit);
  TW_LOG(log_, info, "fd limit %llu: connection limit %llu (reserve %llu for listeners and own sockets)",
         static_cast<unsigned long long>(fd_limit), static_cast<unsigned long long>(limit_.limit()),
         static_cast<unsigned long long>(limit_.reserve()));
}

void Proxy::set_isn_source(std::function<std::uint32_t(Instant, const tcp::FourTuple&)> source) {
  tcp_.set_isn_source(std::move(source));
}

// ---- entry points --------------------------------------------------------------------------

void Proxy::on_frame(Instant now, Bytes frame) {
  note_now(now);
  iface_.on_frame(now, frame);
  drain_tcp_events(now);
}

void Proxy::on_host_event(Instant now, const host::HostEvent& event) {
  note_now(now);
  if (Flow* flow = flows_.by_handle(event.handle)) {
    handler(flow->protocol).on_host_event(now, *flow, event);
  } else if (host::HostEventSink* owner = handles_.find(event.handle)) {
    owner->on_host_event(now, event);
  }
  // Anything else is stale (its handle was closed): harmless by contract.
  drain_tcp_events(now);
}

void Proxy::on_link_writable(Instant now) {
  note_now(now);
  gate_.clear();
  iface_.on_link_writable(now);
  // The stack's output first (it was cut short), then the readers that were held,
  // in a fixed order, each only while the link has room.
  run_tcp(now);
  for (FlowHandler* h : handlers_)
    if (!gate_.full()) h->on_link_writable(now);
  services_.for_each([&](GatewayService& s) {
    if (!gate_.full()) s.on_link_writable(now);
  });
  run_tcp(now);
  iface_.flush();
}

void Proxy::poll(Instant now) {
  note_now(now);
  iface_.poll(now);
  forwarder_.poll(now);
  forwards_.poll(now);
  services_.for_each([&](GatewayService& s) { s.poll(now); });
  drain_tcp_events(now);
  run_tcp(now);
  udp_.poll(now);
  icmp_.poll(now);
  iface_.flush();
}

std::optional<Instant> Proxy::poll_at() const {
  std::optional<Instant> t;
  auto take = [&](std::optional<Instant> d) {
    if (d && (!t || *d < *t)) t = d;
  };
  take(iface_.poll_at());
  take(tcp_.poll_at());
  for (const FlowHandler* h : handlers_) take(h->poll_at());
  take(forwards_.poll_at());
  services_.for_each([&](const GatewayService& s) { take(s.poll_at()); });
  return t;
}

void Proxy::shutdown(Instant now) {
  note_now(now);
  forwards_.close_all(now);
  forwarder_.close_all(now);
  drain_tcp_events(now);
  udp_.close_all(now);
  icmp_.close_all(now);
  services_.for_each([&](GatewayService& s) { s.shutdown(now); });
  drain_tcp_events(now);
  run_tcp(now);
  iface_.flush();
}

void Proxy::run_tcp(Instant now) {
  // Each round: emit what is due, then react to the events that produced (timeouts,
  // closes); the reactions may queue more output. Bounded: a round without events
  // ends it.
  for (int round = 0; round < 8; ++round) {
    tcp_.poll(now, segment_out_);
    drain_tcp_events(now);
    const std::optional<Instant> next = tcp_.poll_at();
    if (!next || *next > now || gate_.full()) break;
  }
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
      proxy_.gate_.mark_full();
      return false;
    default:
      // Unresolved next hop or impossible size: the segment is lost like on a wire;
      // TCP retransmits. (The interface counted the drop by reason.)
      return true;
  }
}

// ---- introspection --------------------------------------------------------------------------

std::map<std::string, std::uint64_t> Proxy::stats() const {
  std::map<std::string, std::uint64_t> m = stats_.to_map(&iface_, &host_);
  m["tcp.flows_live"] = flows_.size(FlowProtocol::tcp);
  m["tcp.time_wait_records"] = tcp_.time_wait_count();
  return m;
}

std::vector<FlowRow> Proxy::flows() const { return flows_.rows(now_); }

ProxySnapshot Proxy::snapshot() const {
  ProxySnapshot s;
  s.flows = flows();
  s.forwards = forwards();
  s.limit = ConnectionLimitStatus{limit_.limit(),   limit_.reserve(),        limit_.fd_limit(),
                                  limit_.derived(), flows_.open_handles(), limit_.warnings()};
  s.host_open_handles = host_.counters().open_handles;
  s.own_sockets = handles_.describe();
  s.counters = stats();
  return s;
}

std::vector<std::string> Proxy::leaks() const {
  std::vector<std::string> out;
  flows_.for_each([&](const Flow& f) {
    out.push_back(FlowTable::describe(f) + ": still in the table (" + std::string(to_string(f.state)) + ")");
  });
  // Host sockets: every open handle belongs to a flow or to a registered owner.
  const std::uint64_t open_handles = host_.counters().open_handles;
  const std::uint64_t expected = flows_.open_handles() + handles_.size();
  if (open_handles > expected)
    out.push_back("host: " + std::to_string(open_handles - expected) + " open handles owned by no flow or service");
  const std::size_t conns = tcp_.connection_count();
  const std::size_t owned_conns = flows_.connections() + services_.connections();
  if (conns > owned_conns)
    out.push_back("tcp: " + std::to_string(conns - owned_conns) + " connections without a flow");
  // Timers: the TcpStack's minus its TIME-WAIT records when no connection is live;
  // each handler's, at most one per flow of its protocol.
  if (conns == 0 && tcp_.timer_count() > tcp_.time_wait_count()) {
    out.push_back("tcp: " + std::to_string(tcp_.timer_count() - tcp_.time_wait_count()) +
                  " timers without a connection");
  }
  for (std::size_t p = 0; p < kFlowProtocols; ++p) {
    const auto protocol = static_cast<FlowProtocol>(p);
    const std::size_t timers = handlers_[p]->timer_count();
    const std::size_t live = flows_.size(protocol);
    if (timers > live) {
      out.push_back(std::string(to_string(protocol)) + ": " + std::to_string(timers - live) +
                    " timers without a flow");
    }
  }
  services_.for_each([&](const GatewayService& s) { s.leaks(out); });
  return out;
}

}  // namespace tapwire::proxy
