#include "stack/proxy/dns_upstreams.h"

namespace tapwire::proxy {

DnsUpstreams::DnsUpstreams(const DnsConfig& config)
    : offline_after_(config.offline_after), probe_interval_(config.probe_interval) {
  default_.plan = plan_of(config.upstreams);
  for (const DnsZone& z : config.zones) {
    auto name = wire::DnsName::parse_text(z.zone);  // validate() has checked it
    if (!name) continue;
    zones_.push_back(Zone{*name, z.zone, plan_of(z.upstreams)});
  }
}

std::uint32_t DnsUpstreams::index_of(const DnsUpstream& endpoint) {
  for (std::uint32_t i = 0; i < servers_.size(); ++i)
    if (servers_[i].endpoint == endpoint) return i;
  servers_.push_back(Server{endpoint});
  return static_cast<std::uint32_t>(servers_.size() - 1);
}

DnsUpstreams::PlanRef DnsUpstreams::plan_of(const std::vector<DnsUpstreamGroup>& groups) {
  auto plan = std::make_shared<Plan>();
  for (const DnsUpstreamGroup& g : groups) {
    Group group;
    for (const DnsUpstream& u : g.servers) group.push_back(index_of(u));
    plan->push_back(std::move(group));
  }
  return plan;
}

void DnsUpstreams::set_default(const std::vector<DnsUpstreamGroup>& groups) { default_.plan = plan_of(groups); }

DnsUpstreams::PlanRef DnsUpstreams::plan_for(const wire::DnsName& name) const {
  const Zone* best = nullptr;
  for (const Zone& z : zones_) {
    if (name.is_subdomain_of(z.name) && (best == nullptr || z.name.label_count() > best->name.label_count())) {
      best = &z;
    }
  }
  return best != nullptr ? best->plan : default_.plan;
}

std::vector<std::uint32_t> DnsUpstreams::pick(Instant now, const Plan& plan, const Group& group) {
  bool any_online = false;
  for (const Group& g : plan)
    for (std::uint32_t i : g) any_online = any_online || servers_[i].online;
  std::vector<std::uint32_t> out;
  for (std::uint32_t i : group) {
    Server& s = servers_[i];
    if (s.online || !any_online) {
      out.push_back(i);
    } else if (now >= s.next_probe) {
      s.next_probe = now + probe_interval_;
      out.push_back(i);
    }
  }
  return out;
}

void DnsUpstreams::on_answer(std::uint32_t index) {
  Server& s = servers_[index];
  ++s.answers;
  s.consecutive_failures = 0;
  s.online = true;
}

void DnsUpstreams::on_failure(Instant now, std::uint32_t index) {
  Server& s = servers_[index];
  ++s.failures;
  ++s.consecutive_failures;
  if (s.online && s.consecutive_failures >= offline_after_) {
    s.online = false;
    s.next_probe = now + probe_interval_;
  }
}

std::vector<DnsUpstreamStatus> DnsUpstreams::status() const {
  std::vector<DnsUpstreamStatus> out;
  auto add = [&](const Zone& zone) {
    for (std::size_t g = 0; g < zone.plan->size(); ++g) {
      for (std::uint32_t i : (*zone.plan)[g]) {
        const Server& s = servers_[i];
        out.push_back(DnsUpstreamStatus{s.endpoint, zone.text, g, s.online, s.consecutive_failures, s.queries,
                                        s.answers, s.failures});
      }
    }
  };
  add(default_);
  for (const Zone& z : zones_) add(z);
  return out;
}

}  // namespace tapwire::proxy
