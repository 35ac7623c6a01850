#include "stack/proxy/stats.h"

#include <array>

#include "stack/host/host_net.h"
#include "stack/net/interface.h"

namespace tapwire::proxy {

namespace {

#define TAPWIRE_PROXY_COUNTER_NAME(id, name) std::string_view{name},
#define TAPWIRE_PROXY_DROP_NAME(id) std::string_view{#id},

constexpr std::array<std::string_view, static_cast<std::size_t>(Counter::count_)> kCounterNames{
    TAPWIRE_PROXY_COUNTERS(TAPWIRE_PROXY_COUNTER_NAME)};
constexpr std::array<std::string_view, static_cast<std::size_t>(Drop::count_)> kDropNames{
    TAPWIRE_PROXY_DROPS(TAPWIRE_PROXY_DROP_NAME)};

#undef TAPWIRE_PROXY_COUNTER_NAME
#undef TAPWIRE_PROXY_DROP_NAME

void add_interface(std::map<std::string, std::uint64_t>& out, const net::NetInterface& iface) {
  const net::InterfaceStats& s = iface.stats();
  const std::pair<const char*, std::uint64_t> fields[] = {
      {"net.frames_in", s.frames_in},
      {"net.bytes_in", s.bytes_in},
      {"net.frames_out", s.frames_out},
      {"net.bytes_out", s.bytes_out},
      {"net.largest_frame_out", s.largest_frame_out},
      {"net.arp_in", s.arp_in},
      {"net.arp_replies_sent", s.arp_replies_sent},
      {"net.arp_requests_sent", s.arp_requests_sent},
      {"net.ipv4_in", s.ipv4_in},
      {"net.ipv4_delivered", s.ipv4_delivered},
      {"net.fragments_in", s.fragments_in},
      {"net.datagrams_reassembled", s.datagrams_reassembled},
      {"net.datagrams_fragmented", s.datagrams_fragmented},
      {"net.fragments_out", s.fragments_out},
      {"net.frames_queued_for_arp", s.frames_queued_for_arp},
      {"net.link_full", s.link_full},
      {"net.icmp_errors_sent", s.icmp_errors_sent},
      {"net.icmp_errors_suppressed", s.icmp_errors_suppressed},
  };
  for (const auto& [name, value] : fields) out.emplace(name, value);
  iface.drops().for_each(
      [&](net::DropReason, std::string_view name, std::uint64_t value) {
        out.emplace("drop.net." + std::string(name), value);
      },
      /*include_zero=*/true);
}

void add_host(std::map<std::string, std::uint64_t>& out, const host::HostNet& host) {
  const host::HostNetCounters c = host.counters();
  out.emplace("host.open_handles", c.open_handles);
  out.emplace("host.tcp_connects", c.tcp_connects);
  out.emplace("host.tcp_accepts", c.tcp_accepts);
  out.emplace("host.udp_opens", c.udp_opens);
  out.emplace("host.fd_limit_hits", c.fd_limit_hits);
  out.emplace("host.close_errors", c.close_errors);
}

}  // namespace

std::string_view to_string(Counter counter) {
  const auto i = static_cast<std::size_t>(counter);
  return i < kCounterNames.size() ? kCounterNames[i] : std::string_view{"unknown"};
}

std::string_view to_string(Drop reason) {
  const auto i = static_cast<std::size_t>(reason);
  return i < kDropNames.size() ? kDropNames[i] : std::string_view{"unknown"};
}

std::map<std::string, std::uint64_t> ProxyStats::to_map(const net::NetInterface* iface,
                                                        const host::HostNet* host) const {
  std::map<std::string, std::uint64_t> out;
  counters_.for_each([&](Counter, std::string_view name, std::uint64_t value) { out.emplace(name, value); },
                     /*include_zero=*/true);
  drops_.for_each(
      [&](Drop, std::string_view name, std::uint64_t value) { out.emplace("drop." + std::string(name), value); },
      /*include_zero=*/true);
  if (iface != nullptr) add_interface(out, *iface);
  if (host != nullptr) add_host(out, *host);
  return out;
}

}  // namespace tapwire::proxy
