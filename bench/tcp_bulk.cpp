// bench_tcp_bulk: payload throughput of Tapwire's TCP, per CPU-second.
//
// Two complete endpoints (NetInterface + TcpStack each, the harness of
// tests/unit/tcpsim/two_stacks.h) run in one process over a sim::Link with no
// impairment and the default delay (100 us). Endpoint A sends `--bytes` of pattern
// data to B in one connection; B drains its receive buffer as fast as data arrives.
// The figure is payload bits delivered to B's application divided by the process CPU
// time (std::clock) spent running the World, from the connect to the last byte read
// (setup and teardown excluded). Virtual time plays no part: it is what the stacks
// would need on a 100 us wire, not what the machine needs.
//
// Everything is in the measured loop: the application writing the pattern into the
// send buffer, segmentation, Ethernet/IPv4/TCP emit with checksums, the link's copy
// and scheduling, parsing with checksum verification, reassembly into the receive
// buffer, the ACK path in the other direction, and timers. The World's run digest
// (SHA-256 over every frame) is switched off (world.digest().set_enabled(false)); so is
// the harness's frame fingerprinting and, unless --verify, the receiver's pattern check.
// --digest turns the run digest back on, to show what the simulator pays for it.
//
// Usage: bench_tcp_bulk [--mtu N]... [--runs N] [--bytes N] [--buffer N] [--verify] [--digest]
// Prints one line per run and the median per MTU, in Gbit/s.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "tests/unit/tcpsim/two_stacks.h"

namespace {

using namespace tapwire;

struct Options {
  std::vector<std::size_t> mtus;
  int runs = 5;
  std::uint64_t bytes = 0;  // 0: per-MTU default
  std::size_t buffer = 0;   // 0: the stack's default (256 KiB)
  bool verify = false;
  bool digest = false;
};

struct RunResult {
  double gbps = 0;
  double cpu_s = 0;
  double virtual_s = 0;
  std::uint64_t bytes = 0;
  std::uint64_t segments = 0;
  bool ok = false;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: bench_tcp_bulk [--mtu N]... [--runs N] [--bytes N] [--buffer N] [--verify] [--digest]\n"
               "  --mtu N     link/IP MTU (repeatable; default 1500 and 65520)\n"
               "  --runs N    runs per MTU (default 5); the median is reported\n"
               "  --bytes N   payload per run (default 512 MB at MTU >= 9000, else 256 MB)\n"
               "  --buffer N  send and receive buffer of each connection (default 256 KiB)\n"
               "  --verify    check every received byte against the pattern (costs CPU)\n"
               "  --digest    keep the World's SHA-256 run digest on (as the simulator runs)\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::uint64_t {
      if (i + 1 >= argc) usage();
      char* end = nullptr;
      const unsigned long long v = std::strtoull(argv[++i], &end, 10);
      if (end == nullptr || *end != '\0') usage();
      return v;
    };
    if (a == "--mtu") o.mtus.push_back(static_cast<std::size_t>(value()));
    else if (a == "--runs") o.runs = static_cast<int>(value());
    else if (a == "--bytes") o.bytes = value();
    else if (a == "--buffer") o.buffer = static_cast<std::size_t>(value());
    else if (a == "--verify") o.verify = true;
    else if (a == "--digest") o.digest = true;
    else usage();
  }
  if (o.mtus.empty()) o.mtus = {1500, 65520};
  if (o.runs < 1) usage();
  return o;
}

RunResult run_once(std::size_t mtu, std::uint64_t bytes, const Options& opt, std::uint64_t seed) {
  tcpsim::TwoStacksConfig cfg;
  cfg.seed = seed;
  cfg.mtu = mtu;
  cfg.fingerprint_frames = false;
  if (opt.buffer != 0) {
    cfg.conn.send_buffer = opt.buffer;
    cfg.conn.recv_buffer = opt.buffer;
  }
  tcpsim::TwoStacks ts(cfg);
  sim::World& world = ts.world();
  world.digest().set_enabled(opt.digest);  // off by default: no SHA-256 per frame

  RunResult r;
  const Instant v0 = world.now();
  const std::clock_t c0 = std::clock();
  if (!ts.start_bulk(bytes, 0, opt.verify).ok()) return r;
  const bool done = world.run_until([&] { return ts.b().flow().received >= bytes && ts.b().flow().eof; },
                                    v0 + Duration::seconds(3600));
  const std::clock_t c1 = std::clock();
  r.cpu_s = static_cast<double>(c1 - c0) / CLOCKS_PER_SEC;
  r.virtual_s = (world.now() - v0).secs();
  r.bytes = ts.b().flow().received;
  r.segments = ts.a().counters().tcp_out;
  r.ok = done && !world.failure() && !ts.b().flow().first_mismatch && r.bytes == bytes;
  r.gbps = r.cpu_s > 0 ? static_cast<double>(r.bytes) * 8 / r.cpu_s / 1e9 : 0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  std::printf("bench_tcp_bulk: one connection A->B over sim::Link (delay 100us, no impairment), "
              "payload Gbit/s per CPU-second (std::clock), run digest %s%s\n",
              opt.digest ? "ON" : "off", opt.verify ? ", receiver verifies every byte" : "");
  bool all_ok = true;
  for (const std::size_t mtu : opt.mtus) {
    const std::uint64_t bytes = opt.bytes != 0 ? opt.bytes : (mtu >= 9000 ? 512ull << 20 : 256ull << 20);
    std::vector<double> gbps;
    for (int run = 0; run < opt.runs; ++run) {
      const RunResult r = run_once(mtu, bytes, opt, 1000 + static_cast<std::uint64_t>(run));
      std::printf("  mtu %5zu run %d: %s %7.3f Gbit/s  (%llu bytes, %.3f s CPU, %.4f s virtual, %llu segments)\n",
                  mtu, run + 1, r.ok ? "ok    " : "FAILED", r.gbps, static_cast<unsigned long long>(r.bytes),
                  r.cpu_s, r.virtual_s, static_cast<unsigned long long>(r.segments));
      all_ok = all_ok && r.ok;
      gbps.push_back(r.gbps);
    }
    std::sort(gbps.begin(), gbps.end());
    const double median = gbps.size() % 2 == 1 ? gbps[gbps.size() / 2]
                                               : (gbps[gbps.size() / 2 - 1] + gbps[gbps.size() / 2]) / 2;
    std::printf("mtu %zu: median %.3f Gbit/s over %d runs (min %.3f, max %.3f)\n", mtu, median, opt.runs,
                gbps.front(), gbps.back());
  }
  return all_ok ? 0 : 1;
}
