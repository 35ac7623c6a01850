// The test bed's counters by dotted name and its leak report (TestBed::counters() and
// TestBed::leaks()), and the name tables behind them, for callers that read one
// counter often without building the whole map (the scenario runner's `never` checks).
//
// Names: proxy.<counter> and proxy.drop.<reason> (the proxy's stats()),
// proxy.port.would_block, link.<to_guest|to_proxy>.<LinkCounters field> and .dropped,
// capture.<dir>.frames/bytes/largest, guest.<GuestCounters field>, guest.dhcp.*,
// guest.dns.<GuestDnsCounters field>,
// guest.port.would_block (with a guest), host.* (host_counters), world.steps,
// world.events_run, world.polls, world.frames_digested.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "sim/guest/guest_vm.h"
#include "sim/host/sim_host_net.h"
#include "sim/link/link.h"

namespace tapwire::sim {

struct LinkCounterField {
  const char* name;
  std::uint64_t LinkCounters::*field;
};
std::span<const LinkCounterField> link_counter_fields();

struct GuestCounterField {
  const char* name;
  std::uint64_t GuestCounters::*field;
};
std::span<const GuestCounterField> guest_counter_fields();

// The guest's stub resolver (sim/guest/dns_stub.h), under "guest.dns.".
struct GuestDnsCounterField {
  const char* name;
  std::uint64_t GuestDnsCounters::*field;
};
std::span<const GuestDnsCounterField> guest_dns_counter_fields();

// The simulated host's counters, under "host." (open_handles, tcp_connects,
// fd_limit_hits, ...).
void add_host_counters(const SimHostNet& host, std::map<std::string, std::uint64_t>& out);
// Open proxy sockets other than listeners and the proxy's own (`own`: sockets it keeps
// on purpose, such as the DNS forwarder's idle upstream sockets) ("host socket tcp
// 192.0.2.100:40000 -> 1.2.3.4:80 ESTABLISHED"), plus lingering fds; empty when the
// proxy holds nothing else.
std::vector<std::string> host_leaks(const SimHostNet& host, const std::vector<host::Handle>& own);

}  // namespace tapwire::sim
