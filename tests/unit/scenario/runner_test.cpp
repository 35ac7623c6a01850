#define BOOST_TEST_MODULE runner
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "sim/scenario/loader.h"
#include "sim/scenario/runner.h"
#include "stack/pcap/pcap.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"

using namespace tapwire;
using namespace tapwire::sim;

namespace {

const std::string kScenarios = std::string(TAPWIRE_SOURCE_DIR) + "/scenarios";

std::vector<std::string> scenario_files() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(kScenarios)) {
    const auto& p = e.path();
    if (p.extension() == ".json" && p.filename() != "schema.json") files.push_back(p.string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

Scenario load(const std::string& name) {
  ScenarioResult r = load_scenario_file(kScenarios + "/" + name + ".json");
  BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().to_string()));
  return std::move(r).value();
}

Scenario load_text(const std::string& text) {
  ScenarioResult r = load_scenario_text(text, "<test>");
  BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().to_string()));
  return std::move(r).value();
}

std::string failures(const RunResult& r) {
  std::string out = r.failure.value_or("");
  for (const auto& e : r.expectations)
    if (!e.passed) out += "\n  " + e.kind + ": " + e.description + " -- " + e.reason;
  return out;
}

const ExpectationResult* find_expectation(const RunResult& r, const std::string& fragment) {
  for (const auto& e : r.expectations)
    if (e.description.find(fragment) != std::string::npos) return &e;
  return nullptr;
}

// One TCP segment of a capture, with its direction by address.
struct Seg {
  Instant at;
  wire::Ipv4Addr src, dst;
  wire::TcpRepr tcp;
  std::vector<std::uint8_t> payload;
  std::size_t frame_len = 0;
};

