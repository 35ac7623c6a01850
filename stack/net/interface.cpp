#include "stack/net/interface.h"

#include <algorithm>
#include <cstring>

#include "stack/net/icmp_errors.h"
#include "stack/wire/arp.h"

namespace tapwire::net {

namespace {
constexpr std::size_t kMinMtu = 68;  // RFC 791 §3.2: every internet module must forward 68 bytes
constexpr std::size_t kMaxMtu = wire::kIpv4MaxTotalLen;
constexpr std::size_t kMaxPayload = wire::kIpv4MaxTotalLen - wire::kIpv4HeaderLen;

// RFC 1112 §6.4: the low-order 23 bits of the group address in 01:00:5e:00:00:00.
wire::MacAddr multicast_mac(wire::Ipv4Addr group) {
  return wire::MacAddr{{0x01, 0x00, 0x5e, static_cast<std::uint8_t>(group.octet(1) & 0x7f), group.octet(2),
                        group.octet(3)}};
}
}  // namespace

std::string_view to_string(SendResult result) {
  switch (result) {
    case SendResult::sent: return "sent";
    case SendResult::queued: return "queued";
    case SendResult::link_full: return "link_full";
    case SendResult::unresolved: return "unresolved";
    case SendResult::too_big: return "too_big";
    case SendResult::suppressed: return "suppressed";
    case SendResult::invalid: return "invalid";
  }
  return "unknown";
}

NetInterface::NetInterface(InterfaceConfig config, host::FrameLink& link, IpHandler& handler, Rng& rng)
    : config_(config),
      link_(link),
      handler_(handler),
      next_ident_(rng.next_u16()),
      arp_(config.arp),
      reassembler_(config.reassembly) {
  set_mtu(config.mtu);
}

// --- configuration ---

void NetInterface::set_mtu(std::size_t mtu) { config_.mtu = std::clamp(mtu, kMinMtu, kMaxMtu); }

void NetInterface::add_address(wire::Ipv4Addr addr) {
  if (!is_our_address(addr)) addresses_.push_back(addr);
}

void NetInterface::remove_address(wire::Ipv4Addr addr) {
  addresses_.erase(std::remove(addresses_.begin(), addresses_.end(), addr), addresses_.end());
}

bool NetInterface::is_our_address(wire::Ipv4Addr addr) const {
  return std::find(addresses_.begin(), addresses_.end(), addr) != addresses_.end();
}

bool NetInterface::on_link(wire::Ipv4Addr addr) const { return !config_.subnet || config_.subnet->contains(addr); }

bool NetInterface::accepts(wire::Ipv4Addr dst) const {
  if (config_.accept_any_destination || is_our_address(dst) || dst.is_broadcast()) return true;
  // The subnet-directed broadcast (RFC 919/922), for prefixes that have one.
  return config_.subnet && config_.subnet->prefix_len < 31 && dst == config_.subnet->broadcast();
}

wire::Ipv4Addr NetInterface::next_hop(wire::Ipv4Addr dst) const {
  // Off-link destinations go to the gateway; without a gateway every destination is
  // treated as on-link (the proxy only ever sends to the VM).
  if (!on_link(dst) && config_.gateway) return *config_.gateway;
  return dst;
}

wire::Ipv4Addr NetInterface::source_for(wire::Ipv4Addr target) const {
  for (wire::Ipv4Addr a : addresses_)
    if (config_.subnet && config_.subnet->contains(a) && config_.subnet->contains(target)) return a;
  return addresses_.empty() ? wire::Ipv4Addr::any() : addresses_.front();
}

// --- input ---

void NetInterface::on_frame(Instant now, Bytes frame) {
  ++stats_.frames_in;
  stats_.bytes_in += frame.size();
  auto eth = wire::EthernetFrame::check(frame);
  if (!eth) {
    drops_.add(DropReason::bad_ethernet);
    return;
  }
  const wire::MacAddr dst = eth->dst();
  if (dst != config_.mac && !dst.is_broadcast()) {
    drops_.add(DropReason::not_for_us);
    return;
  }
  switch (eth->ethertype()) {
    case wire::kEthertypeArp: handle_arp(now, *eth); break;
    case wire::kEthertypeIpv4: handle_ipv4(now, *eth); break;
    default: drops_.add(DropReason::unknown_ethertype); break;
  }
}

// RFC 826 "Packet Reception".
void NetInterface::handle_arp(Instant now, const wire::EthernetFrame& eth) {
  auto packet = wire::ArpPacket::check(eth.payload());
  if (!packet) {
    drops_.add(DropReason::bad_arp);
    return;
  }
  auto arp = wire::ArpRepr::parse(*packet);
  if (!arp || arp->sender_mac.is_multicast() || arp->sender_mac.is_zero()) {
    drops_.add(DropReason::bad_arp);
    return;
  }
  ++stats_.arp_in;
  const bool for_us = is_our_address(arp->target_ip);
  // Merge the sender (never over one of our own addresses; an ARP probe's sender
  // 0.0.0.0 says nothing). The entry is created when we were the target.
  if (!arp->sender_ip.is_unspecified() && !is_our_address(arp->sender_ip)) {
    arp_.learn(now, arp->sender_ip, arp->sender_mac, for_us);
    if (arp_.has_ready()) release_ready();
  }
  // Answer requests for our addresses. A request whose sender claims the target
  // address (a gratuitous ARP announcing it) is not a question.
  if (arp->op == wire::ArpOp::request && for_us && arp->sender_ip != arp->target_ip) {
    if (send_arp(wire::ArpOp::reply, arp->sender_mac, config_.mac, arp->target_ip, arp->sender_mac,
                 arp->sender_ip)) {
      ++stats_.arp_replies_sent;
    } else {
      drops_.add(DropReason::link_full);
    }
  }
}

void NetInterface::handle_ipv4(Instant now, const wire::EthernetFrame& eth) {
  auto packet = wire::Ipv4Packet::check(eth.payload());
  if (!packet) {
    drops_.add(DropReason::bad_ipv4);
    return;
  }
  auto ip = wire::Ipv4Repr::parse(*packet);
  if (!ip) {
    drops_.add(ip.error().code == Errc::bad_checksum ? DropReason::bad_checksum : DropReason::bad_ipv4);
    return;
  }
  ++stats_.ipv4_in;
  // RFC 1122 §3.2.1.3: a source that is broadcast or multicast is discarded.
  if (ip->src.is_broadcast() || ip->src.is_multicast()) {
    drops_.add(DropReason::bad_ipv4);
    return;
  }
  if (!accepts(ip->dst)) {
    drops_.add(DropReason::not_for_us);
    return;
  }
  RxInfo rx;
  rx.src_mac = eth.src();
  rx.dst_mac = eth.dst();
  rx.link_broadcast = rx.dst_mac.is_broadcast();
  rx.vlan = eth.vlan();
  if (config_.learn_from_ipv4 && !ip->src.is_unspecified() && on_link(ip->src) && !is_our_address(ip->src) &&
      !rx.src_mac.is_multicast() && !rx.src_mac.is_zero()) {
    arp_.learn(now, ip->src, rx.src_mac, true);
    if (arp_.has_ready()) release_ready();
  }
  if (ip->is_fragment()) {
    ++stats_.fragments_in;
    Reassembler::Outcome out = reassembler_.push(now, *ip, packet->payload());
    if (out.status != Reassembler::Status::complete) return;  // incomplete, or counted by the reassembler
    ++stats_.datagrams_reassembled;
    ++stats_.ipv4_delivered;
    rx.reassembled = true;
    handler_.on_ipv4(now, out.header, out.payload, rx);
    return;
  }
  ++stats_.ipv4_delivered;
  handler_.on_ipv4(now, *ip, packet->payload(), rx);
}

// --- output ---

void NetInterface::count_out(std::size_t frame_len) {
  ++stats_.frames_out;
  stats_.bytes_out += frame_len;
  stats_.largest_frame_out = std::max<std::uint64_t>(stats_.largest_frame_out, frame_len);
}

MutBytes NetInterface::write_ethernet(MutBytes frame, wire::MacAddr dst_mac) const {
  wire::EthernetRepr eth;
  eth.dst = dst_mac;
  eth.src = config_.mac;
  eth.ethertype = wire::kEthertypeIpv4;
  return eth.emit_header(frame);
}

bool NetInterface::send_arp(wire::ArpOp op, wire::MacAddr eth_dst, wire::MacAddr sender_mac,
                            wire::Ipv4Addr sender_ip, wire::MacAddr target_mac, wire::Ipv4Addr target_ip) {
  constexpr std::size_t kLen = wire::kEthernetHeaderLen + wire::kArpPacketLen;
  MutBytes buf = link_.egress(kLen);
  if (buf.size() < kLen) return false;
  wire::EthernetRepr eth;
  eth.dst = eth_dst;
  eth.src = config_.mac;
  eth.ethertype = wire::kEthertypeArp;
  MutBytes body = eth.emit_header(buf);
  wire::ArpRepr arp{op, sender_mac, sender_ip, target_mac, target_ip};
  arp.emit(body.first(wire::kArpPacketLen));
  link_.commit(kLen);
  count_out(kLen);
  return true;
}

bool NetInterface::send_arp_request(Instant, wire::Ipv4Addr target) {
  if (!send_arp(wire::ArpOp::request, wire::MacAddr::broadcast(), config_.mac, source_for(target),
                wire::MacAddr::zero(), target))
    return false;
  ++stats_.arp_requests_sent;
  return true;
}

bool NetInterface::announce(Instant, wire::Ipv4Addr addr) {
  return send_arp(wire::ArpOp::request, wire::MacAddr::broadcast(), config_.mac, addr, wire::MacAddr::zero(), addr);
}

std::optional<wire::MacAddr> NetInterface::link_destination(Instant now, wire::Ipv4Addr dst,
                                                            const SendOptions& options) const {
  if (!options.link_dst.is_zero()) return options.link_dst;
  if (dst.is_broadcast() || (config_.subnet && config_.subnet->prefix_len < 31 && dst == config_.subnet->broadcast()))
    return wire::MacAddr::broadcast();
  if (dst.is_multicast()) return multicast_mac(dst);
  return arp_.lookup(now, next_hop(dst));
}

wire::Ipv4Repr NetInterface::make_header(wire::Ipv4Addr src, wire::Ipv4Addr dst, std::uint8_t protocol,
                                         std::size_t payload_len, const SendOptions& options) const {
  wire::Ipv4Repr ip;
  ip.src = src;
  ip.dst = dst;
  ip.protocol = protocol;
  ip.ttl = options.ttl;
  ip.dscp = options.dscp & 0x3f;
  ip.ecn = options.ecn & 0x3;
  ip.dont_frag = options.dont_frag;
  ip.payload_len = payload_len;
  return ip;
}

std::uint16_t NetInterface::take_ident(const SendOptions& options) {
  if (options.ident) return *options.ident;
  return next_ident_++;
}

SendResult NetInterface::send_ipv4(Instant now, wire::Ipv4Addr src, wire::Ipv4Addr dst, std::uint8_t protocol,
                                   std::size_t payload_len, PayloadWriter writer, const SendOptions& options) {
  if (payload_len > kMaxPayload) return SendResult::invalid;
  wire::Ipv4Repr ip = make_header(src, dst, protocol, payload_len, options);
  if (ip.buffer_len() > config_.mtu) {
    drops_.add(DropReason::too_big);
    return SendResult::too_big;
  }
  const std::size_t frame_len = wire::kEthernetHeaderLen + ip.buffer_len();
  const std::optional<wire::MacAddr> dst_mac = link_destination(now, dst, options);
  MutBytes frame;
  if (dst_mac) {
    frame = link_.egress(frame_len);
    if (frame.size() < frame_len) {
      ++stats_.link_full;
      return SendResult::link_full;
    }
  } else {
    bool request_now = false;
    const wire::Ipv4Addr hop = next_hop(dst);
    frame = arp_.enqueue(now, hop, frame_len, request_now);
    if (frame.empty()) return SendResult::unresolved;  // counted by the ARP cache
    ++stats_.frames_queued_for_arp;
    ip.ident = take_ident(options);
    writer(ip.emit_header(write_ethernet(frame, wire::MacAddr::zero())).first(payload_len));
    if (request_now) send_arp_request(now, hop);  // a full link leaves it to the retry timer
    return SendResult::queued;
  }
  ip.ident = take_ident(options);
  writer(ip.emit_header(write_ethernet(frame.first(frame_len), *dst_mac)).first(payload_len));
  link_.commit(frame_len);
  count_out(frame_len);
  return SendResult::sent;
}

bool NetInterface::emit_fragment(const FragmentPlan::Fragment& fragment, wire::MacAddr dst_mac) {
  const std::size_t frame_len = wire::kEthernetHeaderLen + fragment.header.buffer_len();
  MutBytes frame = link_.egress(frame_len);
  if (frame.size() < frame_len) return false;
  FragmentPlan::emit(fragment, Bytes(staging_.data(), staging_.size()),
                     write_ethernet(frame.first(frame_len), dst_mac).first(fragment.header.buffer_len()));
  link_.commit(frame_len);
  count_out(frame_len);
  ++stats_.fragments_out;
  return true;
}

SendResult NetInterface::send_ipv4_fragmented(Instant now, wire::Ipv4Addr src, wire::Ipv4Addr dst,
                                              std::uint8_t protocol, std::size_t payload_len, PayloadWriter writer,
                                              const SendOptions& options) {
  if (payload_len > kMaxPayload) return SendResult::invalid;
  wire::Ipv4Repr ip = make_header(src, dst, protocol, payload_len, options);
  if (ip.buffer_len() <= config_.mtu) return send_ipv4(now, src, dst, protocol, payload_len, writer, options);
  if (ip.dont_frag) {
    // The caller answers with ICMP fragmentation needed carrying mtu() (RFC 1191 §4).
    drops_.add(DropReason::too_big);
    return SendResult::too_big;
  }
  FragmentPlan plan(ip, config_.mtu);
  if (!plan.valid()) return SendResult::invalid;
  if (in_progress_) {
    // One datagram's tail at a time: the staging buffer still holds it.
    ++stats_.link_full;
    return SendResult::link_full;
  }
  const std::optional<wire::MacAddr> dst_mac = link_destination(now, dst, options);

  if (!dst_mac) {
    // Queue every fragment for ARP, or none (a partial datagram is useless).
    const wire::Ipv4Addr hop = next_hop(dst);
    if (!arp_.has_room(hop, plan.count())) {
      arp_.count_unresolved(plan.count());
      return SendResult::unresolved;
    }
    ip.ident = take_ident(options);
    plan = FragmentPlan(ip, config_.mtu);
    staging_.resize(payload_len);
    writer(MutBytes(staging_.data(), payload_len));
    bool request_now = false;
    std::size_t queued = 0;
    for (std::size_t offset = 0; offset < payload_len;) {
      const FragmentPlan::Fragment f = plan.at(offset);
      bool opened = false;
      MutBytes frame = arp_.enqueue(now, hop, wire::kEthernetHeaderLen + f.header.buffer_len(), opened);
      request_now = request_now || opened;
      if (frame.empty()) break;  // cannot happen after has_room()
      FragmentPlan::emit(f, Bytes(staging_.data(), staging_.size()),
                         write_ethernet(frame, wire::MacAddr::zero()).first(f.header.buffer_len()));
      ++queued;
      offset += f.payload_len;
    }
    stats_.frames_queued_for_arp += queued;
    if (request_now) send_arp_request(now, hop);
    ++stats_.datagrams_fragmented;
    return SendResult::queued;
  }

  // Reserve the first fragment's room before the writer runs, so link_full leaves
  // nothing written and the writer uncalled.
  ip.ident = next_ident_;  // provisional: the ident is only consumed once the first fragment goes out
  if (options.ident) ip.ident = *options.ident;
  plan = FragmentPlan(ip, config_.mtu);
  const FragmentPlan::Fragment first = plan.at(0);
  const std::size_t first_len = wire::kEthernetHeaderLen + first.header.buffer_len();
  MutBytes probe = link_.egress(first_len);
  if (probe.size() < first_len) {
    ++stats_.link_full;
    return SendResult::link_full;
  }
  (void)take_ident(options);
  staging_.resize(payload_len);
  writer(MutBytes(staging_.data(), payload_len));
  // The lent buffer is still ours (no commit or egress since): emit into it.
  FragmentPlan::emit(first, Bytes(staging_.data(), staging_.size()),
                     write_ethernet(probe.first(first_len), *dst_mac).first(first.header.buffer_len()));
  link_.commit(first_len);
  count_out(first_len);
  ++stats_.fragments_out;
  ++stats_.datagrams_fragmented;
  in_progress_ = InProgress{plan, first.payload_len, *dst_mac};
  resume_fragments();
  return SendResult::sent;
}

void NetInterface::resume_fragments() {
  while (in_progress_) {
    InProgress& p = *in_progress_;
    if (p.next_offset >= staging_.size()) {
      in_progress_.reset();
      return;
    }
    const FragmentPlan::Fragment f = p.plan.at(p.next_offset);
    if (!emit_fragment(f, p.dst_mac)) {
      ++stats_.link_full;
      return;  // resumed from on_link_writable() or poll()
    }
    p.next_offset += f.payload_len;
  }
}

void NetInterface::release_ready() {
  arp_.drain_ready([&](wire::MacAddr mac, MutBytes queued) {
    MutBytes frame = link_.egress(queued.size());
    if (frame.size() < queued.size()) {
      ++stats_.link_full;
      return false;
    }
    std::memcpy(frame.data(), queued.data(), queued.size());
    mac.write(frame.data());  // the Ethernet destination, unknown when it was queued
    link_.commit(queued.size());
    count_out(queued.size());
    return true;
  });
}

SendResult NetInterface::send_icmp_error(Instant now, wire::Ipv4Addr src, std::uint8_t type, std::uint8_t code,
                                         std::uint16_t next_hop_mtu, const wire::Ipv4Repr& offending,
                                         Bytes offending_payload, const RxInfo& rx) {
  OffendingContext context;
  context.link_broadcast = rx.link_broadcast || rx.dst_mac.is_multicast();
  if (config_.subnet && config_.subnet->prefix_len < 31) context.subnet_broadcast = config_.subnet->broadcast();
  if (icmp_error_verdict(offending, offending_payload, context) != IcmpErrorVerdict::allowed) {
    ++stats_.icmp_errors_suppressed;
    return SendResult::suppressed;
  }
  SendOptions options;
  options.link_dst = rx.src_mac;  // answer the frame's sender, whatever the routing says
  const std::size_t len = icmp_error_len(offending, offending_payload);
  const SendResult r = send_ipv4(
      now, src, offending.src, wire::ip_proto::icmp, len,
      [&](MutBytes out) { write_icmp_error(out, type, code, next_hop_mtu, offending, offending_payload); }, options);
  if (r == SendResult::sent) ++stats_.icmp_errors_sent;
  return r;
}

void NetInterface::on_link_writable(Instant) {
  release_ready();
  resume_fragments();
}

// --- timers ---

void NetInterface::poll(Instant now) {
  reassembler_.poll(now);
  arp_.poll(now, [&](wire::Ipv4Addr ip) { send_arp_request(now, ip); });
  if (arp_.has_ready()) release_ready();
  resume_fragments();
}

std::optional<Instant> NetInterface::poll_at() const {
  std::optional<Instant> a = reassembler_.poll_at();
  std::optional<Instant> b = arp_.poll_at();
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

DropCounters NetInterface::drops() const { return drops_ + reassembler_.drops() + arp_.drops(); }

}  // namespace tapwire::net
