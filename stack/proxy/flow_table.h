// FlowTable: the proxy's table of forwarded TCP connections, each a flow with two
// sides (passt's flow model): the guest side, as the VM sees it (its 4-tuple and our
// TcpStack connection), and the host side (a HostNet handle and the host endpoint
// after host-alias translation).
//
// Theory of operation
// -------------------
// A flow is created by the TcpForwarder when a guest SYN passed the policy and the
// host connect() was started, and removed when both sides are over. Its lifecycle:
//
//   CONNECTING ──host connected──► ESTABLISHED ──guest FIN──► GUEST_CLOSED ──┐
//     │  (guest SYN pending:             │                                  ├─► CLOSING ──► freed
//     │   nothing sent to the guest)     └──host EOF──► HOST_CLOSED ───────┘
//     │
//     └─ host refused / connect timeout / guest gave up ──► freed (guest gets RST)
//
//   ESTABLISHED, GUEST_CLOSED and HOST_CLOSED are the half-close states: the named
//   side sent its FIN, which the forwarder passes on (host shutdown_write after every
//   guest byte was written to the host; guest FIN after every host byte was queued
//   to the guest). CLOSING: both FINs were passed on; the host handle is closed and
//   the flow waits for the guest connection's orderly close (our FIN acknowledged)
//   to finish. A reset from either side, an idle timeout or a fatal error frees the
//   flow from any state at once (RST to the guest, abort on the host).
//
// Invariants (vpnkit#214/#392/#580): the host handle is closed BEFORE the flow
// leaves the table (remove() refuses to drop a flow whose handle is still set); no
// timer, handle or index entry outlives the flow; a later SYN for the same 4-tuple
// or port finds nothing and is handled fresh.
//
// Storage: slots addressed by FlowId (index, generation); a stale id finds nothing.
// Lookups by guest ConnId, by host Handle and by guest 4-tuple are hash maps.
// Every flow has a serial number ("flow 17"), used as the prefix of each log line
// about it: "flow 17 tcp 192.168.65.3:40000 -> 192.168.65.2:80 (127.0.0.1:80)".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stack/base/time.h"
#include "stack/host/host_net.h"
#include "stack/tcp/types.h"

namespace tapwire::proxy {

struct FlowId {
  std::uint32_t index = UINT32_MAX;
  std::uint32_t generation = 0;
  bool valid() const { return index != UINT32_MAX; }
  bool operator==(const FlowId&) const = default;
};

enum class FlowState : std::uint8_t {
  connecting,    // host connect in flight; the guest's SYN is pending (no SYN-ACK yet)
  established,   // both sides open
  guest_closed,  // the guest sent FIN (host write side shut once its data was written)
  host_closed,   // the host sent EOF (guest FIN queued after the host's data)
  closing,       // both FINs passed on; host handle closed; guest close finishing
};
// "CONNECTING", "ESTABLISHED", "GUEST_CLOSED", "HOST_CLOSED", "CLOSING".
std::string_view to_string(FlowState s);

enum class FlowProtocol : std::uint8_t { tcp };
std::string_view to_string(FlowProtocol p);

// The guest side: the connection as the VM sees it.
struct FlowGuestSide {
  tcp::Endpoint src;      // the VM's address and port
  tcp::Endpoint dst;      // where the VM sent its SYN
  tcp::ConnId conn{};     // our TcpStack connection (the guest's peer)
};

// The host side: our host socket and where it goes (after alias translation).
struct FlowHostSide {
  host::Handle handle{};  // invalid once closed
  host::Endpoint remote;  // e.g. 127.0.0.1:80 for 192.168.65.2:80
};

struct Flow {
  FlowId id{};
  std::uint64_t serial = 0;  // "flow 17": unique for the table's lifetime
  FlowProtocol protocol = FlowProtocol::tcp;
  FlowState state = FlowState::connecting;
  FlowGuestSide guest;
  FlowHostSide host;
  std::uint64_t bytes_guest_to_host = 0;
  std::uint64_t bytes_host_to_guest = 0;
  Instant created{};
  Instant last_activity{};