std::vector<Seg> tcp_segments(const std::vector<std::uint8_t>& capture) {
  std::vector<Seg> out;
  auto reader = pcap::PcapReader::open_memory(Bytes(capture.data(), capture.size()));
  BOOST_TEST_REQUIRE(reader.ok());
  for (;;) {
    auto rec = reader->next();
    BOOST_TEST_REQUIRE(rec.ok());
    if (!rec.value()) break;
    const pcap::PcapRecord& r = *rec.value();
    auto eth = wire::EthernetFrame::check(r.data);
    if (!eth.ok() || eth.value().ethertype() != wire::kEthertypeIpv4) continue;
    auto ip = wire::Ipv4Packet::check(eth.value().payload());
    if (!ip.ok() || ip.value().protocol() != wire::ip_proto::tcp || ip.value().is_fragment()) continue;
    auto seg = wire::TcpSegment::check(ip.value().payload());
    BOOST_TEST_REQUIRE(seg.ok());
    auto repr = wire::TcpRepr::parse(seg.value(), ip.value().src(), ip.value().dst());
    BOOST_TEST_REQUIRE(repr.ok(), "every TCP segment in the capture has a valid checksum and options");
    Seg s;
    s.at = r.ts;
    s.src = ip.value().src();
    s.dst = ip.value().dst();
    s.tcp = repr.value();
    s.payload.assign(repr.value().payload.begin(), repr.value().payload.end());
    s.tcp.payload = {};
    s.frame_len = r.data.size();
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_scenario_passes) {
  const auto files = scenario_files();
  BOOST_TEST(files.size() >= 17u);
  for (const std::string& f : files) {
    RunOptions options;
    options.record_pcap = false;
    ScenarioRunner runner(options);
    auto r = runner.run_file(f);
    BOOST_TEST_REQUIRE(std::holds_alternative<RunResult>(r), f);
    const RunResult& result = std::get<RunResult>(r);
    BOOST_TEST(result.passed, f << failures(result));
    // The MTU invariant is checked in every run: it does not count as the scenario's own.
    const auto own = std::count_if(result.expectations.begin(), result.expectations.end(),
                                   [](const ExpectationResult& e) { return e.kind != "invariant"; });
    BOOST_TEST(own > 0, f << ": a scenario without expectations of its own checks nothing");
    BOOST_TEST(own < static_cast<std::ptrdiff_t>(result.expectations.size()), f << ": the MTU invariant was not checked");
    BOOST_TEST(result.digest.size() == 64u);
  }
}

BOOST_AUTO_TEST_CASE(a_broken_expectation_fails_with_the_observed_value) {
  // tcp_refused_gets_rst, but expecting what the vpnkit-style bug would show: a
  // SYN-ACK, an established connection and no RST.
  Scenario s = load_text(R"({
    "name": "expects_the_wrong_thing", "duration": "2s", "vm": {"ip": "192.168.65.9"},
    "host": {"servers": [{"listen": "93.184.216.34:80", "behaviour": "refuse"}]},
    "actions": [{"at": "100ms", "do": "tcp_connect", "id": "c1", "dst": "93.184.216.34:80", "send": 10}],
    "expect": {
      "timed": [{"at": "1s", "conn": "c1", "state": "ESTABLISHED"}],
      "never": [{"frame": {"dir": "to_guest", "flags": "R"}}],
      "at_end": {"counters": {"proxy.tcp.rst_to_guest": 0},
                 "frames": [{"dir": "to_guest", "flags": "SA", "count": 1}]}
    }})");
  RunResult r = run_scenario(s);
  BOOST_TEST(!r.passed);
  BOOST_TEST(r.failed_expectations() == 4u, failures(r));

  const ExpectationResult* timed = find_expectation(r, "conn c1, state == ESTABLISHED");
  BOOST_TEST_REQUIRE(timed != nullptr);
  BOOST_TEST(!timed->passed);
  BOOST_TEST(timed->reason.find("state CLOSED") != std::string::npos, timed->reason);

  const ExpectationResult* never = find_expectation(r, "to_guest flags R");
  BOOST_TEST_REQUIRE(never != nullptr);
  BOOST_TEST(never->kind == "never");
  BOOST_TEST(!never->passed);
  BOOST_TEST(never->reason.find("happened at 100") != std::string::npos, never->reason);
  BOOST_TEST(never->reason.find("93.184.216.34:80") != std::string::npos, never->reason);

  const ExpectationResult* counter = find_expectation(r, "proxy.tcp.rst_to_guest");
  BOOST_TEST_REQUIRE(counter != nullptr);
  BOOST_TEST(counter->reason == "proxy.tcp.rst_to_guest = 1 (want == 0)");
  // A counter no run reports does not even load (sim/scenario/counter_names.h).
  ScenarioResult unknown = load_scenario_text(
      R"({"name": "u", "duration": "1s", "expect": {"at_end": {"counters": {"no.such.counter": 1}}}})", "<test>");
  BOOST_TEST_REQUIRE(!unknown.ok());
  BOOST_TEST(unknown.error().message.find("unknown counter \"no.such.counter\"") != std::string::npos);
  const ExpectationResult* frames = find_expectation(r, "to_guest flags SA");
  BOOST_TEST_REQUIRE(frames != nullptr);
  BOOST_TEST(frames->reason == "0 frames (want == 1)");

  // The readable summary and the JSON report both say so.
  const std::string summary = format_summary(r);
  BOOST_TEST(summary.rfind("FAIL expects_the_wrong_thing", 0) == 0u, summary);
  BOOST_TEST(summary.find("  FAIL timed: at 1s: conn c1") != std::string::npos, summary);
  const nlohmann::json j = to_json(r);
  for (const char* key : {"passed", "seed", "digest", "stats", "expectations"}) BOOST_TEST(j.contains(key), key);
  BOOST_TEST(j["passed"] == false);
  BOOST_TEST(j["stats"]["proxy.tcp.rst_to_guest"] == 1);
  BOOST_TEST(format_totals({r}) == "1 scenarios, 0 passed, 1 failed");
}

BOOST_AUTO_TEST_CASE(an_action_that_cannot_run_fails_the_run) {
  // A ping before the VM has an address: the run reports it instead of passing quietly.
  Scenario s = load_text(R"({
    "name": "ping_without_address", "duration": "2s",
    "actions": [{"at": "100ms", "do": "ping", "id": "p", "dst": "192.168.65.1"}]})");
  RunResult r = run_scenario(s);
  BOOST_TEST(!r.passed);
  BOOST_TEST_REQUIRE(r.failure.has_value());
  BOOST_TEST(r.failure->find("no address") != std::string::npos, *r.failure);
}

