// NetInterface: our end of an Ethernet segment, the L2/L3 layer shared by the proxy
// (its interface toward the VM) and the simulated guest (the VM's own interface).
//
// Theory of operation
// - Input, on_frame(now, frame): Ethernet is checked (one 802.1Q tag tolerated; the
//   tag is reported but replies are untagged). Frames not addressed to our MAC or to
//   broadcast are dropped as not_for_us (multicast included: nothing here joins a
//   group). ARP is handled entirely here (RFC 826): requests for any of our addresses
//   are answered, senders are merged into the cache (created when we were the target),
//   a gratuitous ARP refreshes an entry we hold, and a reply may complete a pending
//   resolution, releasing its queued frames. IPv4 is validated (structure, lengths,
//   header checksum; TTL is not checked, we are the destination), filtered by
//   destination (our addresses, the limited and the subnet broadcast; anything in
//   "accept any destination" mode, which the proxy uses because it terminates every
//   datagram the VM sends), its source MAC is learned for on-link sources, fragments
//   are reassembled (Reassembler), and the datagram is handed to the owner's
//   IpHandler with the parsed header. Every discarded frame is counted by reason.
// - Output, send_ipv4(): picks the next hop (the destination when on-link, else the
//   gateway), the link destination (broadcast, multicast mapping, an explicit MAC
//   from the caller, or the ARP cache), borrows an egress buffer from the FrameLink,
//   writes Ethernet + IPv4 in place and lets the caller's writer fill the payload in
//   place, then commits. The frame never exceeds MTU + 14 bytes. The result says what
//   happened: `sent`; `queued` (the next hop is being resolved, the frame waits in
//   the ARP queue: the caller must not resend); `link_full` (nothing was written,
//   the writer was not called: retry after on_link_writable); `unresolved` (ARP queue
//   full: dropped and counted); `too_big` (larger than the MTU).
// - Large datagrams, send_ipv4_fragmented(): a datagram above the MTU is split per
//   RFC 791 §3.2 (FragmentPlan) unless DF is set, in which case the caller gets
//   `too_big` and answers with ICMP fragmentation-needed (send_icmp_error with the
//   next-hop MTU, RFC 1191 §4). The payload is written once into a staging buffer
//   (allocated at the first use, then reused). A datagram is taken whole or not at
//   all: if the link fills after the first fragment, the rest is sent from
//   on_link_writable()/poll(), and further large sends answer link_full until then.
// - Identification: a 16-bit counter seeded from the Rng, incremented per datagram
//   that is sent or queued (RFC 6864 allows any value for atomic datagrams).
// - Timers, poll(now)/poll_at(): reassembly expiry and ARP retries/give-ups. poll()
//   also releases resolved ARP frames and the rest of a fragmented datagram when the
//   link has room. Nothing here reads a clock.
// - Flushing: frames are committed to the FrameLink as they are built; the owner
//   calls flush() (or the link's) once at the end of its batch.
// - Re-entrancy: the IpHandler may call the send_* functions from on_ipv4 (the
//   payload it was given stays valid meanwhile), but must not call on_frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/rng.h"
#include "stack/base/time.h"
#include "stack/host/frame_link.h"
#include "stack/net/arp_cache.h"
#include "stack/net/drop_counters.h"
#include "stack/net/fragmentation.h"
#include "stack/base/function_ref.h"
#include "stack/net/reassembly.h"
#include "stack/wire/addr.h"
#include "stack/wire/arp.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/ipv4.h"

