#include "sim/scenario/runner.h"

#include <algorithm>
#include <set>
#include <utility>

#include "sim/core/wallclock.h"
#include "sim/core/pattern.h"
#include "sim/scenario/loader.h"
#include "sim/scenario/run_state.h"

namespace tapwire::sim {

namespace {

GuestVmConfig guest_config(const Scenario& s) {
  GuestVmConfig g;
  g.mac = s.vm.mac;
  g.mtu = s.vm.mtu;
  g.ip = s.vm.ip;
  g.subnet = s.proxy.subnet;
  g.gateway = s.proxy.gateway_ip;
  g.adopt_dhcp_mtu = s.vm.dhcp_mtu == DhcpMtuPolicy::adopt;
  g.tcp.mss_option = s.vm.tcp.mss_option;
  g.tcp.wscale = s.vm.tcp.wscale;
  g.tcp.sack = s.vm.tcp.sack;
  g.tcp.timestamps = s.vm.tcp.timestamps;
  g.tcp.nagle = s.vm.tcp.nagle;
  return g;
}

HostSetup host_setup(const Scenario& s) {
  HostSetup h;
  h.fd_limit = s.host.fd_limit;
  h.close_delay = s.host.close_delay;
  h.backlog = static_cast<int>(s.host.backlog);
  h.servers = s.host.servers;
  return h;
}

proxy::ProxyConfig proxy_config(const Scenario& s) {
  proxy::ProxyConfig c = s.proxy;
  // "0 = derived from the fd limit (host.fd_limit in the simulator)".
  if (c.max_connections == 0) c.max_connections = s.host.fd_limit;
  return c;
}

// (name, member) tables for the counters reported by name.
struct LinkField {
  const char* name;
  std::uint64_t LinkCounters::*field;
};
constexpr LinkField kLinkFields[] = {
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

struct GuestField {
  const char* name;
  std::uint64_t GuestCounters::*field;
};
constexpr GuestField kGuestFields[] = {
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

std::string action_key(const Action& a, std::size_t index) {
  return a.id.empty() ? "#" + std::to_string(index) : a.id;
}

}  // namespace

// ---------------------------------------------------------------------------------
// RunState

RunState::RunState(const Scenario& s, const RunOptions& o)
    : scenario(s), options(o), seed(o.seed.value_or(s.seed)), world(seed), link(world, "link") {
  link.set_params(Direction::to_guest, s.link_to_guest);
  link.set_params(Direction::to_proxy, s.link_to_proxy);
  capture = std::make_unique<FrameCapture>(link, o.record_pcap, o.capture_cap);
  proxy_port = std::make_unique<FramePort>(world, link, Direction::to_guest, 4096);
  host = std::make_unique<HostBridge>(world, host_setup(s));
  proxy = std::make_unique<proxy::Proxy>(proxy_config(s), *proxy_port, host->host_net(), world.rng("proxy"));
  host->host_net().set_event_sink(proxy.get());
  proxy_port->set_event_sink(proxy.get());
  link.set_receiver(Direction::to_proxy, [p = proxy.get()](Instant now, Bytes frame) { p->on_frame(now, frame); });
  proxy_node = std::make_unique<ProxyNode>(*proxy);
  world.add_node(*proxy_node);
  guest = std::make_unique<GuestVm>(world, link, guest_config(s), Direction::to_proxy);
}

RunState::~RunState() {
  // The guest removes itself from the World and the Link; the proxy's node goes first
  // so no poll reaches a destroyed proxy.
  guest.reset();
  if (proxy_node) world.remove_node(*proxy_node);
  link.set_receiver(Direction::to_proxy, nullptr);
}

ActionRecord* RunState::record(const std::string& id) {
  auto it = actions.find(id);
  return it == actions.end() ? nullptr : &it->second;
}

wire::Ipv4Addr RunState::host_side(wire::Ipv4Addr guest_dst) const {
  if (guest_dst == scenario.proxy.host_ip) return wire::Ipv4Addr::from_octets(127, 0, 0, 1);
  return guest_dst;
}

void RunState::service() {
  // UDP replies on the guest's bound ports.
  for (const auto& [port, id] : udp_ports) {
    ActionRecord* rec = record(id);
    while (auto d = guest->udp_recv(port)) {
      if (rec == nullptr) continue;
      ++rec->udp_replies;
      if (!rec->udp_reply_mismatch) {
        if (auto bad = first_pattern_mismatch(0, Bytes(d->data.data(), d->data.size())))
          rec->udp_reply_mismatch = rec->udp_reply_bytes + *bad;
      }
      rec->udp_reply_bytes += d->data.size();
    }
  }
  // Host clients that wait for their echo before their last step.
  for (HostClientScript& hs : host_scripts) {
    if (hs.done) continue;
    HostClientFigures f = host->client(hs.client);
    if (f.refused || f.reset) {
      hs.done = true;
      continue;
    }
    if (f.received < hs.expect_bytes) continue;
    hs.done = true;
    switch (hs.then) {
      case ThenStep::none: break;
      case ThenStep::half_close: host->client_shutdown(hs.client); break;
      case ThenStep::close: host->client_close(hs.client); break;
      case ThenStep::reset: host->client_reset(hs.client); break;
    }
  }
}

std::map<std::string, std::uint64_t> RunState::stats_snapshot() {
  std::map<std::string, std::uint64_t> out;
  for (const auto& [k, v] : proxy->stats()) out["proxy." + k] = v;
  for (Direction d : kDirections) {
    const LinkCounters& c = link.counters(d);
    const std::string prefix = "link." + std::string(to_string(d)) + ".";
    for (const LinkField& f : kLinkFields) out[prefix + f.name] = c.*(f.field);
    out[prefix + "dropped"] = c.dropped();
    out["capture." + std::string(to_string(d)) + ".frames"] = capture->frames(d);
    out["capture." + std::string(to_string(d)) + ".bytes"] = capture->bytes(d);
    out["capture." + std::string(to_string(d)) + ".largest"] = capture->largest(d);
  }
  const GuestCounters& g = guest->counters();
  for (const GuestField& f : kGuestFields) out[std::string("guest.") + f.name] = g.*(f.field);
  out["guest.dhcp.discovers_sent"] = guest->dhcp().stats().discovers_sent;
  out["guest.dhcp.requests_sent"] = guest->dhcp().stats().requests_sent;
  out["guest.dhcp.acks"] = guest->dhcp().stats().acks;
  out["guest.port.would_block"] = guest->port().stats().would_block;
  out["proxy.port.would_block"] = proxy_port->stats().would_block;
  host->add_stats(out);
  out["world.steps"] = world.stats().steps;
  out["world.events_run"] = world.stats().events_run;
  out["world.polls"] = world.stats().polls;
  out["world.frames_digested"] = world.digest().frames();
  return out;
}

std::optional<std::uint64_t> RunState::stat(const std::string& name) {
  auto it = stat_getters.find(name);
  if (it == stat_getters.end()) {
    std::function<std::uint64_t()> getter;
    const std::string_view n = name;
    if (n.starts_with("proxy.drop.")) {
      const std::string_view reason = n.substr(11);
      for (std::uint16_t i = 0; i < static_cast<std::uint16_t>(proxy::Drop::count_); ++i) {
        const auto d = static_cast<proxy::Drop>(i);
        if (proxy::to_string(d) == reason) getter = [this, d] { return proxy->proxy_stats().get(d); };
      }
    } else if (n.starts_with("proxy.")) {
      const std::string_view counter = n.substr(6);
      for (std::uint16_t i = 0; i < static_cast<std::uint16_t>(proxy::Counter::count_); ++i) {
        const auto c = static_cast<proxy::Counter>(i);
        if (proxy::to_string(c) == counter) getter = [this, c] { return proxy->proxy_stats().get(c); };
      }
    } else if (n.starts_with("guest.")) {
      for (const GuestField& f : kGuestFields)
        if (n.substr(6) == f.name) getter = [this, m = f.field] { return guest->counters().*m; };
    } else if (n.starts_with("host.")) {
      // A handful of counters: cheap enough to rebuild per lookup.
      std::map<std::string, std::uint64_t> probe;
      host->add_stats(probe);
      if (probe.count(name)) {
        getter = [this, name] {
          std::map<std::string, std::uint64_t> m;
          host->add_stats(m);
          return m[name];
        };
      }
    } else if (n.starts_with("link.")) {
      for (Direction d : kDirections) {
        const std::string prefix = "link." + std::string(to_string(d)) + ".";
        if (!n.starts_with(prefix)) continue;
        for (const LinkField& f : kLinkFields)
          if (n.substr(prefix.size()) == f.name) getter = [this, d, m = f.field] { return link.counters(d).*m; };
      }
    }
    it = stat_getters.emplace(name, std::move(getter)).first;
  }
  if (it->second) return it->second();
  auto snap = stats_snapshot();
  auto found = snap.find(name);
  if (found == snap.end()) return std::nullopt;
  return found->second;
}

void schedule_actions(RunState& st) {
  for (std::size_t i = 0; i < st.scenario.actions.size(); ++i) {
    const Action& a = st.scenario.actions[i];
    const std::string key = action_key(a, i);
    st.actions[key].kind = std::string(a.kind());
    st.world.schedule_at(Instant::epoch() + a.at, [&st, &a, key] { perform_action(st, a, key); });
  }
}

void arm_expectations(RunState& st) {
  // Frame conditions are counted by the capture from time zero.
  auto watch = [&st](const Condition& c) {
    if (const auto* f = std::get_if<FrameCondition>(&c.body))
      st.frame_watches[f] = st.capture->watch(FrameWatch{f->match, f->max_len});
  };
  const Expectations& ex = st.scenario.expect;
  for (const TimedExpectation& t : ex.timed) watch(t.condition);
  for (const Condition& c : ex.never) watch(c);
  for (const Condition& c : ex.at_end.conditions) watch(c);
  for (const FrameCondition& f : ex.at_end.frames)
    st.frame_watches[&f] = st.capture->watch(FrameWatch{f.match, f.max_len});

  // `never`: frame conditions on every frame (a capture callback), the rest after
  // every instant (after_instant_checks).
  std::vector<std::size_t> never_frames;
  for (const Condition& c : ex.never) {
    NeverState n;
    n.condition = &c;
    if (const auto* f = std::get_if<FrameCondition>(&c.body)) {
      n.watch = st.frame_watches.at(f);
      never_frames.push_back(st.never.size());
    } else {
      st.never_state.push_back(st.never.size());
    }
    st.never.push_back(std::move(n));
  }
  if (!never_frames.empty()) {
    st.capture->set_callback([&st, never_frames](Instant now, Direction dir, const FrameInfo& info, Bytes) {
      for (std::size_t i : never_frames) {
        NeverState& n = st.never[i];
        if (n.violated) continue;
        const auto& f = std::get<FrameCondition>(n.condition->body);
        if (f.count.holds(static_cast<double>(st.capture->count(*n.watch)))) {
          n.violated = true;
          n.at = now;
          n.detail = "count " + std::to_string(st.capture->count(*n.watch)) + " at the frame " +
                     describe_frame(dir, info);
        }
      }
    });
  }
}

bool after_instant_checks(RunState& st) {
  st.service();
  for (std::size_t i : st.never_state) {
    NeverState& n = st.never[i];
    if (n.violated) continue;
    Verdict v = evaluate(st, *n.condition);
    if (v.passed) {
      n.violated = true;
      n.at = st.world.now();
      n.detail = v.observed;
    }
  }
  return st.world.failure().has_value();
}

// ---------------------------------------------------------------------------------
// SimulationRun

SimulationRun::SimulationRun(const Scenario& scenario, RunOptions options)
    : scenario_(scenario), state_(std::make_unique<RunState>(scenario, options)) {}

SimulationRun::~SimulationRun() = default;

RunResult SimulationRun::run() {
  RunState& st = *state_;
  RunResult result;
  result.scenario = scenario_.name;
  result.origin = scenario_.origin;
  result.seed = st.seed;
  if (ran_) {
    result.failure = "SimulationRun::run() called twice";
    return result;
  }
  ran_ = true;
  const double wall_start = WallClock::now_seconds();

  arm_expectations(st);
  schedule_actions(st);
  const Expectations& ex = scenario_.expect;

  auto after_instant = [&st]() { return after_instant_checks(st); };

  // Run in segments: to each timed check, then to the end.
  const Instant end = Instant::epoch() + scenario_.duration;
  std::vector<const TimedExpectation*> timed;
  for (const TimedExpectation& t : ex.timed) timed.push_back(&t);
  std::stable_sort(timed.begin(), timed.end(),
                   [](const TimedExpectation* a, const TimedExpectation* b) { return a->at < b->at; });
  for (const TimedExpectation* t : timed) {
    const Instant at = std::min(end, Instant::epoch() + t->at);
    if (!st.world.failure()) st.world.run_until(after_instant, at);
    if (st.world.now() < at && !st.world.failure()) st.world.run_until(at);
    Verdict v = evaluate(st, t->condition);
    ExpectationResult r;
    r.kind = "timed";
    r.description = "at " + to_string(t->at) + ": " + describe(t->condition);
    r.passed = v.passed && !st.world.failure();
    r.reason = v.observed;
    result.expectations.push_back(std::move(r));
  }
  if (!st.world.failure()) st.world.run_until(after_instant, end);
  if (st.world.now() < end && !st.world.failure()) st.world.run_until(end);
  st.service();

  for (const NeverState& n : st.never) {
    ExpectationResult r;
    r.kind = "never";
    r.description = describe(*n.condition);
    r.passed = !n.violated;
    r.reason = n.violated ? "happened at " + to_string(n.at - Instant::epoch()) + ": " + n.detail
                          : "did not happen";
    result.expectations.push_back(std::move(r));
  }
  for (const Condition& c : ex.at_end.conditions) {
    Verdict v = evaluate(st, c);
    result.expectations.push_back({"at_end", describe(c), v.passed, v.observed});
  }
  evaluate_at_end(st, result.expectations);

  result.digest = st.world.digest().hex();
  result.virtual_time = st.world.now() - Instant::epoch();
  result.stats = st.stats_snapshot();
  result.capture_frames = st.capture->pcap_frames();
  result.capture_bytes = st.capture->pcap_size();
  result.capture_truncated = st.capture->truncated();
  if (st.options.keep_pcap && st.options.record_pcap) result.pcap = st.capture->pcap_bytes();
  if (st.world.failure()) {
    result.failure = *st.world.failure();
  } else if (!st.action_errors.empty()) {
    result.failure = "action failed: " + st.action_errors.front();
  }
  result.passed = !result.failure && result.failed_expectations() == 0;
  result.wall_time_s = WallClock::now_seconds() - wall_start;
  return result;
}

RunResult run_scenario(const Scenario& scenario, const RunOptions& options) {
  SimulationRun run(scenario, options);
  return run.run();
}

std::variant<RunResult, ScenarioError> ScenarioRunner::run_file(const std::string& path) const {
  ScenarioResult loaded = load_scenario_file(path);
  if (!loaded.ok()) return loaded.error();
  return run_scenario(loaded.value(), options_);
}

}  // namespace tapwire::sim
