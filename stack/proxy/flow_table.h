// FlowTable: every flow the proxy carries, whatever its protocol (TCP connections,
// UDP NAT mappings, ICMP echo sessions) and whichever end opened it, in one table
// (docs/architecture.md §Flows).
//
// Theory of operation
// -------------------
// A flow joins two sides, named for their role (passt's model): the *initiator*
// (who opened it) and the *target* (whom the proxy reached for it). Each side faces
// one network, its Pif: the guest (the VM, through our TcpStack or raw datagrams)
// or the host (a HostNet handle). A guest connect is guest -> host; a port forward
// is host -> guest. On each side, `peer` is the far end as that network sees it and
// `local` is the proxy's own address there:
//
//   guest connect 192.168.65.3:40000 -> 192.168.65.2:80
//     initiator  Pif::guest  peer 192.168.65.3:40000  local 192.168.65.2:80  conn
//     target     Pif::host   peer 127.0.0.1:80        local (unknown)        handle
//
// The table knows only what every protocol shares: protocol, sides, state, byte
// counters both ways and times. What a protocol needs beyond that (FIN bookkeeping,
// read pauses, datagram counts, host ICMP identifiers) lives in its handler
// (TcpForwarder, UdpNat, IcmpEcho), in a PerFlow<T> array indexed by FlowId.
//
// Indexes: by HostNet handle (every host event reaches its flow through this one
// map; docs/architecture.md §The poll-driven core), by TcpStack connection, and by
// the guest side's endpoints per protocol (TCP: the 4-tuple; UDP: the guest's
// ip:port with `local` 0.0.0.0:0, an endpoint-independent mapping; ICMP: the
// guest's ip and echo identifier with `local` = the destination it pinged).
//
// Lifecycle (TCP; UDP and ICMP flows are ACTIVE from creation until idle expiry,
// eviction or shutdown):
//
//   CONNECTING ──target reached──► ESTABLISHED ──guest FIN──► GUEST_CLOSED ──┐
//     │  (the initiator waits:          │                                  ├─► CLOSING ──► removed
//     │   no SYN-ACK / no accept yet)   └──host EOF──► HOST_CLOSED ───────┘
//     └─ target refused / connect timeout / initiator gave up ──► removed (RST)
//
// Who closes what: the protocol's handler owns both ends of its flows. It closes the
// host handle (HostNet::close or abort, synchronous) and calls clear_handle(), then
// releases the guest connection and calls clear_conn(), then remove(). The
// invariant, checked here: the host handle is closed BEFORE the flow leaves the
// table — remove() refuses a flow whose handle is still set (vpnkit#214: a slot freed
// before its socket leaked descriptors under connection floods). No index entry
// outlives its flow, so a later SYN or datagram for the same endpoints starts fresh
// (vpnkit#580). Host handles that the proxy owns but that are not flows (a forward's
// listener, a service's upstream socket) are registered as expected handles
// (HandleOwners), so leak checks report only what nobody owns.
//
// Storage: a SlotTable, so FlowIds carry a generation and a stale id finds nothing.
// Every flow has a serial number, the prefix of each log line about it:
// "flow 17 tcp 192.168.65.3:40000 -> 192.168.65.2:80 (127.0.0.1:80)".
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stack/base/slot_table.h"
#include "stack/base/time.h"
#include "stack/host/host_net.h"
#include "stack/tcp/types.h"

namespace tapwire::proxy {

using FlowId = SlotId;

enum class FlowProtocol : std::uint8_t { tcp, udp, icmp };
inline constexpr std::size_t kFlowProtocols = 3;
std::string_view to_string(FlowProtocol p);

// The network a side faces.
enum class Pif : std::uint8_t { guest, host };
std::string_view to_string(Pif p);

enum class FlowState : std::uint8_t {
  connecting,    // the target is being reached; the initiator waits (guest SYN pending)
  established,   // both sides open
  guest_closed,  // the guest sent FIN (host write side shut once its data was written)
  host_closed,   // the host sent EOF (guest FIN queued after the host's data)
  closing,       // both FINs passed on; host handle closed; guest close finishing
  active,        // a datagram flow (UDP, ICMP echo): open until idle, evicted or shut down
};
// "CONNECTING", "ESTABLISHED", "GUEST_CLOSED", "HOST_CLOSED", "CLOSING", "ACTIVE".
std::string_view to_string(FlowState s);

struct FlowSide {
  Pif pif = Pif::guest;
  tcp::Endpoint peer;     // the far end, as this side's network sees it
  tcp::Endpoint local;    // the proxy's address on this side (0.0.0.0:0 when any/unknown)
  tcp::ConnId conn{};     // guest side of a TCP flow: our TcpStack connection
  host::Handle handle{};  // host side: our socket (invalid once closed)
};

struct Flow {
  FlowId id{};
  std::uint64_t serial = 0;  // "flow 17": unique for the table's lifetime
  FlowProtocol protocol = FlowProtocol::tcp;
  FlowState state = FlowState::connecting;
  FlowSide initiator;
  FlowSide target;
  std::uint64_t bytes_guest_to_host = 0;
  std::uint64_t bytes_host_to_guest = 0;
  Instant created{};
  Instant last_activity{};
  // Link backpressure (not a protocol matter): a host read is owed once the link to
  // the guest drains (see LinkGate).
  bool owed_read = false;

