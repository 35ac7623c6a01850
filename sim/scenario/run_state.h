// RunState: one scenario run's test bed and the runner's bookkeeping, shared by the
// runner's parts (runner.cpp builds and drives it, run_actions.cpp performs actions,
// expectations.cpp evaluates conditions). Internal to sim/scenario: callers use
// runner.h.
//
// The world itself -- World, Link, Proxy, SimHostNet, GuestVm, FrameCapture and their
// wiring -- is the TestBed's (sim/testbed/testbed.h, docs/architecture.md §Test bed);
// a scenario's bed always has a guest. RunState adds what a scenario needs on top: the
// records of its actions, its frame conditions (FrameWatches on the capture, from time
// zero), its `never` states, and counter lookups by name.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/scenario/frame_watches.h"
#include "sim/scenario/host_bridge.h"
#include "sim/scenario/report.h"
#include "sim/scenario/runner.h"
#include "sim/scenario/scenario.h"
#include "sim/testbed/testbed.h"

namespace tapwire::sim {

// What an action created, by action id.
struct ActionRecord {
  std::string kind;
  bool started = false;
  std::optional<std::string> error;      // the action could not be performed
  std::vector<std::uint32_t> pings;      // ping: GuestVm ping ids
  std::uint32_t ping_count = 0;          // requested
  std::optional<std::uint32_t> conn;     // tcp_connect: GuestVm connection id
  std::optional<std::uint32_t> listener; // tcp_listen: GuestVm listener id
  std::optional<std::uint64_t> client;   // host_connect: HostBridge client id
  std::optional<std::uint16_t> udp_port; // udp_send: the guest's bound source port
  std::optional<std::uint32_t> flood;    // flood: GuestVm flood id
  // udp_send: replies seen on the bound port.
  std::uint64_t udp_replies = 0;
  std::uint64_t udp_reply_bytes = 0;
  std::optional<std::uint64_t> udp_reply_mismatch;  // first reply byte that was not the pattern
  bool udp_pattern = false;  // the datagrams sent were the pattern (replies are checked against it)
  std::vector<std::uint8_t> udp_last_reply;  // the latest reply (a udp condition's dns_rcode reads it)
};

// A host_connect waiting for its echo before its `then` step.
struct HostClientScript {
  std::uint64_t client = 0;
  std::uint64_t expect_bytes = 0;  // echo expected back
  ThenStep then = ThenStep::none;
  bool done = false;
};

struct NeverState {
  const Condition* condition = nullptr;
  std::optional<std::size_t> watch;  // frame conditions
  bool violated = false;
  Instant at;
  std::string detail;
};

struct RunState {
  RunState(const Scenario& s, const RunOptions& o);

  const Scenario& scenario;
  RunOptions options;
  std::uint64_t seed;

  TestBed bed;
  // Parts of the bed, by the names the runner's files use.
  World& world;
  Link& link;
  proxy::Proxy& proxy;
  GuestVm& guest;
  FrameCapture& capture;
  HostBridge host;
  FrameWatches watches;

  std::map<std::string, ActionRecord> actions;  // by id ("#<index>" when the action has none)
  std::vector<HostClientScript> host_scripts;
  std::map<std::uint16_t, std::string> udp_ports;  // guest UDP port -> action id
  std::map<std::string, GuestDnsQueryPtr> dns_queries;  // dns_query results by query id
  std::map<Direction, RuleId> partition_rules;
  std::vector<std::string> action_errors;
  std::map<const FrameCondition*, std::size_t> frame_watches;
  std::vector<NeverState> never;
  std::vector<std::size_t> never_state;  // indices into `never` checked after every instant
  // Counter getters by name, resolved on first use (empty: look it up in a snapshot).
  std::map<std::string, std::function<std::uint64_t()>> stat_getters;

  // Between instants: drive host-side client scripts, collect UDP replies.
  void service();
  // The value of a counter by its dotted name; nullopt when there is no such counter.
  std::optional<std::uint64_t> stat(const std::string& name);
  std::map<std::string, std::uint64_t> stats_snapshot();
  ActionRecord* record(const std::string& id);
};

// --- runner.cpp ---
// Registers the scenario's frame conditions with the capture and sets up its `never`
// checks. Call once, before the World runs (SimulationRun::run() does).
void arm_expectations(RunState& st);
// What runs after every instant: service() and the `never` state checks. Returns true
// when the World failed (a run_until `done` predicate).
bool after_instant_checks(RunState& st);

// --- run_actions.cpp ---
// Records that action `id` could not do what it was asked (fails the run with `message`).
void fail_action(RunState& st, const std::string& id, const std::string& message);
// Performs `action` now (called from a World event at its `at`).
void perform_action(RunState& st, const Action& action, const std::string& id);
// Makes every action of the scenario a World event at its `at` (with its record under
// its id, or "#<index>" for an action without one). SimulationRun::run() calls it once.
void schedule_actions(RunState& st);

// --- expectations.cpp ---
struct Verdict {
  bool passed = false;
  std::string observed;
};
std::string describe(const Condition& c);
Verdict evaluate(RunState& st, const Condition& c);
// What no_leaks reports: proxy flows/handles/timers, host sockets other than
// listeners (and lingering fds), guest connections/apps/floods/injections.
std::vector<std::string> collect_leaks(RunState& st);
// The at_end checks other than conditions: no_leaks, counters, streams, max_frame, frames.
void evaluate_at_end(RunState& st, std::vector<ExpectationResult>& out);
std::string describe_frame(Direction dir, const FrameInfo& info);

// --- run_dns.cpp ---
void perform_dns_query(RunState& st, const DnsQueryAction& a, const std::string& id);
std::string describe_dns(const DnsCondition& c);
std::string describe_dns_server(const DnsServerCondition& c);
Verdict eval_dns(RunState& st, const DnsCondition& c);
Verdict eval_dns_server(RunState& st, const DnsServerCondition& c);
ExpectationResult check_strict(const StrictCheckExpectation& s);

}  // namespace tapwire::sim
