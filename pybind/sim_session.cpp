// SimSession: see sim_session.h. Everything here is the test bed's and the scenario
// runner's code, reused.
#include "pybind/sim_session.h"

#include <set>
#include <utility>

#include "sim/scenario/loader.h"
#include "sim/scenario/run_state.h"
#include "sim/scenario/runner.h"
#include "sim/testbed/testbed.h"

namespace tapwire::pybind {

struct SimSession::Impl {
  std::unique_ptr<sim::TestBed> bed;        // Sim(...): the session's own bed
  std::unique_ptr<sim::Scenario> scenario;  // Sim.from_scenario: SimulationRun refers to it
  std::unique_ptr<sim::SimulationRun> run;  // ... and holds the bed
  std::set<std::uint16_t> udp_ports;        // bound through Python

  sim::TestBed& test_bed() { return run ? run->state().bed : *bed; }
  const sim::TestBed& test_bed() const { return run ? run->state().bed : *bed; }
};

namespace {

constexpr sim::CaptureOptions kPythonCapture{};  // record the pcap, 64 MiB cap

std::variant<std::unique_ptr<SimSession::Impl>, std::string> scenario_run(sim::ScenarioResult loaded,
                                                                          std::optional<std::uint64_t> seed) {
  if (!loaded.ok()) return loaded.error().to_string();
  auto impl = std::make_unique<SimSession::Impl>();
  impl->scenario = std::make_unique<sim::Scenario>(std::move(loaded).value());
  sim::RunOptions options;
  options.seed = seed;
  options.record_pcap = kPythonCapture.record_pcap;
  options.capture_cap = kPythonCapture.cap_bytes;
  options.keep_pcap = false;
  impl->run = std::make_unique<sim::SimulationRun>(*impl->scenario, options);
  // What SimulationRun::run() does before running: the scenario's actions become World
  // events at their times, and its `never` checks are armed (they run after every
  // instant, in after_instant_checks).
  sim::arm_expectations(impl->run->state());
  sim::schedule_actions(impl->run->state());
  return impl;
}

}  // namespace

std::variant<std::shared_ptr<SimSession>, std::string> SimSession::start(
    std::variant<std::unique_ptr<Impl>, std::string> made) {
  if (auto* err = std::get_if<std::string>(&made)) return std::move(*err);
  return std::shared_ptr<SimSession>(new SimSession(std::move(std::get<std::unique_ptr<Impl>>(made))));
}

std::variant<std::shared_ptr<SimSession>, std::string> SimSession::from_setup(const sim::WorldSetup& setup,
                                                                              std::uint64_t seed) {
  sim::TestBedOptions options = sim::testbed_options(setup, seed, kPythonCapture);
  if (auto problem = sim::TestBed::check(options)) return *problem;
  auto impl = std::make_unique<Impl>();
  impl->bed = std::make_unique<sim::TestBed>(std::move(options));
  return start(std::move(impl));
}

std::variant<std::shared_ptr<SimSession>, std::string> SimSession::from_scenario_text(
    const std::string& json_text, const std::string& origin, std::optional<std::uint64_t> seed) {
  return start(scenario_run(sim::load_scenario_text(json_text, origin), seed));
}

std::variant<std::shared_ptr<SimSession>, std::string> SimSession::from_scenario_file(
    const std::string& path, std::optional<std::uint64_t> seed) {
  return start(scenario_run(sim::load_scenario_file(path), seed));
}

SimSession::SimSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SimSession::~SimSession() = default;

sim::World& SimSession::world() { return impl_->test_bed().world(); }
sim::Link& SimSession::link() { return impl_->test_bed().link(); }
sim::GuestVm& SimSession::guest() { return *impl_->test_bed().guest(); }
proxy::Proxy& SimSession::proxy() { return impl_->test_bed().proxy(); }
sim::SimHostNet& SimSession::host() { return impl_->test_bed().host(); }
void SimSession::set_fd_limit(std::uint64_t fd_limit) { impl_->test_bed().set_fd_limit(fd_limit); }
std::uint64_t SimSession::seed() const { return impl_->test_bed().world().seed(); }

bool SimSession::run(const std::function<bool()>& done, Instant deadline) {
  sim::World& world = impl_->test_bed().world();
  if (world.failure()) return false;
  if (!impl_->run) {
    static const std::function<bool()> never = [] { return false; };
    return world.run_until(done ? done : never, deadline);
  }
  // After every instant: the runner's own per-instant work, then the caller's predicate.
  sim::RunState& st = impl_->run->state();
  auto after_instant = [&st, &done]() {
    if (sim::after_instant_checks(st)) return true;  // the World failed
    return done ? done() : false;
  };
  return world.run_until(after_instant, deadline);
}

const std::optional<std::string>& SimSession::failure() const { return impl_->test_bed().world().failure(); }

std::map<std::string, std::uint64_t> SimSession::stats() { return impl_->test_bed().counters(); }

LeakReport SimSession::leaks() {
  // Exactly what a scenario's no_leaks reports (TestBed::leaks()), grouped by the side
  // its "proxy: " / "guest: " prefix names; the host's lines carry no prefix.
  LeakReport out;
  for (const std::string& line : impl_->test_bed().leaks()) {
    if (line.rfind("proxy: ", 0) == 0) out["proxy"].push_back(line.substr(7));
    else if (line.rfind("guest: ", 0) == 0) out["guest"].push_back(line.substr(7));
    else out["host"].push_back(line);
  }
  return out;
}

std::vector<std::uint8_t> SimSession::pcap() { return impl_->test_bed().capture().pcap_bytes(); }

bool SimSession::udp_bound(std::uint16_t port) const {
  return impl_->udp_ports.count(port) != 0 || (impl_->run && impl_->run->state().udp_ports.count(port) != 0);
}

void SimSession::note_udp_bound(std::uint16_t port) { impl_->udp_ports.insert(port); }

}  // namespace tapwire::pybind