  // Exactly one side faces each network.
  FlowSide& guest() { return initiator.pif == Pif::guest ? initiator : target; }
  const FlowSide& guest() const { return initiator.pif == Pif::guest ? initiator : target; }
  FlowSide& host() { return initiator.pif == Pif::host ? initiator : target; }
  const FlowSide& host() const { return initiator.pif == Pif::host ? initiator : target; }
  bool guest_initiated() const { return initiator.pif == Pif::guest; }
};

// One row of flows() for diagnostics, reports and Python. The guest_* fields are the
// guest side's endpoints ("*" where a datagram flow has none), whoever initiated.
struct FlowRow {
  std::uint64_t serial = 0;
  std::string protocol;        // "tcp", "udp", "icmp"
  std::string initiator;       // "guest" or "host"
  std::string state;           // to_string(FlowState)
  std::string guest_src;       // the guest's end: "192.168.65.3:40000"
  std::string guest_dst;       // what the guest addressed: "192.168.65.2:80" ("*" for UDP)
  std::string host_remote;     // the host's end: "127.0.0.1:80" ("*" for a UDP NAT flow)
  std::string host_local;      // a forwarded flow's listener "127.0.0.1:8080" ("" otherwise)
  bool host_open = false;      // the host handle is still open
  std::uint64_t bytes_guest_to_host = 0;
  std::uint64_t bytes_host_to_guest = 0;
  Duration age{};
  Duration idle{};
};

// Per-flow data of one handler, indexed by FlowId (slot index). The handler resets
// an entry when it creates the flow.
template <class T>
class PerFlow {
 public:
  T& operator[](FlowId id) {
    if (id.index >= entries_.size()) entries_.resize(id.index + 1);
    return entries_[id.index];
  }
  T& reset(FlowId id) { return (*this)[id] = T{}; }

 private:
  std::vector<T> entries_;
};

class FlowTable {
 public:
  FlowTable() = default;
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Adds a flow (state CONNECTING for TCP, ACTIVE otherwise) and indexes its
  // handle, connection and guest-side endpoints. The reference is valid until the
  // next add(); keep the FlowId beyond that.
  Flow& add(Instant now, FlowProtocol protocol, const FlowSide& initiator, const FlowSide& target);
  // Removes a flow. Refuses (returns false, flow kept) while its host handle is set:
  // the handler closes the host socket first (vpnkit#214).
  bool remove(FlowId id);

  Flow* find(FlowId id) { return slots_.find(id); }
  const Flow* find(FlowId id) const { return slots_.find(id); }
  Flow* by_conn(tcp::ConnId conn);
  Flow* by_handle(host::Handle handle);
  // The flow whose guest side has these endpoints (see the header comment).
  Flow* by_guest(FlowProtocol protocol, tcp::Endpoint peer, tcp::Endpoint local);

  // The host side's handle: set once opened, cleared once closed.
  void set_handle(Flow& flow, host::Handle handle);
  void clear_handle(Flow& flow);
  // Closes the host side's socket (aborts it, RST, with `reset`) and clears the handle,
  // so the socket is gone before anything else happens to the flow (vpnkit#214). The
  // handle is released even when the host reports an error closing it; the error is
  // returned for the caller to log. Nothing to do (ok) when no handle is set.
  Status close_handle(Flow& flow, host::HostNet& host, bool reset);
  // Host handles closed through close_handle so far: a listener paused by the fd limit
  // resumes when this moves (stack/proxy/port_forwards.h).
  std::uint64_t handles_closed() const { return handles_closed_; }
  // The guest connection was released: drops it from the connection index.
  void clear_conn(Flow& flow);

  std::size_t size() const { return live_; }
  std::size_t size(FlowProtocol p) const { return per_protocol_[static_cast<std::size_t>(p)]; }
  bool empty() const { return live_ == 0; }
  std::size_t open_handles() const { return by_handle_.size(); }
  std::size_t connections() const { return by_conn_.size(); }

  // The live flows of one protocol, in slot order (a handler's close_all).
  std::vector<FlowId> ids(FlowProtocol protocol) const;
  // Calls f(Flow&) for each live flow in slot order (deterministic).
  template <class F>
  void for_each(F&& f) {
    slots_.for_each_live([&](FlowId, Flow& flow) { f(flow); });
  }
  template <class F>
  void for_each(F&& f) const {
    slots_.for_each_live([&](FlowId, const Flow& flow) { f(flow); });
  }

  std::vector<FlowRow> rows(Instant now) const;
  // "flow 17 tcp 192.168.65.3:40000 -> 192.168.65.2:80 (127.0.0.1:80)"; a flow the
  // host initiated: "flow 18 tcp host 127.0.0.1:5555 -> 127.0.0.1:8080 (guest 192.168.65.3:80)".
  static std::string describe(const Flow& flow);

 private:
  struct GuestKey {
    FlowProtocol protocol;
    tcp::Endpoint peer;
    tcp::Endpoint local;
    bool operator==(const GuestKey&) const = default;
  };
  struct GuestKeyHash {
    std::size_t operator()(const GuestKey& k) const noexcept;
  };
  static GuestKey key_of(const Flow& f);

  SlotTable<Flow> slots_;
  std::size_t live_ = 0;
  std::array<std::size_t, kFlowProtocols> per_protocol_{};
  std::uint64_t next_serial_ = 1;
  std::uint64_t handles_closed_ = 0;
  std::unordered_map<std::uint64_t, FlowId> by_conn_;
  std::unordered_map<host::Handle, FlowId> by_handle_;
  std::unordered_map<GuestKey, FlowId, GuestKeyHash> by_guest_;
};

std::string to_string(const tcp::Endpoint& ep);

}  // namespace tapwire::proxy