namespace tapwire::net {

struct InterfaceConfig {
  wire::MacAddr mac;
  std::size_t mtu = 1500;                  // IP MTU: the largest datagram we emit, header included
  std::optional<wire::Ipv4Cidr> subnet;    // on-link prefix (broadcast, learning, next hop)
  std::optional<wire::Ipv4Addr> gateway;   // next hop for off-link destinations
  bool accept_any_destination = false;     // deliver IPv4 for any destination (the proxy)
  bool learn_from_ipv4 = true;             // learn on-link senders' MACs from their IPv4 frames
  ReassemblyConfig reassembly;
  ArpCacheConfig arp;
};

// How a delivered datagram arrived.
struct RxInfo {
  wire::MacAddr src_mac;
  wire::MacAddr dst_mac;
  bool link_broadcast = false;             // dst_mac was broadcast
  bool reassembled = false;                // the datagram came in fragments
  std::optional<wire::VlanTag> vlan;
};

class IpHandler {
 public:
  virtual ~IpHandler() = default;
  // One validated IPv4 datagram for us: `ip` is its header (for a reassembled one,
  // the first fragment's with MF and offset cleared), `payload` its ip.payload_len
  // bytes, valid for the duration of the call.
  virtual void on_ipv4(Instant now, const wire::Ipv4Repr& ip, Bytes payload, const RxInfo& rx) = 0;
};

struct SendOptions {
  bool dont_frag = false;
  std::uint8_t ttl = 64;
  std::uint8_t dscp = 0;
  std::uint8_t ecn = 0;
  std::optional<std::uint16_t> ident;      // default: the interface's counter
  // Non-zero: send to this MAC without consulting ARP (DHCP replies to a client that
  // has no address yet, raw frame tests).
  wire::MacAddr link_dst;
};

enum class SendResult {
  sent,        // committed to the link
  queued,      // waiting for ARP resolution of the next hop (taken: do not resend)
  link_full,   // the link is full: nothing written, the writer was not called
  unresolved,  // the next hop is unresolved and its queue is full: dropped
  too_big,     // larger than the MTU (send_ipv4), or DF set (send_ipv4_fragmented)
  suppressed,  // send_icmp_error: RFC 1122 §3.2.2 forbids an error about that datagram
  invalid,     // impossible request (payload beyond 65515 bytes, MTU below 68)
};
std::string_view to_string(SendResult result);
// True when the interface took the datagram (sent or queued).
inline bool taken(SendResult r) { return r == SendResult::sent || r == SendResult::queued; }

// Fills the IPv4 payload in place; the span is exactly the payload_len asked for.
// Transport checksums use Checksum::pseudo_header(src, dst, proto, payload_len).
using PayloadWriter = FunctionRef<void(MutBytes payload)>;

struct InterfaceStats {
  std::uint64_t frames_in = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t frames_out = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t largest_frame_out = 0;
  std::uint64_t arp_in = 0;
  std::uint64_t arp_replies_sent = 0;
  std::uint64_t arp_requests_sent = 0;
  std::uint64_t ipv4_in = 0;
  std::uint64_t ipv4_delivered = 0;
  std::uint64_t fragments_in = 0;
  std::uint64_t datagrams_reassembled = 0;
  std::uint64_t datagrams_fragmented = 0;
  std::uint64_t fragments_out = 0;
  std::uint64_t frames_queued_for_arp = 0;
  std::uint64_t link_full = 0;             // sends refused by backpressure (the caller kept its data)
  std::uint64_t icmp_errors_sent = 0;
  std::uint64_t icmp_errors_suppressed = 0;
};

class NetInterface {
 public:
  // `rng` seeds the IP identification counter (one draw, at construction).
  NetInterface(InterfaceConfig config, host::FrameLink& link, IpHandler& handler, Rng& rng);

  // --- configuration ---
  const wire::MacAddr& mac() const { return config_.mac; }
  std::size_t mtu() const { return config_.mtu; }
  void set_mtu(std::size_t mtu);  // clamped to [68, 65535]
  void add_address(wire::Ipv4Addr addr);
  void remove_address(wire::Ipv4Addr addr);
  bool is_our_address(wire::Ipv4Addr addr) const;
  const std::vector<wire::Ipv4Addr>& addresses() const { return addresses_; }
  void set_subnet(std::optional<wire::Ipv4Cidr> subnet) { config_.subnet = subnet; }
  void set_gateway(std::optional<wire::Ipv4Addr> gateway) { config_.gateway = gateway; }
  void set_accept_any_destination(bool on) { config_.accept_any_destination = on; }
  const InterfaceConfig& config() const { return config_; }

  // --- input ---
  void on_frame(Instant now, Bytes frame);

