#include "stack/proxy/gateway_service.h"

#include <utility>

namespace tapwire::proxy {

bool ServiceRegistry::add(std::unique_ptr<GatewayService> service, std::vector<ServicePort> ports) {
  for (const ServicePort& p : ports)
    for (const Binding& b : bindings_)
      if (b.port.protocol == p.protocol && b.port.port == p.port) return false;
  for (const ServicePort& p : ports) bindings_.push_back(Binding{p, service.get()});
  services_.push_back(std::move(service));
  return true;
}

GatewayService* ServiceRegistry::find(const Policy& policy, wire::Ipv4Addr dst, L4 protocol,
                                      std::uint16_t port) const {
  const bool to_gateway = policy.is_gateway(dst);
  const bool broadcast = protocol == L4::udp && policy.is_broadcast(dst);
  if (!to_gateway && !broadcast) return nullptr;
  for (const Binding& b : bindings_) {
    if (b.port.protocol != protocol || b.port.port != port) continue;
    if (to_gateway || b.port.broadcast) return b.service;
  }
  return nullptr;
}

GatewayService* ServiceRegistry::owner_of(tcp::ConnId conn) const {
  const auto it = connections_.find(slot_key(conn));
  return it == connections_.end() ? nullptr : it->second;
}

void ServiceRegistry::note_connection(tcp::ConnId conn, GatewayService& service) {
  connections_[slot_key(conn)] = &service;
}

void ServiceRegistry::forget_connection(tcp::ConnId conn) { connections_.erase(slot_key(conn)); }

}  // namespace tapwire::proxy