BOOST_AUTO_TEST_CASE(echo_capture_shows_handshake_data_and_close) {
  RunResult r = run_scenario(load("tcp_echo_via_host_alias"));
  BOOST_TEST_REQUIRE(r.passed, failures(r));
  BOOST_TEST(!r.capture_truncated);
  const auto segs = tcp_segments(r.pcap);
  BOOST_TEST_REQUIRE(segs.size() >= 4u);
  const auto alias = wire::Ipv4Addr::from_octets(192, 168, 65, 2);
  namespace f = wire::tcp_flags;

  // Handshake: SYN from the VM, SYN-ACK from the alias, then the VM's ACK.
  const Seg& syn = segs[0];
  BOOST_TEST((syn.dst == alias));
  BOOST_TEST(syn.tcp.flags == f::SYN);
  BOOST_TEST(syn.tcp.dst_port == 7);
  const Seg& synack = segs[1];
  BOOST_TEST((synack.src == alias));
  BOOST_TEST(synack.tcp.flags == (f::SYN | f::ACK));
  BOOST_TEST(synack.tcp.ack == syn.tcp.seq + 1);
  BOOST_TEST((synack.tcp.options.mss == std::optional<std::uint16_t>(1460)));
  BOOST_TEST((segs[2].dst == alias));
  BOOST_TEST((segs[2].tcp.flags & f::ACK) != 0);
  BOOST_TEST(segs[2].tcp.seq == syn.tcp.seq + 1);
  BOOST_TEST(segs[2].tcp.ack == synack.tcp.seq + 1);

  // Data both ways, byte-exact in sequence order; FIN both ways; no RST.
  std::uint64_t up = 0, down = 0;
  int fin_up = 0, fin_down = 0, rst = 0;
  for (const Seg& s : segs) {
    const bool from_vm = s.dst == alias;
    if (s.tcp.flags & f::RST) ++rst;
    if (s.tcp.flags & f::FIN) (from_vm ? fin_up : fin_down)++;
    if (!from_vm && !s.payload.empty()) {
      const std::uint32_t offset = s.tcp.seq - (synack.tcp.seq + 1);
      for (std::size_t i = 0; i < s.payload.size(); ++i)
        if (s.payload[i] != static_cast<std::uint8_t>((offset + i) % 251)) BOOST_FAIL("echoed byte not the pattern");
      down = std::max<std::uint64_t>(down, offset + s.payload.size());
    }
    if (from_vm && !s.payload.empty()) {
      const std::uint32_t offset = s.tcp.seq - (syn.tcp.seq + 1);
      up = std::max<std::uint64_t>(up, offset + s.payload.size());
    }
  }
  BOOST_TEST(up == 100000u);
  BOOST_TEST(down == 100000u);
  BOOST_TEST(fin_up >= 1);
  BOOST_TEST(fin_down >= 1);
  BOOST_TEST(rst == 0);
  // The last segment acknowledges the proxy's FIN.
  BOOST_TEST((segs.back().dst == alias));
  BOOST_TEST(segs.back().tcp.flags == f::ACK);
}

BOOST_AUTO_TEST_CASE(mtu_8000_synack_advertises_7960) {
  RunResult r = run_scenario(load("mtu_oversize_mtu_8000"));
  BOOST_TEST_REQUIRE(r.passed, failures(r));
  int synacks = 0;
  std::size_t largest = 0;
  for (const Seg& s : tcp_segments(r.pcap)) {
    if (s.tcp.flags == (wire::tcp_flags::SYN | wire::tcp_flags::ACK)) {
      ++synacks;
      BOOST_TEST((s.tcp.options.mss == std::optional<std::uint16_t>(7960)));
    }
    largest = std::max(largest, s.payload.size());
  }
  BOOST_TEST(synacks == 2);  // echo and source connections
  BOOST_TEST(largest == 7960u);
}

BOOST_AUTO_TEST_CASE(no_mss_segments_stay_at_536) {
  RunResult r = run_scenario(load("mtu_oversize_no_mss"));
  BOOST_TEST_REQUIRE(r.passed, failures(r));
  std::size_t largest_to_vm = 0;
  const auto vm = wire::Ipv4Addr::from_octets(192, 168, 65, 9);
  for (const Seg& s : tcp_segments(r.pcap)) {
    if (s.dst == vm) largest_to_vm = std::max(largest_to_vm, s.payload.size());
    if (s.dst == vm && s.tcp.dst_port == 4444) BOOST_TEST(s.frame_len <= 1514u);
  }
  BOOST_TEST(largest_to_vm == 536u);
}

