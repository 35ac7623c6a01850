// `tapwire-sim run SCENARIO... [--seed N | --seeds A-B] [--pcap OUT] [--report OUT.json]`:
// runs scenario files in the simulator and prints a summary per run (each expectation
// PASS/FAIL with the reason, key counters, virtual and wall time) and a final line
// "N scenarios, M passed, K failed". Exit 0 iff every expectation of every run held,
// 1 if one failed, 2 for usage errors and scenario files that do not load (one line
// each, naming the file and the JSON path; nothing runs then).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/cli/command.h"
#include "sim/scenario/loader.h"
#include "sim/scenario/runner.h"

namespace tapwire::sim::cli {

namespace {

constexpr std::string_view kName = "run";

void print_help() {
  std::printf(
      "usage: tapwire-sim run SCENARIO.json [SCENARIO.json...] [--seed N | --seeds A-B]\n"
      "                       [--pcap OUT] [--report OUT.json] [--quiet]\n\n"
      "Runs each scenario file in the deterministic simulator (the proxy, a simulated VM\n"
      "and a simulated host network on a virtual clock) and checks its expectations.\n"
      "Prints one block per run: a header line, each expectation PASS/FAIL with the\n"
      "reason, key counters, virtual and wall time; then 'N scenarios, M passed, K failed'.\n\n"
      "options:\n"
      "  --seed N        run with seed N instead of the scenario's own seed\n"
      "  --seeds A-B     run every scenario once per seed A..B (inclusive)\n"
      "  --pcap OUT      save the capture (both directions at the proxy's end of the link,\n"
      "                  from time zero, nanosecond pcap). With a single run OUT is the\n"
      "                  file; with several runs OUT is a directory (created if needed)\n"
      "                  receiving NAME.pcap, or NAME-seedN.pcap with --seeds. Captures\n"
      "                  stop recording at 64 MiB (the report says so)\n"
      "  --report OUT    write a JSON report: one run object {passed, seed, digest, stats,\n"
      "                  expectations, ...}; with several runs {\"runs\": [...], \"total\",\n"
      "                  \"passed\", \"failed\"}\n"
      "  --quiet         print only failing runs and the final line\n"
      "  --help          show this help\n\n"
      "exit status: 0 every expectation held, 1 some failed, 2 usage or scenario file error\n");
}

bool parse_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

bool write_file(const std::string& path, const void* data, std::size_t len) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return false;
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(len));
  return static_cast<bool>(f);
}

struct Job {
  const Scenario* scenario;
  std::uint64_t seed;
};

}  // namespace

int run_main(Args args) {
  std::vector<std::string> files;
  std::optional<std::uint64_t> seed;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> seeds;
  std::optional<std::string> pcap_out, report_out;
  bool quiet = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    auto value = [&](std::string_view flag) -> std::optional<std::string_view> {
      if (i + 1 >= args.size()) return std::nullopt;
      (void)flag;
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      print_help();
      return kExitOk;
    } else if (a == "--quiet") {
      quiet = true;
    } else if (a == "--seed") {
      auto v = value(a);
      std::uint64_t n = 0;
      if (!v || !parse_u64(*v, n)) return usage_error(kName, "--seed needs a non-negative integer");
      seed = n;
    } else if (a == "--seeds") {
      auto v = value(a);
      std::uint64_t lo = 0, hi = 0;
      const std::size_t dash = v ? v->find('-') : std::string_view::npos;
      if (!v || dash == std::string_view::npos || !parse_u64(v->substr(0, dash), lo) ||
          !parse_u64(v->substr(dash + 1), hi) || lo > hi || hi - lo >= 100000)
        return usage_error(kName, "--seeds needs a range A-B with A <= B (at most 100000 seeds)");
      seeds = std::make_pair(lo, hi);
    } else if (a == "--pcap") {
      auto v = value(a);
      if (!v) return usage_error(kName, "--pcap needs a path");
      pcap_out = std::string(*v);
    } else if (a == "--report") {
      auto v = value(a);
      if (!v) return usage_error(kName, "--report needs a path");
      report_out = std::string(*v);
    } else if (!a.empty() && a[0] == '-') {
      return usage_error(kName, "unknown option " + std::string(a));
    } else {
      files.emplace_back(a);
    }
  }
  if (files.empty()) return usage_error(kName, "no scenario files given");
  if (seed && seeds) return usage_error(kName, "--seed and --seeds exclude each other");

  // Load everything first: a broken file stops the whole run before anything runs.
  std::vector<Scenario> scenarios;
  bool load_failed = false;
  for (const std::string& f : files) {
    ScenarioResult loaded = load_scenario_file(f);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.error().to_string().c_str());
      load_failed = true;
      continue;
    }
    scenarios.push_back(std::move(loaded).value());
  }
  if (load_failed) return kExitUsage;

  std::vector<Job> jobs;
  for (const Scenario& s : scenarios) {
    if (seeds) {
      for (std::uint64_t n = seeds->first;; ++n) {
        jobs.push_back({&s, n});
        if (n == seeds->second) break;
      }
    } else {
      jobs.push_back({&s, seed.value_or(s.seed)});
    }
  }
  const bool several = jobs.size() > 1;
  if (pcap_out && several) {
    std::error_code ec;
    std::filesystem::create_directories(*pcap_out, ec);
    if (ec) {
      std::fprintf(stderr, "tapwire-sim run: cannot create directory %s: %s\n", pcap_out->c_str(),
                   ec.message().c_str());
      return kExitFailure;
    }
  }

  std::vector<RunResult> results;
  int status = kExitOk;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    if (!quiet) {
      std::printf("[%zu/%zu] %s (seed %llu) ...\n", i + 1, jobs.size(), job.scenario->name.c_str(),
                  static_cast<unsigned long long>(job.seed));
      std::fflush(stdout);
    }
    RunOptions options;
    options.seed = job.seed;
    options.record_pcap = pcap_out.has_value();
    RunResult r = run_scenario(*job.scenario, options);
    if (!quiet || !r.passed) std::printf("%s", format_summary(r).c_str());
    std::fflush(stdout);
    if (pcap_out) {
      std::string path = *pcap_out;
      if (several) {
        path = (std::filesystem::path(*pcap_out) /
                (r.scenario + (seeds ? "-seed" + std::to_string(job.seed) : std::string()) + ".pcap"))
                   .string();
      }
      if (!write_file(path, r.pcap.data(), r.pcap.size())) {
        std::fprintf(stderr, "tapwire-sim run: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
        status = kExitFailure;
      }
    }
    if (!r.passed) status = kExitFailure;
    r.pcap.clear();
    results.push_back(std::move(r));
  }
  std::printf("%s\n", format_totals(results).c_str());

  if (report_out) {
    const nlohmann::json j = several ? to_json(results) : to_json(results.front());
    const std::string text = j.dump(2) + "\n";
    if (!write_file(*report_out, text.data(), text.size())) {
      std::fprintf(stderr, "tapwire-sim run: cannot write %s: %s\n", report_out->c_str(), std::strerror(errno));
      status = kExitFailure;
    }
  }
  return status;
}

}  // namespace tapwire::sim::cli
