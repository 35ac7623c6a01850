#define BOOST_TEST_MODULE determinism
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "sim/core/wallclock.h"
#include "sim/scenario/loader.h"
#include "sim/scenario/runner.h"

using namespace tapwire;
using namespace tapwire::sim;

namespace {

const std::string kScenarios = std::string(TAPWIRE_SOURCE_DIR) + "/scenarios";

std::vector<Scenario> all_scenarios() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(kScenarios)) {
    const auto& p = e.path();
    if (p.extension() == ".json" && p.filename() != "schema.json") files.push_back(p.string());
  }
  std::sort(files.begin(), files.end());
  // An empty or half-read folder must not pass as "every scenario is deterministic".
  BOOST_TEST_REQUIRE(files.size() >= 17u, "only " << files.size() << " scenario files in " << kScenarios);
  std::vector<Scenario> out;
  for (const std::string& f : files) {
    ScenarioResult r = load_scenario_file(f);
    BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().to_string()));
    out.push_back(std::move(r).value());
  }
  return out;
}

std::string failures(const RunResult& r) {
  std::string out = r.failure.value_or("");
  for (const auto& e : r.expectations)
    if (!e.passed) out += "\n  " + e.kind + ": " + e.description + " -- " + e.reason;
  return out;
}

}  // namespace

// Same scenario + same seed -> the same digest and byte-identical captures.
BOOST_AUTO_TEST_CASE(every_scenario_twice_is_identical) {
  const std::vector<Scenario> scenarios = all_scenarios();
  std::size_t compared = 0;
  for (const Scenario& s : scenarios) {
    RunResult a = run_scenario(s);
    RunResult b = run_scenario(s);
    BOOST_TEST(a.passed, s.name << failures(a));
    BOOST_TEST(a.digest == b.digest, s.name);
    BOOST_TEST(!a.pcap.empty(), s.name);
    BOOST_TEST((a.pcap == b.pcap), s.name << ": pcaps differ");
    BOOST_TEST((a.stats == b.stats), s.name << ": stats differ");
    BOOST_TEST(a.expectations.size() == b.expectations.size());
    for (std::size_t i = 0; i < std::min(a.expectations.size(), b.expectations.size()); ++i)
      BOOST_TEST(a.expectations[i].reason == b.expectations[i].reason, s.name);
    compared += a.pcap.empty() ? 0 : 1;
  }
  BOOST_TEST(compared == scenarios.size(), "scenarios whose captures were compared");
}

// The seed reaches the randomness: an impaired link (and every ISN, port, xid) draws
// from it, so another seed is another run -- which must pass all the same.
BOOST_AUTO_TEST_CASE(another_seed_changes_an_impaired_run) {
  ScenarioResult loaded = load_scenario_file(kScenarios + "/bulk_transfer_with_impairments.json");
  BOOST_TEST_REQUIRE(loaded.ok());
  RunOptions one, two;
  one.seed = 1;
  two.seed = 2;
  RunResult a = run_scenario(loaded.value(), one);
  RunResult b = run_scenario(loaded.value(), two);
  BOOST_TEST(a.passed, failures(a));
  BOOST_TEST(b.passed, failures(b));
  BOOST_TEST(a.seed == 1u);
  BOOST_TEST(b.seed == 2u);
  BOOST_TEST(a.digest != b.digest);
  // The impairments themselves differ, not only ISNs and ports.
  const bool impairments_differ =
      a.stats.at("link.to_guest.dropped_loss") != b.stats.at("link.to_guest.dropped_loss") ||
      a.stats.at("link.to_proxy.dropped_loss") != b.stats.at("link.to_proxy.dropped_loss") ||
      a.stats.at("link.to_guest.reordered") != b.stats.at("link.to_guest.reordered");
  BOOST_TEST(impairments_differ);
}

// Every scenario passes for any seed; here seeds 1 to 20.
BOOST_AUTO_TEST_CASE(seed_sweep_1_to_20) {
  const double start = WallClock::now_seconds();
  const std::vector<Scenario> scenarios = all_scenarios();
  std::size_t runs = 0;
  for (const Scenario& s : scenarios) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
      RunOptions o;
      o.seed = seed;
      o.record_pcap = false;
      RunResult r = run_scenario(s, o);
      ++runs;
      BOOST_TEST(r.passed, s.name << " seed " << seed << failures(r));
    }
  }
  BOOST_TEST(runs == 20 * scenarios.size());
  BOOST_TEST_MESSAGE("seed sweep: " << runs << " runs in " << (WallClock::now_seconds() - start) << " s wall");
}
