// IcmpEcho: the flow handler for the guest's pings (docs/architecture.md §Network
// behaviour).
//
// Theory of operation
// - Input (handle_icmp): the message is checked (length, checksum); only echo
//   requests are served (anything else from the guest is counted and dropped).
//   Requests to a broadcast or multicast address are ignored (RFC 1122 §3.2.2.6
//   lets a host do so; answering would invite smurf-style amplification), as are
//   requests from 0.0.0.0 (nowhere to answer) and to martian destinations.
// - Local answers: a request to the gateway or to the host alias is answered here,
//   as the destination: an echo reply with the same identifier, sequence number
//   and data (RFC 792), from the address that was pinged. A request larger than
//   the MTU (it arrived in fragments) is answered in fragments.
// - Forwarding: any other destination is checked by Policy (alias translation,
//   allow-list; denied -> dropped, and ICMP "administratively prohibited" from the
//   gateway unless options say otherwise) and sent through a host ping socket.
//   A session is a flow of the one FlowTable, protocol icmp: initiator = the guest
//   side (peer = guest ip with its identifier in the port field, local = the
//   destination it pinged), target = the host side (its own host ICMP handle from
//   icmp_open, peer = the host-side destination with the host identifier we
//   allocate from a counter). Unprivileged ping sockets (Linux) replace the identifier with their
//   own, so replies are matched to a session by HANDLE, never by the identifier
//   they carry; the reply goes to the guest with the guest's identifier, the
//   reply's sequence number and data, from the replying address (127.0.0.0/8
//   shown as the host alias).
// - Session lifetime: a TimerHeap entry at last_activity + session_timeout,
//   refreshed by requests and replies; at expiry the host handle is closed
//   synchronously and the session forgotten. At max_sessions the least recently
//   active session is evicted to make room.
// - Backpressure: a reply that meets a full link is dropped (counted; ping loss is
//   harmless), the LinkGate is marked full and reading stops: the session is
//   parked with read interest off until on_link_writable(), exactly like the UDP NAT.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/log.h"
#include "stack/base/time.h"
#include "stack/proxy/flow_context.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"

namespace tapwire::proxy {

// Tunables with no configuration key (yet).
struct IcmpEchoOptions {
  Duration session_timeout = Duration::seconds(60);
  std::size_t max_sessions = 256;
  bool admin_prohibited_on_deny = true;
  std::uint16_t first_host_id = 1;  // host identifiers are allocated from here, in order
};

class IcmpEcho final : public FlowHandler {
 public:
  IcmpEcho(FlowContext& ctx, Logger logger, IcmpEchoOptions options = {});
  IcmpEcho(const IcmpEcho&) = delete;
  IcmpEcho& operator=(const IcmpEcho&) = delete;

  // An ICMP message from the guest (`ip_payload` is the whole ICMP message).
  void handle_icmp(Instant now, const wire::Ipv4Repr& ip, Bytes ip_payload, const net::RxInfo& rx);

  // FlowHandler
  void on_host_event(Instant now, Flow& flow, const host::HostEvent& event) override;
  void on_link_writable(Instant now) override;
  void poll(Instant now) override;
  void close_all(Instant now) override;

  std::size_t session_count() const { return ctx_.flows.size(FlowProtocol::icmp); }
  // The host identifier of a session (its target side's port), for tests.
  static std::uint16_t host_id(const Flow& flow) { return flow.host().peer.port; }

 private:
  void answer_locally(Instant now, const wire::Ipv4Repr& ip, const wire::IcmpRepr& request);
  void forward(Instant now, const wire::Ipv4Repr& ip, Bytes ip_payload, const net::RxInfo& rx,
               const wire::IcmpRepr& request);
  FlowId open_session(Instant now, tcp::Endpoint guest, wire::Ipv4Addr dst, wire::Ipv4Addr host_dst);
  void close_session(FlowId id, Counter why);
  void touch(Instant now, Flow& flow);
  std::uint16_t allocate_host_id();
  void drain(Instant now, FlowId id);

  FlowContext& ctx_;
  Logger log_;
  IcmpEchoOptions options_;
  std::unordered_map<std::uint16_t, FlowId> by_host_id_;
  std::uint16_t next_host_id_;
  OwedReads parked_;
  std::vector<std::uint8_t> rx_buf_;
};

}  // namespace tapwire::proxy