BOOST_AUTO_TEST_CASE(capture_stops_at_its_cap_and_says_so) {
  RunOptions options;
  options.capture_cap = 20000;
  RunResult r = run_scenario(load("tcp_echo_via_host_alias"), options);
  BOOST_TEST(r.passed, failures(r));  // truncation does not change the run
  BOOST_TEST(r.capture_truncated);
  BOOST_TEST(r.pcap.size() <= 20000u);
  BOOST_TEST(r.capture_bytes == r.pcap.size());
  auto reader = pcap::PcapReader::open_memory(Bytes(r.pcap.data(), r.pcap.size()));
  BOOST_TEST_REQUIRE(reader.ok());
  std::uint64_t frames = 0;
  for (;;) {
    auto rec = reader->next();
    BOOST_TEST_REQUIRE(rec.ok());
    if (!rec.value()) break;
    ++frames;
  }
  BOOST_TEST(frames == r.capture_frames);
  BOOST_TEST(format_summary(r).find("pcap truncated") != std::string::npos);

  // The digest covers the whole run either way.
  RunResult full = run_scenario(load("tcp_echo_via_host_alias"));
  BOOST_TEST(full.digest == r.digest);
  BOOST_TEST(!full.capture_truncated);
}

BOOST_AUTO_TEST_CASE(a_file_that_does_not_load_names_file_and_path) {
  ScenarioRunner runner;
  auto r = runner.run_file(kScenarios + "/broken/unknown_key_nested.json");
  BOOST_TEST_REQUIRE(std::holds_alternative<ScenarioError>(r));
  const std::string text = std::get<ScenarioError>(r).to_string();
  BOOST_TEST(text.find("unknown_key_nested.json") != std::string::npos, text);
  BOOST_TEST(text.find("$.") != std::string::npos, text);
}

// A DNS condition reports the answer it saw, and fails on a wrong one (the order of
// the records, the rejection, a query that is not done yet).
BOOST_AUTO_TEST_CASE(dns_conditions_fail_with_what_was_seen) {
  const Scenario s = load_text(R"({"name": "dns", "duration": "3s", "vm": {"ip": "192.168.65.9"},
    "proxy": {"dns": {"upstreams": ["10.0.0.53"]}},
    "host": {"dns_servers": [{"address": "10.0.0.53:53", "delay": "1s",
                              "records": ["a.test A 1.1.1.1 60", "a.test A 2.2.2.2 60"]}]},
    "actions": [{"at": "0s", "do": "dns_query", "id": "q", "name": "a.test"}],
    "expect": {"timed": [{"at": "500ms", "dns_query": "q", "rcode": "NOERROR"}],
               "at_end": {"conditions": [
                 {"dns_query": "q", "answers": [["a.test", "A", 60, "2.2.2.2"], ["a.test", "A", 60, "1.1.1.1"]]},
                 {"dns_query": "q", "rejected": true},
                 {"dns_query": "q", "answers": [["a.test", "A", 60, "1.1.1.1"], ["a.test", "A", 60, "2.2.2.2"]],
                  "rejected": null, "transport": "udp"}]}}})");
  const RunResult r = run_scenario(s);
  BOOST_TEST(!r.passed);
  const ExpectationResult* early = find_expectation(r, "at 500ms: dns_query q");
  BOOST_REQUIRE(early != nullptr);
  BOOST_TEST(!early->passed);
  BOOST_TEST(early->reason.find("not done") != std::string::npos, early->reason);
  std::vector<const ExpectationResult*> at_end;
  for (const auto& e : r.expectations)
    if (e.kind == "at_end" && e.description.starts_with("dns_query q")) at_end.push_back(&e);
  BOOST_REQUIRE(at_end.size() == 3u);
  BOOST_TEST(!at_end[0]->passed);
  BOOST_TEST(at_end[0]->reason.find("[a.test A 60 1.1.1.1], [a.test A 60 2.2.2.2]") != std::string::npos,
             at_end[0]->reason);
  BOOST_TEST(!at_end[1]->passed);
  BOOST_TEST(at_end[2]->passed, at_end[2]->reason);
}