  // Forwarder bookkeeping (direction in the names).
  bool guest_fin = false;            // the guest's FIN arrived
  bool host_write_shut = false;      // we shut the host socket's write side
  bool host_eof = false;             // the host's EOF was read
  bool guest_write_shut = false;     // we queued our FIN to the guest
  bool guest_conn_over = false;      // the TcpStack connection reached CLOSED/TIME-WAIT
  bool host_read_paused = false;     // read interest off: the guest send buffer was full
  bool host_write_blocked = false;   // host send would block: waiting for writable
  bool wants_host_read = false;      // a host read is owed (link was full)
};

// One row of flows() for diagnostics, reports and Python.
struct FlowRow {
  std::uint64_t serial = 0;
  std::string protocol;        // "tcp"
  std::string state;           // to_string(FlowState)
  std::string guest_src;       // "192.168.65.3:40000"
  std::string guest_dst;       // "192.168.65.2:80"
  std::string host_remote;     // "127.0.0.1:80"
  bool host_open = false;      // the host handle is still open
  std::uint64_t bytes_guest_to_host = 0;
  std::uint64_t bytes_host_to_guest = 0;
  Duration age{};
  Duration idle{};
};

class FlowTable {
 public:
  FlowTable() = default;
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Adds a flow in CONNECTING; indexes it by guest ConnId, host handle and 4-tuple.
  Flow& add(Instant now, const FlowGuestSide& guest, const FlowHostSide& host);
  // Removes a flow. Refuses (returns false, flow kept) while its host handle is set:
  // the owner closes the host socket first (vpnkit#214).
  bool remove(FlowId id);

  Flow* find(FlowId id);
  const Flow* find(FlowId id) const;
  // The live flow in slot `index` whatever its generation (timer keys are indices).
  Flow* at_index(std::uint32_t index) {
    return index < slots_.size() && slots_[index].flow ? &*slots_[index].flow : nullptr;
  }
  Flow* by_conn(tcp::ConnId conn);
  Flow* by_handle(host::Handle handle);
  Flow* by_guest_tuple(tcp::Endpoint src, tcp::Endpoint dst);
  bool owns(host::Handle handle) const { return by_handle_.count(handle) != 0; }

  // The host handle was closed: drops it from the handle index.
  void clear_handle(Flow& flow);
  // The guest connection was released: drops it from the ConnId index.
  void clear_conn(Flow& flow);

  std::size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }
  std::size_t open_handles() const { return by_handle_.size(); }
  // Calls f(Flow&) for each live flow in slot order (deterministic).
  template <class F>
  void for_each(F&& f) {
    for (auto& slot : slots_)
      if (slot.flow) f(*slot.flow);
  }
  template <class F>
  void for_each(F&& f) const {
    for (const auto& slot : slots_)
      if (slot.flow) f(*slot.flow);
  }

  std::vector<FlowRow> rows(Instant now) const;
  // "flow 17 tcp 192.168.65.3:40000 -> 192.168.65.2:80 (127.0.0.1:80)"
  static std::string describe(const Flow& flow);

 private:
  struct Slot {
    std::optional<Flow> flow;
    std::uint32_t generation = 0;
  };
  static std::uint64_t conn_key(tcp::ConnId c) { return (std::uint64_t{c.generation} << 32) | c.index; }

  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
  std::size_t live_ = 0;
  std::uint64_t next_serial_ = 1;
  std::unordered_map<std::uint64_t, std::uint32_t> by_conn_;
  std::unordered_map<host::Handle, std::uint32_t> by_handle_;
  std::unordered_map<tcp::FourTuple, std::uint32_t, tcp::FourTupleHash> by_tuple_;
};

std::string to_string(const tcp::Endpoint& ep);

}  // namespace tapwire::proxy
