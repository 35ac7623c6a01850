// bench_dns_forwarder: DNS queries through the proxy's forwarder, per CPU-second, in
// the simulator.
//
// One TestBed: the simulated VM (static address) asks the gateway; the proxy forwards
// every query (no cache exists) to one simulated upstream on the host side, which
// answers from a three-record zone; the answer comes back through the proxy to the
// VM's stub resolver, which parses and checks it. `--window` queries are kept in
// flight; the run ends when `--queries` have been answered. The figure is answered
// queries divided by the process CPU time (std::clock) spent running the World, so it
// includes everything the simulator does per query: the VM's stub, its UDP/IPv4/
// Ethernet frames, the link, the proxy's triage and relay, one host UDP socket per
// query, and the simulated server. The run digest is off unless --digest.
//
// Usage: bench_dns_forwarder [--queries N] [--window N] [--runs N] [--digest]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <string>
#include <vector>

#include "sim/testbed/testbed.h"

namespace {

using namespace tapwire;

struct Options {
  std::uint64_t queries = 200'000;
  std::size_t window = 64;
  int runs = 5;
  bool digest = false;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: bench_dns_forwarder [--queries N] [--window N] [--runs N] [--digest]\n"
               "  --queries N  answered queries per run (default 200000)\n"
               "  --window N   queries in flight (default 64)\n"
               "  --runs N     runs (default 5); the median is reported\n"
               "  --digest     keep the run digest on (SHA-256 over every frame)\n");
  std::exit(2);
}

std::uint64_t number(const char* text) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || v == 0) usage();
  return v;
}

struct RunResult {
  double qps = 0;
  double cpu_s = 0;
  std::uint64_t answered = 0;
  std::uint64_t failed = 0;
};

RunResult run_once(const Options& o, std::uint64_t seed) {
  sim::TestBedOptions bed;
  bed.seed = seed;
  bed.capture.record_pcap = false;
  bed.proxy.dns.upstreams = {*proxy::DnsUpstreamGroup::parse("10.0.0.53")};
  bed.proxy.dns.max_inflight_per_client = static_cast<std::uint32_t>(std::max<std::size_t>(o.window, 256));
  sim::GuestVmConfig vm;
  vm.ip = wire::Ipv4Addr::from_octets(192, 168, 65, 3);
  bed.guest = vm;
  sim::TestBed tb(bed);
  tb.world().digest().set_enabled(o.digest);
  sim::DnsServerSpec server;
  server.at = host::Endpoint{wire::Ipv4Addr::from_octets(10, 0, 0, 53), 53};
  server.records = {"www.bench.test CNAME web.bench.test 60", "web.bench.test A 192.0.2.1 60",
                    "web.bench.test A 192.0.2.2 60"};
  if (auto err = tb.host().add_dns_server(server)) {
    std::fprintf(stderr, "bench_dns_forwarder: %s\n", err->c_str());
    std::exit(1);
  }
  sim::GuestVm& guest = *tb.guest();
  sim::DnsQueryOptions q;
  q.name = "www.bench.test";

  RunResult r;
  std::deque<sim::GuestDnsQueryPtr> in_flight;
  std::uint64_t started = 0;
  const std::clock_t c0 = std::clock();
  while (r.answered + r.failed < o.queries) {
    while (in_flight.size() < o.window && started < o.queries) {
      in_flight.push_back(guest.dns_query(q));
      ++started;
    }
    if (!tb.world().step()) break;
    while (!in_flight.empty() && in_flight.front()->done) {
      (in_flight.front()->ok() && in_flight.front()->answers.size() == 3 ? r.answered : r.failed) += 1;
      in_flight.pop_front();
    }
  }
  r.cpu_s = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  r.qps = r.cpu_s > 0 ? static_cast<double>(r.answered) / r.cpu_s : 0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--queries" && i + 1 < argc) {
      o.queries = number(argv[++i]);
    } else if (a == "--window" && i + 1 < argc) {
      o.window = number(argv[++i]);
    } else if (a == "--runs" && i + 1 < argc) {
      o.runs = static_cast<int>(number(argv[++i]));
    } else if (a == "--digest") {
      o.digest = true;
    } else {
      usage();
    }
  }
  std::vector<double> rates;
  bool all_ok = true;
  for (int run = 1; run <= o.runs; ++run) {
    const RunResult r = run_once(o, static_cast<std::uint64_t>(run));
    std::printf("run %d: %llu answered, %llu failed, %.3f CPU s, %.0f queries per CPU-second\n", run,
                static_cast<unsigned long long>(r.answered), static_cast<unsigned long long>(r.failed), r.cpu_s,
                r.qps);
    std::fflush(stdout);
    rates.push_back(r.qps);
    all_ok = all_ok && r.failed == 0 && r.answered == o.queries;
  }
  std::sort(rates.begin(), rates.end());
  std::printf("median: %.0f queries per CPU-second (window %zu, digest %s)\n", rates[rates.size() / 2], o.window,
              o.digest ? "on" : "off");
  return all_ok ? 0 : 1;
}
