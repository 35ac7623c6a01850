#include "sim/guest/dhcp_client.h"

#include <algorithm>
#include <bit>

namespace tapwire::sim {

DhcpClient::DhcpClient(wire::MacAddr mac, Rng& rng, Duration initial_timeout, Duration max_timeout)
    : mac_(mac), rng_(rng), initial_(initial_timeout), max_(std::max(max_timeout, initial_timeout)),
      gap_(initial_timeout) {}

void DhcpClient::start(Instant now) {
  lease_ = Lease{};
  gap_ = initial_;
  begin_selecting(now);
}

void DhcpClient::begin_selecting(Instant now) {
  // RFC 2131 §4.4.1: a new xid for each configuration attempt.
  xid_ = rng_.next_u32();
  outgoing_ = wire::make_dhcp_discover(mac_, xid_);
  phase_ = Phase::selecting;
  next_send_ = now;
  requests_this_offer_ = 0;
}

const wire::DhcpRepr* DhcpClient::message_due(Instant now) const {
  if (!active() || now < next_send_) return nullptr;
  return &outgoing_;
}

void DhcpClient::message_sent(Instant now) {
  if (!active()) return;
  if (phase_ == Phase::selecting) {
    ++stats_.discovers_sent;
  } else {
    ++stats_.requests_sent;
    ++requests_this_offer_;
  }
  // The next transmission: gap_ from now, then the gap doubles up to max_.
  next_send_ = now + gap_;
  gap_ = std::min(gap_ * 2, max_);
  if (phase_ == Phase::requesting && requests_this_offer_ >= kMaxRequests) {
    // The next due message is a fresh DISCOVER (at the same time a REQUEST would be).
    const Instant at = next_send_;
    begin_selecting(at);
    next_send_ = at;
  }
}

bool DhcpClient::on_message(Instant now, const wire::DhcpRepr& msg) {
  if (msg.op != wire::DhcpOp::reply || msg.xid != xid_ || msg.client_mac() != mac_ ||
      !msg.options.message_type) {
    ++stats_.ignored;
    return false;
  }
  const wire::DhcpMessageType type = *msg.options.message_type;
  if (phase_ == Phase::selecting && type == wire::DhcpMessageType::offer) {
    ++stats_.offers;
    if (msg.yiaddr.is_unspecified() || !msg.options.server_id) {
      ++stats_.ignored;
      return false;
    }
    // RFC 2131 §4.4.1: the first acceptable offer wins; REQUEST it with the same xid.
    outgoing_ = wire::make_dhcp_request(mac_, xid_, msg.yiaddr, *msg.options.server_id);
    phase_ = Phase::requesting;
    next_send_ = now;
    gap_ = initial_;
    requests_this_offer_ = 0;
    return false;
  }
  if (phase_ == Phase::requesting && type == wire::DhcpMessageType::ack) {
    ++stats_.acks;
    Lease l;
    l.ip = msg.yiaddr;
    if (msg.options.subnet_mask) {
      const std::uint32_t mask = msg.options.subnet_mask->value;
      const auto prefix = static_cast<std::uint8_t>(std::popcount(mask));
      l.subnet = wire::Ipv4Cidr{wire::Ipv4Addr{msg.yiaddr.value & mask}, prefix};
    }
    if (!msg.options.routers.empty()) l.gateway = msg.options.routers.front();
    l.dns = msg.options.dns_servers;
    l.mtu = msg.options.interface_mtu;
    l.server = msg.options.server_id;
    l.domain = msg.options.domain_name;
    l.lease_seconds = msg.options.lease_time.value_or(0);
    l.bound_at = now;
    l.done = true;
    lease_ = std::move(l);
    phase_ = Phase::bound;
    return true;
  }
  if (phase_ == Phase::requesting && type == wire::DhcpMessageType::nak) {
    // RFC 2131 §4.4.1: on DHCPNAK the client restarts the configuration process.
    ++stats_.naks;
    gap_ = initial_;
    begin_selecting(now);
    return false;
  }
  ++stats_.ignored;
  return false;
}

std::optional<Instant> DhcpClient::poll_at() const {
  if (!active()) return std::nullopt;
  return next_send_;
}

}  // namespace tapwire::sim
