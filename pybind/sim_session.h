// SimSession: the world behind one Python `tapwire.Sim`, built by the scenario runner's
// own code (sim/scenario: SimulationRun / RunState), so a scenario run and a Python
// simulation are wired exactly alike (DESIGN.md §8: the module has no logic of its own).
//
// Theory of operation. A Sim is a scenario without a duration: Sim(seed, proxy=...,
// vm=..., link=..., host=...) becomes the JSON document {"name": "python", "seed": ..,
// "duration": .., "proxy": .., ...}, loaded by sim/scenario/loader.h (so errors name the
// JSON path, "$.proxy.mtu: ..."), and handed to a SimulationRun, whose RunState is the
// World, Link, FrameCapture, Proxy, SimHostNet and GuestVm. The session never calls
// SimulationRun::run(): Python drives the World in segments (run_for / run_until), and
// after every instant the runner's after_instant_checks() runs, as it does in run().
// A Sim made from a scenario file also gets the scenario's actions scheduled at their
// times and its `never` checks armed (the runner's schedule_actions / arm_expectations).
// leaks() is the runner's collect_leaks(), the same list a scenario's no_leaks checks.
//
// Everything scenario-side stays in sim_session.cpp behind a pimpl, so the binding
// files compile against this small header only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sim/core/world.h"
#include "sim/guest/guest_vm.h"
#include "sim/link/link.h"

namespace tapwire::proxy {
class Proxy;
}

namespace tapwire::sim {
class SimHostNet;
class FrameCapture;
}  // namespace tapwire::sim

namespace tapwire::pybind {

// What leaked, by side ("proxy", "host", "guest"); empty when clean.
using LeakReport = std::map<std::string, std::vector<std::string>>;

class SimSession {
 public:
  struct Impl;

  // `json_text` is a scenario document (the Python module fills in name and duration
  // for Sim(...)). Returns the session, or the loader's error text ("<python>: $.proxy.mtu:
  // must be between 576 and 65520, got 70000"). `schedule_actions`: perform the
  // scenario's actions at their times (Sim.from_scenario).
  static std::variant<std::shared_ptr<SimSession>, std::string> create(const std::string& json_text,
                                                                       const std::string& origin,
                                                                       const std::string& base_dir,
                                                                       std::optional<std::uint64_t> seed,
                                                                       bool schedule_actions);
  // The same for a scenario file.
  static std::variant<std::shared_ptr<SimSession>, std::string> from_file(const std::string& path,
                                                                          std::optional<std::uint64_t> seed);
  ~SimSession();
  SimSession(const SimSession&) = delete;
  SimSession& operator=(const SimSession&) = delete;

  sim::World& world();
  sim::Link& link();
  sim::GuestVm& guest();
  proxy::Proxy& proxy();
  sim::SimHostNet& host();
  sim::FrameCapture& capture();
  std::uint64_t seed() const;
  // The proxy's host alias (connections to it reach 127.0.0.1) and gateway.
  wire::Ipv4Addr host_alias() const;
  wire::Ipv4Addr gateway() const;

  // Runs the World to `deadline`; `done` (may be empty) is evaluated once before and
  // after every instant at which something ran, after the runner's per-instant service.
  // Returns true as soon as `done` held; false when the deadline passed (now == deadline)
  // or the World failed (see failure()).
  bool run(const std::function<bool()>& done, Instant deadline);
  const std::optional<std::string>& failure() const;

  // Every counter the scenario report has ("proxy.tcp.rst_to_guest", "link.to_guest.sent",
  // "guest.udp_sent", "host.open_handles", ...).
  std::map<std::string, std::uint64_t> stats();
  LeakReport leaks();
  std::vector<std::uint8_t> pcap();

  // Guest UDP source ports handed out by udp_send(src_port=None): the runner's fixed
  // range from 40000, skipping ports already bound.
  std::uint16_t next_udp_port();
  bool udp_bound(std::uint16_t port) const;
  void note_udp_bound(std::uint16_t port);

 private:
  explicit SimSession(std::unique_ptr<Impl> impl);
  static std::shared_ptr<SimSession> start(std::unique_ptr<Impl> impl, std::optional<std::uint64_t> seed,
                                           bool schedule_actions);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tapwire::pybind
