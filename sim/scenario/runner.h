// The scenario runner: Scenario (scenario.h) -> a simulated world -> a run on the
// virtual clock -> expectations -> RunResult (report.h).
//
// Theory of operation
// - Build (docs/architecture.md §The poll-driven core, §Scenarios): a World seeded
//   with the scenario's seed (or the override), one Link named "link" with the
//   scenario's per-direction parameters, the Proxy on the to_guest side (its
//   FrameLink is a FramePort sending to_guest; frames delivered to_proxy go to
//   Proxy::on_frame; a ProxyNode lets the World poll it), a SimHostNet with the
//   scenario's limits and servers whose event sink is the proxy, and a GuestVm
//   sending to_proxy. A FrameCapture records both directions at the proxy's end from
//   time zero.
// - Actions become World events at their `at` (they run inside the instant, before
//   the nodes are polled, like an application call).
// - The clock runs in segments: up to each timed expectation's `at` (the check sees
//   everything due at that instant done), then to `duration`.
// - `never` conditions: frame conditions are checked as each frame passes the capture;
//   state conditions (counters, connections, servers, ...) after every instant.
//   Counter lookups by name are resolved once, so a check is a few loads.
// - At the end: at_end conditions, no_leaks (proxy.leaks(), host sockets other than
//   listeners, guest connections/apps/floods/injections), counters, byte-exact
//   streams, largest frame per direction, frame counts.
// - A livelock (World::failure) or an action that could not be performed fails the
//   run with that reason; the digest is still reported.
// Determinism: same scenario + same seed -> the same digest and the same pcap bytes.
// The wall clock (sim/core/wallclock.h) is read only for RunResult::wall_time_s.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "sim/scenario/capture.h"
#include "sim/scenario/report.h"
#include "sim/scenario/scenario.h"

namespace tapwire::sim {

struct RunOptions {
  std::optional<std::uint64_t> seed;  // overrides scenario.seed
  bool record_pcap = true;
  std::size_t capture_cap = kDefaultCaptureCap;  // bytes of pcap kept in memory
  bool keep_pcap = true;  // copy the capture into RunResult::pcap
};

struct RunState;

// One run of one scenario. Build it, call run() once; the world stays inspectable
// afterwards (tests, Python).
class SimulationRun {
 public:
  SimulationRun(const Scenario& scenario, RunOptions options = {});
  ~SimulationRun();
  SimulationRun(const SimulationRun&) = delete;
  SimulationRun& operator=(const SimulationRun&) = delete;

  RunResult run();
  RunState& state() { return *state_; }

 private:
  const Scenario& scenario_;
  std::unique_ptr<RunState> state_;
  bool ran_ = false;
};

// Runs a loaded scenario.
RunResult run_scenario(const Scenario& scenario, const RunOptions& options = {});

class ScenarioRunner {
 public:
  explicit ScenarioRunner(RunOptions options = {}) : options_(std::move(options)) {}
  // Loads and runs a file; a file that does not load is a ScenarioError (file, JSON
  // path, message).
  std::variant<RunResult, ScenarioError> run_file(const std::string& path) const;
  RunResult run(const Scenario& scenario) const { return run_scenario(scenario, options_); }

 private:
  RunOptions options_;
};

}  // namespace tapwire::sim
