#include "sim/scenario/report.h"

#include <cstdio>

namespace tapwire::sim {

const std::vector<std::string> kSummaryCounters = {
    "link.to_guest.sent",        "link.to_proxy.sent",         "link.to_guest.dropped",  "link.to_proxy.dropped",
    "proxy.tcp.flows_opened",    "proxy.tcp.flows_closed",     "proxy.tcp.rst_to_guest", "proxy.tcp.bytes_to_guest",
    "proxy.tcp.bytes_from_guest", "proxy.udp.flows_opened",    "proxy.udp.flows_expired", "host.tcp_connects",
    "host.fd_limit_hits",        "guest.pings_ok",             "world.steps",
};

std::size_t RunResult::failed_expectations() const {
  std::size_t n = 0;
  for (const ExpectationResult& e : expectations) n += e.passed ? 0 : 1;
  return n;
}

nlohmann::json to_json(const RunResult& r) {
  nlohmann::json j;
  j["scenario"] = r.scenario;
  j["file"] = r.origin;
  j["passed"] = r.passed;
  j["seed"] = r.seed;
  j["digest"] = r.digest;
  j["virtual_time_ns"] = r.virtual_time.ns();
  j["wall_time_s"] = r.wall_time_s;
  j["failure"] = r.failure ? nlohmann::json(*r.failure) : nlohmann::json(nullptr);
  j["capture"] = {{"frames", r.capture_frames}, {"bytes", r.capture_bytes}, {"truncated", r.capture_truncated}};
  nlohmann::json stats = nlohmann::json::object();
  for (const auto& [k, v] : r.stats) stats[k] = v;
  j["stats"] = std::move(stats);
  nlohmann::json exps = nlohmann::json::array();
  for (const ExpectationResult& e : r.expectations)
    exps.push_back({{"kind", e.kind}, {"description", e.description}, {"passed", e.passed}, {"reason", e.reason}});
  j["expectations"] = std::move(exps);
  return j;
}

nlohmann::json to_json(const std::vector<RunResult>& results) {
  nlohmann::json runs = nlohmann::json::array();
  std::size_t passed = 0;
  for (const RunResult& r : results) {
    runs.push_back(to_json(r));
    passed += r.passed ? 1 : 0;
  }
  return {{"runs", std::move(runs)},
          {"total", results.size()},
          {"passed", passed},
          {"failed", results.size() - passed}};
}

namespace {

std::string seconds(Duration d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6fs", static_cast<double>(d.ns()) / 1e9);
  return buf;
}

}  // namespace

std::string format_summary(const RunResult& r) {
  std::string out;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s %s (seed %llu, %s) digest %.16s\n", r.passed ? "PASS" : "FAIL",
                r.scenario.c_str(), static_cast<unsigned long long>(r.seed), r.origin.c_str(), r.digest.c_str());
  out += buf;
  if (r.failure) out += "  FAIL run: " + *r.failure + "\n";
  for (const ExpectationResult& e : r.expectations) {
    out += e.passed ? "  PASS " : "  FAIL ";
    out += e.kind + ": " + e.description;
    if (!e.reason.empty()) out += " -- " + e.reason;
    out += "\n";
  }
  std::string counters;
  for (const std::string& name : kSummaryCounters) {
    auto it = r.stats.find(name);
    if (it == r.stats.end() || it->second == 0) continue;
    if (!counters.empty()) counters += ", ";
    counters += name + "=" + std::to_string(it->second);
  }
  if (!counters.empty()) out += "  counters: " + counters + "\n";
  auto stat = [&r](const char* name) -> unsigned long long {
    auto it = r.stats.find(name);
    return it == r.stats.end() ? 0 : it->second;
  };
  std::snprintf(buf, sizeof buf, "  virtual %s, wall %.3fs, frames at the proxy: %llu to guest, %llu to proxy%s\n",
                seconds(r.virtual_time).c_str(), r.wall_time_s, stat("capture.to_guest.frames"),
                stat("capture.to_proxy.frames"), r.capture_truncated ? " (pcap truncated at its size cap)" : "");
  out += buf;
  return out;
}

std::string format_totals(const std::vector<RunResult>& results) {
  std::size_t passed = 0;
  for (const RunResult& r : results) passed += r.passed ? 1 : 0;
  return std::to_string(results.size()) + " scenarios, " + std::to_string(passed) + " passed, " +
         std::to_string(results.size() - passed) + " failed";
}

}  // namespace tapwire::sim
