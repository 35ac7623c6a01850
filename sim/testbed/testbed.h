// TestBed: one simulated world around the proxy, built in one place for every driver
// of the simulator: the scenario runner (sim/scenario), the Python `tapwire.Sim`
// (pybind/) and a replay driver that plays a capture as the guest
// (docs/architecture.md §Test bed).
//
// Wiring (docs/architecture.md §The poll-driven core, the simulated driver):
//
//   guest end                        Link                       proxy end
//   GuestVm ──FramePort(to_proxy)──► to_proxy ──receiver──► Proxy::on_frame
//     or inject_to_proxy(at, frame)─┘                          │
//   GuestVm ◄──receiver(to_guest)─── to_guest ◄──FramePort──── Proxy (its FrameLink)
//     or on_frame_to_guest(callback)          (proxy_port, raises on_link_writable)
//
//   Proxy ──HostNet calls──► SimHostNet ──HostEventSink (World events)──► Proxy
//   FrameCapture: frames to the guest as the proxy transmits them, frames to the
//   proxy as the link delivers them (sim/testbed/frame_capture.h).
//
// Theory of operation
// - Build order, hence the order of link observers and of polls within an instant
//   (and so the run's digest): World(seed), Link "link" with both directions'
//   LinkParams, FrameCapture, the proxy's FramePort (to_guest), SimHostNet, Proxy (its
//   Rng is world.rng("proxy")), the proxy's World node, then the GuestVm if the options
//   have one. The World polls the proxy first, then the guest.
// - Guest-less: nothing sits at the guest's end. A driver puts frames on the wire
//   toward the proxy with inject_to_proxy (a World event at the given instant; the
//   link's impairments apply) and sees what arrives at the guest's end with
//   on_frame_to_guest. Both work with a guest too (raw frames beside the guest's own).
// - The bed is driven like the World: world().run_until(...), or wait_for(), which
//   names what it waited for when the time runs out.
// - Teardown (the destructor): the guest goes first (it removes its own node and
//   receiver), then the proxy's node leaves the World (no poll may reach a destroyed
//   proxy) and the link's receivers are cleared; then the members are destroyed in
//   reverse order of construction: proxy before the host it holds handles of, the
//   port and capture before the link they observe, the link before the World.
// - Bad options (a proxy config that does not validate, a guest address outside the
//   proxy's subnet, a DNS server or resolver spec sim/host refuses) are reported by
//   check(); the constructor throws
//   std::invalid_argument with the same message.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/world.h"
#include "sim/guest/guest_vm.h"
#include "sim/host/sim_host_net.h"
#include "sim/link/frame_port.h"
#include "sim/link/link.h"
#include "sim/link/link_params.h"
#include "sim/testbed/frame_capture.h"
#include "stack/proxy/proxy.h"

namespace tapwire::sim {

// Frames of the proxy's direction that may be in flight before its FramePort refuses
// (the proxy then waits for on_link_writable).
inline constexpr std::size_t kProxyPortMaxInFlight = 4096;

struct TestBedOptions {
  std::uint64_t seed = 1;
  proxy::ProxyConfig proxy;
  LinkParams to_proxy, to_guest;
  SimHostConfig host;                  // limits and the servers listening from time zero
  std::vector<DnsServerSpec> dns_servers;  // DNS servers of the host from time zero
  std::optional<ResolverSpec> resolver;    // the host resolver's model (none: SERVFAIL)
  std::optional<GuestVmConfig> guest;  // nullopt: no simulated guest
  CaptureOptions capture;
};

class ProxyNode;

class TestBed {
 public:
  // What arrives at the guest's end of the link.
  using FrameCallback = std::function<void(Instant, Bytes)>;

  // nullopt when the options can build a bed; otherwise what is wrong.
  static std::optional<std::string> check(const TestBedOptions& options);

  // Throws std::invalid_argument when check() finds a problem.
  explicit TestBed(TestBedOptions options);
  ~TestBed();
  TestBed(const TestBed&) = delete;
  TestBed& operator=(const TestBed&) = delete;

  World& world() { return world_; }
  const World& world() const { return world_; }
  Link& link() { return link_; }
  const Link& link() const { return link_; }
  // Changes the simulated host's fd limit at run time; the proxy's connection limit
  // follows when it is derived (max_connections 0), as in the daemon.
  void set_fd_limit(std::uint64_t fd_limit);
  proxy::Proxy& proxy() { return *proxy_; }
  const proxy::Proxy& proxy() const { return *proxy_; }
  FramePort& proxy_port() { return *proxy_port_; }
  SimHostNet& host() { return *host_; }
  const SimHostNet& host() const { return *host_; }
  GuestVm* guest() { return guest_.get(); }
  const GuestVm* guest() const { return guest_.get(); }
  FrameCapture& capture() { return *capture_; }
  const FrameCapture& capture() const { return *capture_; }
  const TestBedOptions& options() const { return options_; }

  // Puts a copy of `frame` on the link toward the proxy at `at` (now if earlier).
  void inject_to_proxy(Instant at, Bytes frame);
  // Calls `callback` for every frame that arrives at the guest's end (after the link's
  // impairments), beside the guest if there is one. An empty callback stops it.
  void on_frame_to_guest(FrameCallback callback);

  // Runs until `done` holds (true) or `timeout` of virtual time passed (false, with
  // the reason in *why: what it waited for and the virtual time reached).
  bool wait_for(std::string_view what, const std::function<bool()>& done, Duration timeout,
                std::string* why = nullptr);

  // Every counter by dotted name: proxy.*, link.<dir>.*, capture.<dir>.*, guest.* (with
  // a guest), host.*, world.* (testbed_counters.cpp).
  std::map<std::string, std::uint64_t> counters() const;
  // What is left behind that should not be: "proxy: ..." (flows, handles, timers),
  // host sockets other than listeners and lingering fds, "guest: ..." (live TCP
  // connections, unfinished apps, queued injections, active floods).
  std::vector<std::string> leaks() const;

 private:
  TestBedOptions options_;
  World world_;
  Link link_;
  std::unique_ptr<FrameCapture> capture_;
  std::unique_ptr<FramePort> proxy_port_;
  std::unique_ptr<SimHostNet> host_;
  std::unique_ptr<proxy::Proxy> proxy_;
  std::unique_ptr<ProxyNode> proxy_node_;
  std::unique_ptr<GuestVm> guest_;
  std::optional<Link::ObserverId> to_guest_observer_;
};

}  // namespace tapwire::sim
