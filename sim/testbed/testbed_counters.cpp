#include "sim/testbed/testbed_counters.h"

#include <algorithm>

#include "sim/testbed/testbed.h"

namespace tapwire::sim {

namespace {

constexpr LinkCounterField kLinkFields[] = {
    {"sent", &LinkCounters::sent},
    {"bytes_sent", &LinkCounters::bytes_sent},
    {"delivered", &LinkCounters::delivered},
    {"bytes_delivered", &LinkCounters::bytes_delivered},
    {"dropped_loss", &LinkCounters::dropped_loss},
    {"dropped_queue", &LinkCounters::dropped_queue},
    {"dropped_blackhole", &LinkCounters::dropped_blackhole},
    {"dropped_partition", &LinkCounters::dropped_partition},
    {"dropped_rule", &LinkCounters::dropped_rule},
    {"duplicated", &LinkCounters::duplicated},
    {"reordered", &LinkCounters::reordered},
    {"corrupted", &LinkCounters::corrupted},
    {"delayed_by_rule", &LinkCounters::delayed_by_rule},
};

constexpr GuestCounterField kGuestFields[] = {
    {"frames_in", &GuestCounters::frames_in},
    {"frames_injected", &GuestCounters::frames_injected},
    {"inject_queued", &GuestCounters::inject_queued},
    {"echo_requests_answered", &GuestCounters::echo_requests_answered},
    {"echo_replies_unmatched", &GuestCounters::echo_replies_unmatched},
    {"icmp_errors_in", &GuestCounters::icmp_errors_in},
    {"pings_sent", &GuestCounters::pings_sent},
    {"pings_ok", &GuestCounters::pings_ok},
    {"pings_timed_out", &GuestCounters::pings_timed_out},
    {"udp_sent", &GuestCounters::udp_sent},
    {"udp_received", &GuestCounters::udp_received},
    {"udp_no_socket", &GuestCounters::udp_no_socket},
    {"udp_queue_full", &GuestCounters::udp_queue_full},
    {"tcp_segments_in", &GuestCounters::tcp_segments_in},
    {"tcp_bad_segments", &GuestCounters::tcp_bad_segments},
    {"tcp_segments_out", &GuestCounters::tcp_segments_out},
    {"tcp_segments_too_big", &GuestCounters::tcp_segments_too_big},
    {"not_for_us", &GuestCounters::not_for_us},
    {"link_full", &GuestCounters::link_full},
};

constexpr GuestDnsCounterField kGuestDnsFields[] = {
    {"queries", &GuestDnsCounters::queries},
    {"udp_sent", &GuestDnsCounters::udp_sent},
    {"tcp_channels", &GuestDnsCounters::tcp_channels},
    {"tcp_fallbacks", &GuestDnsCounters::tcp_fallbacks},
    {"answered", &GuestDnsCounters::answered},
    {"rejected", &GuestDnsCounters::rejected},
    {"timed_out", &GuestDnsCounters::timed_out},
    {"failed", &GuestDnsCounters::failed},
    {"ignored_wrong_source", &GuestDnsCounters::ignored_wrong_source},
    {"ignored_wrong_id", &GuestDnsCounters::ignored_wrong_id},
    {"ignored_wrong_question", &GuestDnsCounters::ignored_wrong_question},
    {"ignored_malformed", &GuestDnsCounters::ignored_malformed},
};

void add_guest_counters(const GuestVm& guest, std::map<std::string, std::uint64_t>& out) {
  const GuestCounters& g = guest.counters();
  for (const GuestCounterField& f : kGuestFields) out[std::string("guest.") + f.name] = g.*(f.field);
  const GuestDnsCounters& d = guest.dns().counters();
  for (const GuestDnsCounterField& f : kGuestDnsFields) out[std::string("guest.dns.") + f.name] = d.*(f.field);
  out["guest.dhcp.discovers_sent"] = guest.dhcp().stats().discovers_sent;
  out["guest.dhcp.requests_sent"] = guest.dhcp().stats().requests_sent;
  out["guest.dhcp.acks"] = guest.dhcp().stats().acks;
  out["guest.port.would_block"] = guest.port().stats().would_block;
}

void add_guest_leaks(const GuestVm& guest, std::vector<std::string>& out) {
  const GuestLeakCounts g = guest.leak_counts();
  auto add = [&out](std::size_t n, const char* what) {
    if (n != 0) out.push_back("guest: " + std::to_string(n) + " " + what);
  };
  add(g.tcp_connections, "TCP connections");
  add(g.open_apps, "unfinished TCP apps");
  add(g.pending_injects, "frames waiting to be injected");
  add(g.pending_dns_queries, "DNS queries not done");
  add(g.active_floods, "active floods");
}

}  // namespace

std::span<const LinkCounterField> link_counter_fields() { return kLinkFields; }
std::span<const GuestCounterField> guest_counter_fields() { return kGuestFields; }
std::span<const GuestDnsCounterField> guest_dns_counter_fields() { return kGuestDnsFields; }

void add_host_counters(const SimHostNet& host, std::map<std::string, std::uint64_t>& out) {
  const host::HostNetCounters c = host.counters();
  out["host.open_handles"] = c.open_handles;
  out["host.tcp_connects"] = c.tcp_connects;
  out["host.tcp_accepts"] = c.tcp_accepts;
  out["host.udp_opens"] = c.udp_opens;
  out["host.fd_limit_hits"] = c.fd_limit_hits;
  out["host.fds_in_use"] = host.fds_in_use();
  out["host.lingering_fds"] = host.lingering_fds();
  const SimHostStats& s = host.stats();
  out["host.events_delivered"] = s.events_delivered;
  out["host.events_dropped_stale"] = s.events_dropped_stale;
  out["host.udp_dropped_no_server"] = s.udp_dropped_no_server;
  out["host.udp_dropped_rcvbuf"] = s.udp_dropped_rcvbuf;
  out["host.icmp_echo_unanswered"] = s.icmp_echo_unanswered;
  out["host.backlog_refusals"] = s.backlog_refusals;
  out["host.tcp_refused"] = s.tcp_refused;
  out["host.fabric_connections"] = host.fabric_connections();
}

std::vector<std::string> host_leaks(const SimHostNet& host, const std::vector<host::Handle>& own) {
  std::vector<std::string> out;
  for (const SimSocketInfo& s : host.sockets()) {
    if (s.kind == SimSocketKind::listener) continue;  // configured port forwards stay
    if (std::find(own.begin(), own.end(), s.handle) != own.end()) continue;
    out.push_back("host socket " + std::string(to_string(s.kind)) + " " + s.local.to_string() + " -> " +
                  s.remote.to_string() + " " + s.state);
  }
  if (host.lingering_fds() != 0)
    out.push_back("host: " + std::to_string(host.lingering_fds()) + " closed fds still lingering (close_delay)");
  return out;
}

std::map<std::string, std::uint64_t> TestBed::counters() const {
  std::map<std::string, std::uint64_t> out;
  for (const auto& [k, v] : proxy_->stats()) out["proxy." + k] = v;
  for (Direction d : kDirections) {
    const LinkCounters& c = link_.counters(d);
    const std::string dir(to_string(d));
    for (const LinkCounterField& f : kLinkFields) out["link." + dir + "." + f.name] = c.*(f.field);
    out["link." + dir + ".dropped"] = c.dropped();
    out["capture." + dir + ".frames"] = capture_->frames(d);
    out["capture." + dir + ".bytes"] = capture_->bytes(d);
    out["capture." + dir + ".largest"] = capture_->largest(d);
  }
  if (guest_) add_guest_counters(*guest_, out);
  out["proxy.port.would_block"] = proxy_port_->stats().would_block;
  add_host_counters(*host_, out);
  out["world.steps"] = world_.stats().steps;
  out["world.events_run"] = world_.stats().events_run;
  out["world.polls"] = world_.stats().polls;
  out["world.frames_digested"] = world_.digest().frames();
  return out;
}

std::vector<std::string> TestBed::leaks() const {
  std::vector<std::string> out = proxy_->leaks();
  for (std::string& l : out) l = "proxy: " + l;
  for (std::string& l : host_leaks(*host_, proxy_->own_handles())) out.push_back(std::move(l));
  if (guest_) add_guest_leaks(*guest_, out);
  return out;
}

}  // namespace tapwire::sim
