// The result of one scenario run and its two renderings: a JSON report (for tools and
// --report) and a readable summary (for people and `make run`).
//
// JSON (one object per run):
//   {"scenario": "tcp_echo_via_host_alias", "file": "scenarios/...json",
//    "passed": true, "seed": 1, "digest": "<sha-256 hex of every delivered frame>",
//    "virtual_time_ns": 30000000000, "wall_time_s": 0.41,
//    "failure": null | "livelock at ...",
//    "capture": {"frames": 812, "bytes": 150233, "truncated": false},
//    "stats": {"proxy.tcp.rst_to_guest": 0, "link.to_guest.sent": 406, ...},
//    "expectations": [{"kind": "at_end", "description": "...", "passed": true,
//                      "reason": "..."}, ...]}
// Several runs: {"runs": [...], "total": N, "passed": M, "failed": K}.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/base/time.h"

namespace tapwire::sim {

struct ExpectationResult {
  std::string kind;         // "timed", "never", "at_end"; "invariant" for checks every run makes
  std::string description;  // what was expected ("at 1s: conn c1 state == CLOSED")
  bool passed = false;
  std::string reason;       // what was observed (why it failed, or the evidence)
};

struct RunResult {
  std::string scenario;  // its name
  std::string origin;    // the file it came from
  bool passed = false;   // every expectation held and the run itself was valid
  std::uint64_t seed = 0;
  std::string digest;    // World's RunDigest, hex
  Duration virtual_time = Duration::zero();
  double wall_time_s = 0;  // from sim/core/wallclock.h only; reported, never compared
  std::map<std::string, std::uint64_t> stats;
  std::vector<ExpectationResult> expectations;
  std::optional<std::string> failure;  // the run itself failed (livelock, setup error)
  std::uint64_t capture_frames = 0;
  std::uint64_t capture_bytes = 0;
  bool capture_truncated = false;
  std::vector<std::uint8_t> pcap;  // the capture, when recorded

  std::size_t failed_expectations() const;
};

nlohmann::json to_json(const RunResult& result);
nlohmann::json to_json(const std::vector<RunResult>& results);

// The readable block for one run: a header line, one PASS/FAIL line per expectation
// (with the reason), key counters, virtual and wall time.
std::string format_summary(const RunResult& result);
// "N scenarios, M passed, K failed"
std::string format_totals(const std::vector<RunResult>& results);

// The counters shown in the summary (when present and non-zero).
extern const std::vector<std::string> kSummaryCounters;

}  // namespace tapwire::sim
