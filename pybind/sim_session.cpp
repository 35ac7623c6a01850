// SimSession: see sim_session.h. Everything here is the scenario runner's code, reused.
#include "pybind/sim_session.h"

#include <set>
#include <utility>

#include "sim/scenario/capture.h"
#include "sim/scenario/loader.h"
#include "sim/scenario/run_state.h"
#include "sim/scenario/runner.h"

namespace tapwire::pybind {

struct SimSession::Impl {
  std::unique_ptr<sim::Scenario> scenario;  // SimulationRun keeps a reference to it
  std::unique_ptr<sim::SimulationRun> run;
  std::set<std::uint16_t> udp_ports;        // bound through Python
  std::uint16_t next_udp_port = 40000;

  sim::RunState& st() { return run->state(); }
};

std::shared_ptr<SimSession> SimSession::start(std::unique_ptr<Impl> impl, std::optional<std::uint64_t> seed,
                                              bool schedule_actions) {
  sim::RunOptions options;
  options.seed = seed;
  options.record_pcap = true;
  options.keep_pcap = false;
  impl->run = std::make_unique<sim::SimulationRun>(*impl->scenario, options);
  if (schedule_actions) {
    // What SimulationRun::run() does before running: the scenario's actions become World
    // events at their times, and its `never` checks are armed (they run after every
    // instant, in after_instant_checks).
    sim::arm_expectations(impl->st());
    sim::schedule_actions(impl->st());
  }
  return std::shared_ptr<SimSession>(new SimSession(std::move(impl)));
}

std::variant<std::shared_ptr<SimSession>, std::string> SimSession::create(const std::string& json_text,
                                                                          const std::string& origin,
                                                                          const std::string& base_dir,
                                                                          std::optional<std::uint64_t> seed,
                                                                          bool schedule_actions) {
  sim::ScenarioResult loaded = sim::load_scenario_text(json_text, origin, base_dir);
  if (!loaded.ok()) return loaded.error().to_string();
  auto impl = std::make_unique<Impl>();
  impl->scenario = std::make_unique<sim::Scenario>(std::move(loaded).value());
  return start(std::move(impl), seed, schedule_actions);
}

std::variant<std::shared_ptr<SimSession>, std::string> SimSession::from_file(const std::string& path,
                                                                            std::optional<std::uint64_t> seed) {
  sim::ScenarioResult loaded = sim::load_scenario_file(path);
  if (!loaded.ok()) return loaded.error().to_string();
  auto impl = std::make_unique<Impl>();
  impl->scenario = std::make_unique<sim::Scenario>(std::move(loaded).value());
  return start(std::move(impl), seed, true);
}

SimSession::SimSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SimSession::~SimSession() = default;

sim::World& SimSession::world() { return impl_->st().world; }
sim::Link& SimSession::link() { return impl_->st().link; }
sim::GuestVm& SimSession::guest() { return *impl_->st().guest; }
proxy::Proxy& SimSession::proxy() { return *impl_->st().proxy; }
sim::SimHostNet& SimSession::host() { return impl_->st().host->sim(); }
sim::FrameCapture& SimSession::capture() { return *impl_->st().capture; }
std::uint64_t SimSession::seed() const { return impl_->run->state().seed; }
wire::Ipv4Addr SimSession::host_alias() const { return impl_->scenario->proxy.host_ip; }
wire::Ipv4Addr SimSession::gateway() const { return impl_->scenario->proxy.gateway_ip; }

bool SimSession::run(const std::function<bool()>& done, Instant deadline) {
  sim::RunState& st = impl_->st();
  if (st.world.failure()) return false;
  // After every instant: the runner's own per-instant work, then the caller's predicate.
  auto after_instant = [&st, &done]() {
    if (sim::after_instant_checks(st)) return true;  // the World failed
    return done ? done() : false;
  };
  return st.world.run_until(after_instant, deadline);
}

const std::optional<std::string>& SimSession::failure() const { return impl_->run->state().world.failure(); }

std::map<std::string, std::uint64_t> SimSession::stats() { return impl_->st().stats_snapshot(); }

LeakReport SimSession::leaks() {
  // Exactly what a scenario's no_leaks reports (sim/scenario collect_leaks), grouped by
  // the side its "proxy: " / "guest: " prefix names; the host's lines carry no prefix.
  LeakReport out;
  for (const std::string& line : sim::collect_leaks(impl_->st())) {
    if (line.rfind("proxy: ", 0) == 0) out["proxy"].push_back(line.substr(7));
    else if (line.rfind("guest: ", 0) == 0) out["guest"].push_back(line.substr(7));
    else out["host"].push_back(line);
  }
  return out;
}

std::vector<std::uint8_t> SimSession::pcap() { return impl_->st().capture->pcap_bytes(); }

bool SimSession::udp_bound(std::uint16_t port) const {
  return impl_->udp_ports.count(port) != 0 || impl_->run->state().udp_ports.count(port) != 0;
}

void SimSession::note_udp_bound(std::uint16_t port) { impl_->udp_ports.insert(port); }

std::uint16_t SimSession::next_udp_port() {
  std::uint16_t port = impl_->next_udp_port;
  while (udp_bound(port)) ++port;
  impl_->next_udp_port = static_cast<std::uint16_t>(port + 1);
  return port;
}

}  // namespace tapwire::pybind