  // --- output ---
  // One datagram of at most MTU bytes (header included); see the header comment.
  SendResult send_ipv4(Instant now, wire::Ipv4Addr src, wire::Ipv4Addr dst, std::uint8_t protocol,
                       std::size_t payload_len, PayloadWriter writer, const SendOptions& options = {});
  // Any datagram up to 65515 payload bytes: fragmented when above the MTU, unless DF.
  SendResult send_ipv4_fragmented(Instant now, wire::Ipv4Addr src, wire::Ipv4Addr dst, std::uint8_t protocol,
                                  std::size_t payload_len, PayloadWriter writer, const SendOptions& options = {});
  // An ICMP error (type/code, next-hop MTU for code 4) about `offending`, sent from
  // `src` back to its source; `suppressed` when RFC 1122 §3.2.2 forbids it.
  SendResult send_icmp_error(Instant now, wire::Ipv4Addr src, std::uint8_t type, std::uint8_t code,
                             std::uint16_t next_hop_mtu, const wire::Ipv4Repr& offending, Bytes offending_payload,
                             const RxInfo& rx);
  // Broadcasts an ARP request for `target` (sender: our address on its subnet, or
  // 0.0.0.0 before we have one). False when the link is full.
  bool send_arp_request(Instant now, wire::Ipv4Addr target);
  // RFC 5227 §2.3 ARP announcement of one of our addresses (sender = target = addr).
  bool announce(Instant now, wire::Ipv4Addr addr);
  // The link can take frames again: releases resolved ARP frames and the rest of a
  // fragmented datagram.
  void on_link_writable(Instant now);
  void flush() { link_.flush(); }

  // --- timers ---
  void poll(Instant now);
  std::optional<Instant> poll_at() const;

  // --- state and stats ---
  // Drops of this layer, the reassembler and the ARP resolver together.
  DropCounters drops() const;
  const InterfaceStats& stats() const { return stats_; }
  ArpCache& arp_cache() { return arp_; }
  const ArpCache& arp_cache() const { return arp_; }
  const Reassembler& reassembler() const { return reassembler_; }
  // True while the tail of a fragmented datagram waits for link room.
  bool fragments_in_progress() const { return in_progress_.has_value(); }

 private:
  struct InProgress {
    FragmentPlan plan;
    std::size_t next_offset;
    wire::MacAddr dst_mac;
  };
  enum class LinkDst { resolved, unresolved };

  void handle_arp(Instant now, const wire::EthernetFrame& eth);
  void handle_ipv4(Instant now, const wire::EthernetFrame& eth);
  bool accepts(wire::Ipv4Addr dst) const;
  bool on_link(wire::Ipv4Addr addr) const;
  wire::Ipv4Addr next_hop(wire::Ipv4Addr dst) const;
  wire::Ipv4Addr source_for(wire::Ipv4Addr target) const;
  // The link destination for `dst`, or nullopt when the next hop needs resolving.
  std::optional<wire::MacAddr> link_destination(Instant now, wire::Ipv4Addr dst, const SendOptions& options) const;
  wire::Ipv4Repr make_header(wire::Ipv4Addr src, wire::Ipv4Addr dst, std::uint8_t protocol, std::size_t payload_len,
                             const SendOptions& options) const;
  std::uint16_t take_ident(const SendOptions& options);
  bool send_arp(wire::ArpOp op, wire::MacAddr eth_dst, wire::MacAddr sender_mac, wire::Ipv4Addr sender_ip,
                wire::MacAddr target_mac, wire::Ipv4Addr target_ip);
  // Writes Ethernet (to dst_mac, from us) and returns the rest of `frame`.
  MutBytes write_ethernet(MutBytes frame, wire::MacAddr dst_mac) const;
  void count_out(std::size_t frame_len);
  void release_ready();
  void resume_fragments();
  bool emit_fragment(const FragmentPlan::Fragment& fragment, wire::MacAddr dst_mac);

  InterfaceConfig config_;
  host::FrameLink& link_;
  IpHandler& handler_;
  std::vector<wire::Ipv4Addr> addresses_;
  std::uint16_t next_ident_;
  ArpCache arp_;
  Reassembler reassembler_;
  std::vector<std::uint8_t> staging_;  // payload of a datagram being fragmented
  std::optional<InProgress> in_progress_;
  DropCounters drops_;
  InterfaceStats stats_;
};

}  // namespace tapwire::net
