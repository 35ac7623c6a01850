// PortForwards: host -> guest port forwards (docs/architecture.md §Port forwarding):
// the listeners on the host, what each accepted connection or datagram becomes, and
// the one API (add, remove, list) that the simulator, Python, the daemon's --forward
// flags and its control socket all go through.
//
// Theory of operation
// -------------------
// A forward "tcp:HOSTIP:HPORT:GUESTIP:GPORT" (or udp:) is one host listener, owned
// here and registered in HandleOwners (a listener is expected, never a leak, and does
// not count towards the connection limit: it comes from the fd reserve).
//
// add(): checks, in order: the guest address is a usable address of the subnet (not
// the network, broadcast, gateway or host alias); the bind address may be bound (not
// multicast, broadcast or inside the guest's subnet); no forward already has the same
// protocol and host endpoint (a duplicate); then binds (port 0 picks a free port,
// reported in the status). Each failure has its own ForwardErrorKind and a message.
//
// TCP, per accept_ready: accept until would_block (the backlog the kernel queued is
// served in one go), and per accepted connection
//   over the connection limit -> abort at once (the client sees RST), counted,
//     warned once per 30 s;
//   otherwise -> TcpForwarder::open_to_guest: a guest connection from the gateway
//     address (the guest sees the gateway as its peer, as slirp4netns and
//     gvisor-tap-vsock do), a flow with initiator Pif::host.
// An accept that fails with the fd limit (EMFILE) pauses the listener (read interest
// off) instead of retrying at once, which would spin: it resumes as soon as a flow
// gives a host socket back, or after kAcceptRetry at the latest.
//
// UDP: the listener's datagrams go to UdpNat, which keeps one flow per host client
// address (same idle timeout and cap as the NAT) and sends the guest's replies back
// through this listener.
//
// remove(): closes the listener at once (new connections are refused by the host);
// TCP connections already accepted finish normally; UDP flows of the forward end
// with it (their replies would have no socket to leave by).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack/base/log.h"
#include "stack/base/result.h"
#include "stack/base/time.h"
#include "stack/proxy/config.h"
#include "stack/proxy/flow_context.h"

namespace tapwire::proxy {

class TcpForwarder;
class UdpNat;

enum class ForwardErrorKind : std::uint8_t {
  invalid,               // not a forward spec at all
  guest_outside_subnet,  // the guest address is not a usable address of the subnet
  address_not_allowed,   // the host address cannot be bound (multicast, ours, not on this host)
  duplicate,             // a forward with this protocol and host address:port exists
  address_in_use,        // something else holds the host address:port
  no_resources,          // out of descriptors or ports
  host_error,            // any other host failure
};
// "invalid", "guest_outside_subnet", "address_not_allowed", "duplicate", "address_in_use", ...
std::string_view to_string(ForwardErrorKind kind);

struct ForwardError {
  ForwardErrorKind kind = ForwardErrorKind::invalid;
  std::string message;  // for a person: "tcp:127.0.0.1:8080:...: address in use"
};

// One forward as the API reports it.
struct ForwardStatus {
  PortForward spec;       // as bound: port 0 replaced by the port the host chose
  std::string requested;  // the spec as asked for ("tcp:127.0.0.1:0:192.168.65.3:80")
  bool paused = false;    // accepting paused: the host's fd limit was met
  std::uint64_t accepted = 0;      // TCP connections accepted / UDP client flows opened
  std::uint64_t limit_closed = 0;  // accepted and closed at once over the connection limit
  std::uint64_t active = 0;        // live flows of this forward now
};

class PortForwards final : public host::HostEventSink {
 public:
  // How long a listener paused by the fd limit waits at most before accepting again.
  static constexpr Duration kAcceptRetry = Duration::millis(100);
  // The listen backlog when listen_backlog is 0: Linux's SOMAXCONN (4096 since 5.4;
  // the kernel clamps any larger value to net.core.somaxconn).
  static constexpr int kDefaultBacklog = 4096;

  PortForwards(FlowContext& ctx, TcpForwarder& tcp, UdpNat& udp, Logger logger = {});
  PortForwards(const PortForwards&) = delete;
  PortForwards& operator=(const PortForwards&) = delete;

  Result<ForwardStatus, ForwardError> add(Instant now, const PortForward& spec);
  // Removes the forward whose spec (as asked or as bound) matches; false when none.
  bool remove(Instant now, const PortForward& spec);
  std::vector<ForwardStatus> list() const;
  std::size_t size() const { return forwards_.size(); }

  // Listener events (HandleOwners routes them here).
  void on_host_event(Instant now, const host::HostEvent& event) override;
  void poll(Instant now);
  std::optional<Instant> poll_at() const;
  // Shutdown: every listener closed.
  void close_all(Instant now);

 private:
  struct Forward {
    PortForward spec;
    std::string requested;
    host::Handle listener;
    bool paused = false;
    Instant retry_at{};
    std::uint64_t closes_seen = 0;  // FlowTable::handles_closed() when paused
    std::uint64_t accepted = 0;
    std::uint64_t limit_closed = 0;
  };

  Forward* by_listener(host::Handle h);
  void accept_all(Instant now, Forward& fwd);
  void pause(Instant now, Forward& fwd);
  void resume(Instant now, Forward& fwd);
  void close_listener(Forward& fwd);
  std::optional<ForwardError> check(const PortForward& spec) const;

  FlowContext& ctx_;
  TcpForwarder& tcp_;
  UdpNat& udp_;
  Logger log_;
  std::vector<Forward> forwards_;
};

}  // namespace tapwire::proxy
