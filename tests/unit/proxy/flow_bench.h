// FlowBench: what a flow handler (TcpForwarder, UdpNat, IcmpEcho) is built from in
// the Proxy — the FlowContext with its flow table, handle owners and link gate —
// around ProxyBench's interface, policy, stats and fake host. Host events are routed
// through the flow table's one handle index, as the Proxy does.
#pragma once

#include <vector>

#include "stack/proxy/flow_context.h"
#include "tests/unit/proxy/fakes.h"

namespace tapwire::proxy::fakes {

struct FlowBench : ProxyBench {
  explicit FlowBench(ProxyConfig c = {}, tcp::StackConfig tcp_config = {})
      : ProxyBench(std::move(c)),
        tcp_rng(11),
        tcp(tcp_rng, tcp_config),
        ctx{config, policy, iface, tcp, host, flows, handles, stats, gate, limit} {
    limit.set(config.max_connections, 0);
  }

  // Delivers the fake host's queued events to `handler` through the handle index;
  // every event must belong to a live flow unless `allow_stale`.
  void route_host_events(Instant now, FlowHandler& handler, bool allow_stale = false) {
    for (const host::HostEvent& e : host.take_events()) {
      Flow* flow = flows.by_handle(e.handle);
      if (!allow_stale) BOOST_REQUIRE(flow != nullptr);
      if (flow != nullptr) handler.on_host_event(now, *flow, e);
    }
  }
  // The link drained: the gate opens, the interface sends what it held, then the
  // handler resumes (the Proxy's order).
  void link_writable(Instant now, FlowHandler& handler) {
    gate.clear();
    iface.on_link_writable(now);
    handler.on_link_writable(now);
  }
  bool owns(host::Handle h) { return flows.by_handle(h) != nullptr; }
  // The guest ports of the live flows of one protocol.
  std::vector<std::uint16_t> guest_ports(FlowProtocol p) const {
    std::vector<std::uint16_t> out;
    flows.for_each([&](const Flow& f) {
      if (f.protocol == p) out.push_back(f.guest().peer.port);
    });
    return out;
  }

  Rng tcp_rng;
  tcp::TcpStack tcp;
  FlowTable flows;
  HandleOwners handles;
  LinkGate gate;
  ConnectionLimit limit;
  FlowContext ctx;
};

}  // namespace tapwire::proxy::fakes
