// The forwarder's upstream servers and their health (docs/architecture.md §DNS).
//
// Theory of operation
// - Servers are kept once per endpoint (ip:port), whatever zones or groups list them,
//   in an append-only table: a query in flight refers to servers by index, so a
//   run-time change of the default upstreams (set_default, the daemon re-reading
//   /etc/resolv.conf) never pulls a server from under it.
// - plan_for(name) gives the groups to try for a name: those of the longest zone that
//   holds it (DnsConfig::zones), else the default groups.
// - Health: every failure (a timeout, SERVFAIL, REFUSED) adds one to the server's run
//   of consecutive failures; at offline_after it is marked offline. Any usable answer
//   ends the run and brings it back online. pick() skips offline servers, except one
//   that is due a probe (once per probe_interval): it is asked along with the others,
//   so a live query is its probe and no made-up traffic is ever sent. When every
//   server of every group of the plan is offline, pick() asks them all: a slow answer
//   beats a certain SERVFAIL.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "stack/base/time.h"
#include "stack/proxy/config.h"
#include "stack/proxy/dns_status.h"
#include "stack/wire/dns_name.h"

namespace tapwire::proxy {

class DnsUpstreams {
 public:
  using Group = std::vector<std::uint32_t>;  // server indexes
  using Plan = std::vector<Group>;
  // Shared, never changed once made: a query keeps the plan it started with even when
  // set_default replaces the defaults meanwhile.
  using PlanRef = std::shared_ptr<const Plan>;

  explicit DnsUpstreams(const DnsConfig& config);

  void set_default(const std::vector<DnsUpstreamGroup>& groups);
  PlanRef plan_for(const wire::DnsName& name) const;
  // The servers of `group` to ask now (see the file comment); `plan` is the whole plan,
  // to know whether everything is offline.
  std::vector<std::uint32_t> pick(Instant now, const Plan& plan, const Group& group);

  const DnsUpstream& server(std::uint32_t index) const { return servers_[index].endpoint; }
  void on_query(std::uint32_t index) { ++servers_[index].queries; }
  void on_answer(std::uint32_t index);
  void on_failure(Instant now, std::uint32_t index);

  std::vector<DnsUpstreamStatus> status() const;

 private:
  struct Server {
    DnsUpstream endpoint;
    bool online = true;
    std::uint32_t consecutive_failures = 0;
    Instant next_probe = Instant::epoch();
    std::uint64_t queries = 0;
    std::uint64_t answers = 0;
    std::uint64_t failures = 0;
  };
  struct Zone {
    wire::DnsName name;
    std::string text;  // as configured, "" for the defaults
    PlanRef plan;
  };

  std::uint32_t index_of(const DnsUpstream& endpoint);
  PlanRef plan_of(const std::vector<DnsUpstreamGroup>& groups);

  std::uint32_t offline_after_;
  Duration probe_interval_;
  std::vector<Server> servers_;
  Zone default_;
  std::vector<Zone> zones_;
};

}  // namespace tapwire::proxy
