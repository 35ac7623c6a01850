// SimSession: the world behind one Python `tapwire.Sim`, a test bed
// (sim/testbed/testbed.h) built by the same C++ calls the scenario runner makes, so a
// scenario run and a Python simulation are wired exactly alike (docs/architecture.md
// §Test bed: the module has no logic of its own).
//
// Theory of operation. Two ways in:
// - Sim(seed, proxy=..., vm=..., link=..., host=...): each keyword dict is read as the
//   scenario file's section of that name (sim/scenario/loader.h load_world_setup, so
//   errors name the JSON path, "<python>: $.proxy.mtu: ..."), and the resulting
//   WorldSetup becomes TestBedOptions through the runner's own testbed_options(). The
//   session owns the TestBed; nothing scenario-side exists.
// - Sim.from_scenario(path or dict): the scenario is loaded and handed to a
//   SimulationRun, whose RunState holds the TestBed; the scenario's actions are
//   scheduled at their times and its `never` checks armed (the runner's
//   schedule_actions / arm_expectations), and after every instant the runner's
//   after_instant_checks() runs, as it does in SimulationRun::run(). The session never
//   calls run(): Python drives the World in segments (run_for / run_until).
// stats() and leaks() are the test bed's counters() and leaks(): the same names a
// scenario report has and the same list a scenario's no_leaks checks.
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
struct WorldSetup;
}  // namespace tapwire::sim

namespace tapwire::pybind {

// What leaked, by side ("proxy", "host", "guest"); empty when clean.
using LeakReport = std::map<std::string, std::vector<std::string>>;

class SimSession {
 public:
  struct Impl;

  // A bare test bed for the world `setup` describes (Sim(...)). Returns the session, or
  // why the setup cannot be built.
  static std::variant<std::shared_ptr<SimSession>, std::string> from_setup(const sim::WorldSetup& setup,
                                                                           std::uint64_t seed);
  // A scenario document (JSON text; `origin` names it in errors) or file, with its
  // actions performed at their times (Sim.from_scenario). Returns the session, or the
  // loader's error text ("<python>: $.actions[0].dst: ...").
  static std::variant<std::shared_ptr<SimSession>, std::string> from_scenario_text(
      const std::string& json_text, const std::string& origin, std::optional<std::uint64_t> seed);
  static std::variant<std::shared_ptr<SimSession>, std::string> from_scenario_file(const std::string& path,
                                                                                   std::optional<std::uint64_t> seed);
  ~SimSession();
  SimSession(const SimSession&) = delete;
  SimSession& operator=(const SimSession&) = delete;

  sim::World& world();
  sim::Link& link();
  sim::GuestVm& guest();
  proxy::Proxy& proxy();
  sim::SimHostNet& host();
  // The simulated host's fd limit, changed at run time: the proxy's derived
  // connection limit follows (TestBed::set_fd_limit).
  void set_fd_limit(std::uint64_t fd_limit);
  std::uint64_t seed() const;

  // Runs the World to `deadline`; `done` (may be empty) is evaluated once before and
  // after every instant at which something ran (after the scenario's per-instant
  // service, for a scenario session). Returns true as soon as `done` held; false when
  // the deadline passed (now == deadline) or the World failed (see failure()).
  bool run(const std::function<bool()>& done, Instant deadline);
  const std::optional<std::string>& failure() const;

  // Every counter the scenario report has ("proxy.tcp.rst_to_guest", "link.to_guest.sent",
  // "guest.udp_sent", "host.open_handles", ...).
  std::map<std::string, std::uint64_t> stats();
  LeakReport leaks();
  std::vector<std::uint8_t> pcap();

  // Guest UDP source ports handed out by udp_send(src_port=None): the runner's fixed
  // range from 40000, skipping ports already bound.
  bool udp_bound(std::uint16_t port) const;
  void note_udp_bound(std::uint16_t port);

 private:
  explicit SimSession(std::unique_ptr<Impl> impl);
  static std::variant<std::shared_ptr<SimSession>, std::string> start(
      std::variant<std::unique_ptr<Impl>, std::string> made);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tapwire::pybind
