// `tapwire-sim decode [--summary] FILE.pcap...`: one line per frame,
//   <seconds.nanoseconds> <frame summary>
// and with --summary, a count per protocol for each file at the end.
#include <array>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "sim/cli/command.h"
#include "sim/cli/frame_summary.h"
#include "stack/pcap/pcap.h"

namespace tapwire::sim::cli {

namespace {

constexpr std::string_view kName = "decode";

void print_help() {
  std::printf(
      "usage: tapwire-sim decode [--summary] FILE.pcap [FILE.pcap...]\n\n"
      "Prints one line per frame: the capture timestamp (seconds.nanoseconds), source and\n"
      "destination MAC, then each layer Tapwire parses (ARP, IPv4, ICMP, UDP, TCP, DHCP,\n"
      "DNS). A frame that fails to parse ends with 'malformed (<reason>)'. Checksums are\n"
      "not verified. Accepts microsecond and nanosecond pcaps with Ethernet link type.\n\n"
      "options:\n"
      "  --summary   after each file, print the number of frames per protocol\n"
      "  --help      show this help\n");
}

// Protocols in report order; anything else is counted under its own name after these.
constexpr std::array<std::string_view, 10> kProtocolOrder = {
    "ARP", "DHCP", "DNS", "ICMP", "TCP", "UDP", "IPv4", "IPv4-fragment", "other", "malformed"};

struct Counts {
  std::vector<std::pair<std::string, std::uint64_t>> by_protocol;
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  Instant first, last;

  void add(const std::string& protocol) {
    for (auto& [name, n] : by_protocol) {
      if (name == protocol) {
        ++n;
        return;
      }
    }
    by_protocol.emplace_back(protocol, 1);
  }
};

void print_summary(const std::string& path, const Counts& counts) {
  const Duration span = counts.frames == 0 ? Duration::zero() : counts.last - counts.first;
  std::printf("summary %s: %llu frames, %llu bytes, %ss\n", path.c_str(),
              static_cast<unsigned long long>(counts.frames), static_cast<unsigned long long>(counts.bytes),
              format_timestamp(span.ns()).c_str());
  auto print_one = [](std::string_view name, std::uint64_t n) {
    std::printf("  %-14.*s %llu\n", static_cast<int>(name.size()), name.data(), static_cast<unsigned long long>(n));
  };
  for (std::string_view name : kProtocolOrder)
    for (const auto& [protocol, n] : counts.by_protocol)
      if (protocol == name) print_one(protocol, n);
  for (const auto& [protocol, n] : counts.by_protocol) {
    bool listed = false;
    for (std::string_view name : kProtocolOrder) listed = listed || protocol == name;
    if (!listed) print_one(protocol, n);
  }
}

// Returns false when the file could not be read to the end.
bool decode_file(const std::string& path, bool summary) {
  auto reader = pcap::PcapReader::open(path);
  if (!reader.ok()) {
    std::fprintf(stderr, "tapwire-sim decode: %s\n", reader.error().message.c_str());
    return false;
  }
  Counts counts;
  bool complete = true;
  for (;;) {
    auto record = reader->next();
    if (!record.ok()) {
      std::fflush(stdout);
      std::fprintf(stderr, "tapwire-sim decode: %s\n", record.error().message.c_str());
      complete = false;
      break;
    }
    if (!record->has_value()) break;
    const pcap::PcapRecord& r = **record;
    const FrameSummary s = summarize_frame(r.data);
    std::string line = format_timestamp(r.ts.ns()) + " " + s.text;
    if (r.data.size() < r.orig_len)
      line += " [captured " + std::to_string(r.data.size()) + " of " + std::to_string(r.orig_len) + " bytes]";
    std::printf("%s\n", line.c_str());
    if (counts.frames == 0) counts.first = r.ts;
    counts.last = r.ts;
    ++counts.frames;
    counts.bytes += r.orig_len;
    counts.add(s.protocol);
  }
  if (summary) print_summary(path, counts);
  return complete;
}

}  // namespace

int decode_main(Args args) {
  bool summary = false;
  bool flags_done = false;
  std::vector<std::string> files;
  for (std::string_view arg : args) {
    if (!flags_done && arg == "--help") {
      print_help();
      return kExitOk;
    }
    if (!flags_done && arg == "--summary") {
      summary = true;
    } else if (!flags_done && arg == "--") {
      flags_done = true;
    } else if (!flags_done && arg.size() > 1 && arg[0] == '-') {
      return usage_error(kName, "unknown flag " + std::string(arg));
    } else {
      files.emplace_back(arg);
    }
  }
  if (files.empty()) return usage_error(kName, "no pcap file given");
  bool ok = true;
  for (const std::string& file : files) ok = decode_file(file, summary) && ok;
  return ok ? kExitOk : kExitFailure;
}

}  // namespace tapwire::sim::cli
