// IcmpEcho: the guest's pings (DESIGN.md §4, issue 4 item 5).
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
//   A session is (guest ip, guest identifier, guest-side destination); each has
//   its own host ICMP handle (icmp_open) and a host identifier we allocate from a
//   counter. Unprivileged ping sockets (Linux) replace the identifier with their
//   own, so replies are matched to a session by HANDLE, never by the identifier
//   they carry; the reply goes to the guest with the guest's identifier, the
//   reply's sequence number and data, from the replying address (127.0.0.0/8
//   shown as the host alias).
// - Session lifetime: a TimerHeap entry at last_activity + session_timeout,
//   refreshed by requests and replies; at expiry the host handle is closed
//   synchronously and the session forgotten. At max_sessions the least recently
//   active session is evicted to make room.
// - Backpressure: a reply that meets a full link is dropped (counted; ping loss is
//   harmless) and reading stops: the session is parked with read interest off
//   until on_link_writable(), exactly like the UDP NAT.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/log.h"
#include "stack/base/time.h"
#include "stack/host/host_net.h"
#include "stack/net/interface.h"
#include "stack/proxy/config.h"
#include "stack/proxy/policy.h"
#include "stack/base/slot_table.h"
#include "stack/proxy/stats.h"
#include "stack/base/timer_heap.h"
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

struct IcmpSessionRow {
  wire::Ipv4Addr guest_ip;
  std::uint16_t guest_id = 0;
  wire::Ipv4Addr dst;       // as the guest addressed it
  wire::Ipv4Addr host_dst;  // after alias translation
  std::uint16_t host_id = 0;
  host::Handle handle;
  Instant last_activity;
  Instant expires;
  std::uint64_t requests = 0;
  std::uint64_t replies = 0;
};

class IcmpEcho {
 public:
  IcmpEcho(net::NetInterface& iface, host::HostNet& host, const ProxyConfig& config, const Policy& policy,
           Logger logger, ProxyStats& stats, IcmpEchoOptions options = {});
  IcmpEcho(const IcmpEcho&) = delete;
  IcmpEcho& operator=(const IcmpEcho&) = delete;

  // An ICMP message from the guest (`ip_payload` is the whole ICMP message).
  void handle_icmp(Instant now, const wire::Ipv4Repr& ip, Bytes ip_payload, const net::RxInfo& rx);

  bool owns(host::Handle h) const { return by_handle_.count(h) != 0; }
  void on_host_event(Instant now, const host::HostEvent& event);
  void on_link_writable(Instant now);
  bool link_blocked() const { return blocked_; }

  void poll(Instant now);
  std::optional<Instant> poll_at() const { return timers_.next_deadline(); }
  void close_all();

  // --- introspection ---
  std::vector<IcmpSessionRow> sessions() const;
  std::size_t session_count() const { return by_key_.size(); }
  std::size_t handle_count() const { return by_handle_.size(); }
  std::size_t timer_count() const { return timers_.size(); }

 private:
  using SessionId = SlotId;
  struct Key {
    wire::Ipv4Addr guest_ip;
    std::uint16_t guest_id = 0;
    wire::Ipv4Addr dst;
    auto operator<=>(const Key&) const = default;
  };
  struct Session {
    bool ready = false;
    Key key;
    IcmpSessionRow row;
  };

  void answer_locally(Instant now, const wire::Ipv4Repr& ip, const wire::IcmpRepr& request);
  void forward(Instant now, const wire::Ipv4Repr& ip, Bytes ip_payload, const net::RxInfo& rx,
               const wire::IcmpRepr& request);
  Session* find(SessionId id);
  SessionId open_session(Instant now, const Key& key, wire::Ipv4Addr host_dst);
  void close_session(SessionId id, Counter why);
  void touch(Instant now, SessionId id);
  std::uint16_t allocate_host_id();
  void drain(Instant now, SessionId id);
  void park(SessionId id);

  net::NetInterface& iface_;
  host::HostNet& host_;
  const Policy& policy_;
  Logger log_;
  ProxyStats& stats_;
  IcmpEchoOptions options_;

  SlotTable<Session> slots_;
  std::map<Key, SessionId> by_key_;
  std::unordered_map<host::Handle, SessionId> by_handle_;
  std::map<std::uint16_t, SessionId> by_host_id_;
  TimerHeap<SessionId> timers_;
  std::uint16_t next_host_id_;

  bool blocked_ = false;
  std::vector<SessionId> ready_;
  std::vector<std::uint8_t> rx_buf_;
};

}  // namespace tapwire::proxy
