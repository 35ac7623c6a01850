// DhcpService: the DHCP server (dhcp_server.h) registered as the gateway service on
// udp/67, broadcasts included (docs/architecture.md §Gateway services).
#pragma once

#include <string_view>
#include <utility>

#include "stack/base/log.h"
#include "stack/proxy/dhcp_server.h"
#include "stack/proxy/flow_context.h"
#include "stack/proxy/gateway_service.h"
#include "stack/wire/dhcp.h"

namespace tapwire::proxy {

class DhcpService final : public GatewayService {
 public:
  static constexpr ServicePort kPort{L4::udp, wire::kDhcpServerPort, true};

  DhcpService(FlowContext& ctx, Logger logger) : server_(ctx.iface, ctx.config, std::move(logger), ctx.stats) {}

  std::string_view name() const override { return "dhcp"; }
  void on_datagram(Instant now, const wire::Ipv4Repr& ip, const wire::UdpRepr& udp, Bytes,
                   const net::RxInfo& rx) override {
    server_.handle_udp(now, ip, udp, rx);
  }
  // A MAC that sends more than DHCP keeps its lease when the pool runs out.
  void on_guest_traffic(Instant now, const net::RxInfo& rx) override { server_.note_traffic(rx.src_mac, now); }
  void poll(Instant now) override { server_.poll(now); }
  std::optional<Instant> poll_at() const override { return server_.poll_at(); }

  DhcpServer& server() { return server_; }
  const DhcpServer& server() const { return server_; }

 private:
  DhcpServer server_;
};

}  // namespace tapwire::proxy
