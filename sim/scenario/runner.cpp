#include "sim/scenario/runner.h"

#include <algorithm>
#include <utility>

#include "sim/core/pattern.h"
#include "sim/core/wallclock.h"
#include "sim/scenario/loader.h"
#include "sim/scenario/run_state.h"
#include "sim/testbed/testbed_counters.h"

namespace tapwire::sim {

namespace {

GuestVmConfig guest_config(const WorldSetup& s) {
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

SimHostConfig host_config(const HostConfig& h) {
  SimHostConfig c;
  c.fd_limit = h.fd_limit;
  c.close_delay = h.close_delay;
  c.backlog = static_cast<int>(h.backlog);
  c.servers = h.servers;
  return c;
}

std::string action_key(const Action& a, std::size_t index) {
  return a.id.empty() ? "#" + std::to_string(index) : a.id;
}

}  // namespace

// ---------------------------------------------------------------------------------
// RunState

TestBedOptions testbed_options(const WorldSetup& setup, std::uint64_t seed, const CaptureOptions& capture) {
  TestBedOptions o;
  o.seed = seed;
  o.proxy = setup.proxy;
  o.to_guest = setup.link_to_guest;
  o.to_proxy = setup.link_to_proxy;
  o.host = host_config(setup.host);
  o.dns_servers = setup.host.dns_servers;
  o.resolver = setup.host.resolver;
  o.guest = guest_config(setup);
  o.capture = capture;
  return o;
}

RunState::RunState(const Scenario& s, const RunOptions& o)
    : scenario(s),
      options(o),
      seed(o.seed.value_or(s.seed)),
      bed(testbed_options(s, seed, CaptureOptions{o.record_pcap, o.capture_cap})),
      world(bed.world()),
      link(bed.link()),
      proxy(bed.proxy()),
      guest(*bed.guest()),
      capture(bed.capture()),
      host(bed.host()),
      watches(bed.capture()) {}

ActionRecord* RunState::record(const std::string& id) {
  auto it = actions.find(id);
  return it == actions.end() ? nullptr : &it->second;
}

void RunState::service() {
  // UDP replies on the guest's bound ports.
  for (const auto& [port, id] : udp_ports) {
    ActionRecord* rec = record(id);
    while (auto d = guest.udp_recv(port)) {
      if (rec == nullptr) continue;
      ++rec->udp_replies;
      if (!rec->udp_reply_mismatch) {
        if (auto bad = first_pattern_mismatch(0, Bytes(d->data.data(), d->data.size())))
          rec->udp_reply_mismatch = rec->udp_reply_bytes + *bad;
      }
      rec->udp_reply_bytes += d->data.size();
      rec->udp_last_reply = d->data;
    }
  }
  // Host clients that wait for their echo before their last step.
  for (HostClientScript& hs : host_scripts) {
    if (hs.done) continue;
    HostClientFigures f = host.client(hs.client);
    if (f.refused || f.reset) {
      hs.done = true;
      continue;
    }
    if (f.received < hs.expect_bytes) continue;
    hs.done = true;
    switch (hs.then) {
      case ThenStep::none: break;
      case ThenStep::half_close: host.client_shutdown(hs.client); break;
      case ThenStep::close: host.client_close(hs.client); break;
      case ThenStep::reset: host.client_reset(hs.client); break;
    }
  }
}

std::map<std::string, std::uint64_t> RunState::stats_snapshot() { return bed.counters(); }

std::optional<std::uint64_t> RunState::stat(const std::string& name) {
  auto it = stat_getters.find(name);
  if (it == stat_getters.end()) {
    std::function<std::uint64_t()> getter;
    const std::string_view n = name;
    if (n.starts_with("proxy.drop.")) {
      const std::string_view reason = n.substr(11);
      for (std::uint16_t i = 0; i < static_cast<std::uint16_t>(proxy::Drop::count_); ++i) {
        const auto d = static_cast<proxy::Drop>(i);
        if (proxy::to_string(d) == reason) getter = [this, d] { return proxy.proxy_stats().get(d); };
      }
    } else if (n.starts_with("proxy.")) {
      const std::string_view counter = n.substr(6);
      for (std::uint16_t i = 0; i < static_cast<std::uint16_t>(proxy::Counter::count_); ++i) {
        const auto c = static_cast<proxy::Counter>(i);
        if (proxy::to_string(c) == counter) getter = [this, c] { return proxy.proxy_stats().get(c); };
      }
    } else if (n.starts_with("guest.dns.")) {
      for (const GuestDnsCounterField& f : guest_dns_counter_fields())
        if (n.substr(10) == f.name) getter = [this, m = f.field] { return guest.dns().counters().*m; };
    } else if (n.starts_with("guest.")) {
      for (const GuestCounterField& f : guest_counter_fields())
        if (n.substr(6) == f.name) getter = [this, m = f.field] { return guest.counters().*m; };
    } else if (n.starts_with("host.")) {
      // A handful of counters: cheap enough to rebuild per lookup.
      std::map<std::string, std::uint64_t> probe;
      add_host_counters(bed.host(), probe);
      if (probe.count(name)) {
        getter = [this, name] {
          std::map<std::string, std::uint64_t> m;
          add_host_counters(bed.host(), m);
          return m[name];
        };
      }
    } else if (n.starts_with("link.")) {
      for (Direction d : kDirections) {
        const std::string prefix = "link." + std::string(to_string(d)) + ".";
        if (!n.starts_with(prefix)) continue;
        for (const LinkCounterField& f : link_counter_fields())
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
      st.frame_watches[f] = st.watches.watch(FrameWatch{f->match, f->max_len});
  };
  const Expectations& ex = st.scenario.expect;
  for (const TimedExpectation& t : ex.timed) watch(t.condition);
  for (const Condition& c : ex.never) watch(c);
  for (const Condition& c : ex.at_end.conditions) watch(c);
  for (const FrameCondition& f : ex.at_end.frames)
    st.frame_watches[&f] = st.watches.watch(FrameWatch{f.match, f.max_len});

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
    st.watches.set_callback([&st, never_frames](Instant now, Direction dir, const FrameInfo& info, Bytes) {
      for (std::size_t i : never_frames) {
        NeverState& n = st.never[i];
        if (n.violated) continue;
        const auto& f = std::get<FrameCondition>(n.condition->body);
        if (f.count.holds(static_cast<double>(st.watches.count(*n.watch)))) {
          n.violated = true;
          n.at = now;
          n.detail = "count " + std::to_string(st.watches.count(*n.watch)) + " at the frame " +
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
  result.capture_frames = st.capture.pcap_frames();
  result.capture_bytes = st.capture.pcap_size();
  result.capture_truncated = st.capture.truncated();
  if (st.options.keep_pcap && st.options.record_pcap) result.pcap = st.capture.pcap_bytes();
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
