#define BOOST_TEST_MODULE scenario_loader
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <map>

#include "sim/scenario/loader.h"

using namespace tapwire;
using namespace tapwire::sim;
using nlohmann::json;

namespace {

const std::string kScenarios = std::string(TAPWIRE_SOURCE_DIR) + "/scenarios";

Scenario load_ok(const std::string& name) {
  auto r = load_scenario_file(kScenarios + "/" + name);
  BOOST_REQUIRE_MESSAGE(r.ok(), name + ": " + (r.ok() ? "" : r.error().to_string()));
  return std::move(r).value();
}

ScenarioError load_error(const json& doc) {
  auto r = load_scenario_json(doc, "test.json");
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected an error for " + doc.dump(-1, ' ', false, json::error_handler_t::replace));
  return r.error();
}

// A minimal valid document to which a test adds one bad part.
json base() { return json{{"name", "t"}, {"duration", "10s"}}; }

}  // namespace

BOOST_AUTO_TEST_CASE(dhcp_and_ping_loads) {
  Scenario s = load_ok("dhcp_and_ping.json");
  BOOST_TEST(s.name == "dhcp_and_ping");
  BOOST_TEST((s.duration == Duration::seconds(10)));
  BOOST_TEST(!s.vm.ip.has_value());  // "dhcp"
  BOOST_REQUIRE(s.actions.size() == 3u);
  BOOST_TEST(s.actions[0].kind() == "dhcp");
  BOOST_TEST(s.actions[1].id == "gw");
  const auto& ping = std::get<PingAction>(s.actions[1].body);
  BOOST_TEST(ping.dst.to_string() == "192.168.65.1");
  BOOST_TEST(ping.count == 3u);
  BOOST_TEST((ping.interval == Duration::millis(100)));
  BOOST_REQUIRE(s.expect.timed.size() == 2u);
  const auto& lease = std::get<DhcpCondition>(s.expect.timed[0].condition.body);
  BOOST_TEST(lease.ip->to_string() == "192.168.65.3");
  BOOST_TEST((*lease.lease_time == Duration::seconds(7200)));
  BOOST_REQUIRE(s.expect.never.size() == 1u);
  const auto& big = std::get<FrameCondition>(s.expect.never[0].body);
  BOOST_TEST(big.match.min_len.value() == 1515u);
  BOOST_TEST(s.expect.never[0].note == "no frame to the guest above MTU + 14");
  BOOST_TEST(s.expect.at_end.no_leaks);
  BOOST_TEST(s.expect.at_end.frames.size() == 4u);
  BOOST_TEST(s.expect.at_end.frames[2].count.holds(3));
  BOOST_TEST(!s.expect.at_end.frames[2].count.holds(4));
}

BOOST_AUTO_TEST_CASE(tcp_echo_via_host_alias_loads) {
  Scenario s = load_ok("tcp_echo_via_host_alias.json");
  BOOST_REQUIRE(s.host.servers.size() == 1u);
  BOOST_TEST(Endpoint({s.host.servers[0].ip, s.host.servers[0].port}).to_string() == "127.0.0.1:7");
  BOOST_TEST((s.host.servers[0].behaviour == ServerBehaviour::echo));
  const auto& c1 = std::get<TcpConnectAction>(s.actions.at(1).body);
  BOOST_TEST(c1.dst.to_string() == "192.168.65.2:7");
  BOOST_TEST((c1.send.kind == Payload::Kind::pattern));
  BOOST_TEST(c1.send.size == 100000u);
  BOOST_TEST(c1.expect_echo);
  BOOST_TEST((c1.then == ThenStep::half_close));
  BOOST_REQUIRE(s.expect.at_end.streams.size() == 1u);
  BOOST_TEST(s.expect.at_end.streams[0].received.value() == 100000u);
  BOOST_TEST(s.expect.at_end.max_frame_to_guest.value() == 1514u);
  const auto& syn = s.expect.at_end.frames[0];
  BOOST_TEST(syn.match.flags->exact);
  // The default link: 100us each way, nothing else.
  BOOST_TEST((s.link_to_guest == LinkParams{}));
}

BOOST_AUTO_TEST_CASE(tcp_refused_gets_rst_loads) {
  Scenario s = load_ok("tcp_refused_gets_rst.json");
  BOOST_TEST(s.vm.ip->to_string() == "192.168.65.9");
  BOOST_TEST((s.host.servers[0].behaviour == ServerBehaviour::refuse));
  const auto& c1 = std::get<TcpConnectAction>(s.actions.at(0).body);
  BOOST_TEST(c1.send.text == "GET / HTTP/1.0\r\n\r\n");
  const auto& refused = std::get<ConnCondition>(s.expect.timed.at(0).condition.body);
  BOOST_TEST((refused.error == ConnError::refused));
  BOOST_TEST(refused.state.value() == "CLOSED");
  BOOST_REQUIRE(s.expect.at_end.counters.size() == 1u);
  BOOST_TEST(s.expect.at_end.counters[0].stat == "proxy.tcp.rst_to_guest");
  BOOST_TEST(s.expect.at_end.counters[0].compare.to_string() == ">= 1");
}

BOOST_AUTO_TEST_CASE(dns_rr_order_loads) {
  auto r = load_scenario_file(kScenarios + "/dns_rr_order.json");
  BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.error().to_string()));
  const Scenario& s = r.value();
  BOOST_REQUIRE(s.host.dns_servers.size() == 1u);
  BOOST_TEST(s.host.dns_servers[0].at.to_string() == "10.0.0.53:53");
  BOOST_TEST(s.host.dns_servers[0].records.size() == 6u);
  BOOST_REQUIRE(s.proxy.dns.upstreams.size() == 1u);
  const auto& q = std::get<DnsQueryAction>(s.actions.at(0).body);
  BOOST_REQUIRE(q.queries.size() == 1u);
  BOOST_TEST(q.queries[0].options.id.value() == 0x1234);
  BOOST_TEST(q.queries[0].options.strict);
  const auto& c = std::get<DnsCondition>(s.expect.timed.at(0).condition.body);
  BOOST_TEST(c.dns == "q1");
  BOOST_TEST(c.rcode.value() == 0);
  BOOST_REQUIRE(c.answers.value().size() == 6u);
  BOOST_TEST(c.answers->at(0).type == "CNAME");
  BOOST_TEST(c.not_rejected);
  BOOST_REQUIRE(s.expect.at_end.strict_checks.size() == 2u);
  BOOST_TEST(s.expect.at_end.strict_checks[0].rejected);
  BOOST_TEST(s.expect.at_end.strict_checks[0].records.size() == 4u);
}

// DNS keys: each mistake is an error at its own path.
BOOST_AUTO_TEST_CASE(dns_mistakes_name_their_path) {
  const std::pair<json, std::pair<std::string, std::string>> cases[] = {
      {json::parse(R"({"vm": {"ip": "192.168.65.9"}, "actions": [{"at": "1s", "do": "dns_query", "id": "q",
                        "name": "a.test"}], "expect": {"at_end": {"conditions": [{"dns_query": "q", "rcode": "NXDOMIAN"}]}}})"),
       {"$.expect.at_end.conditions[0].rcode", R"(did you mean "NXDOMAIN"?)"}},
      {json::parse(R"({"actions": [{"at": "1s", "do": "dns_query", "name": "a.test", "qtype": "AAA"}]})"),
       {"$.actions[0].qtype", "unknown query type"}},
      {json::parse(R"({"actions": [{"at": "1s", "do": "dns_query", "name": "a..test"}]})"), {"$.actions[0].name", ""}},
      {json::parse(R"({"host": {"dns_servers": [{"address": "10.0.0.53:53", "drop": 1.5}]}})"),
       {"$.host.dns_servers[0].drop", ""}},
      {json::parse(R"({"host": {"dns_servers": [{"address": "10.0.0.53:53"}, {"address": "10.0.0.53:53"}]}})"),
       {"$.host.dns_servers[1].address", "already listens"}},
      {json::parse(R"({"actions": [{"at": "1s", "do": "dns_query", "id": "q", "name": "a.test"}],
                       "expect": {"at_end": {"conditions": [{"dns_query": "q", "answers": [["a.test", "A", 60]]}]}}})"),
       {"$.expect.at_end.conditions[0].answers[0]", "expected a record like"}},
      {json::parse(R"({"expect": {"at_end": {"strict_check": [{"qname": "a.test", "rejected": true,
                        "answers": [["a.test", "A", 60, "not-an-address"]]}]}}})"),
       {"$.expect.at_end.strict_check[0].answers[0]", "not-an-address"}},
      {json::parse(R"({"actions": [{"at": "1s", "do": "dns_query", "pipeline": [{"id": "p1", "name": "a.test"},
                        {"id": "p1", "name": "b.test"}]}]})"),
       {"$.actions[0].pipeline[1].id", "duplicate id"}},
  };
  for (const auto& [patch, want] : cases) {
    json doc = base();
    doc.update(patch);
    const ScenarioError e = load_error(doc);
    BOOST_TEST(e.json_path == want.first, e.to_string());
    BOOST_TEST(e.message.find(want.second) != std::string::npos, e.to_string());
  }
}

BOOST_AUTO_TEST_CASE(every_scenario_file_loads) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kScenarios)) {
    if (entry.path().extension() != ".json" || entry.path().filename() == "schema.json") continue;
    auto r = load_scenario_file(entry.path().string());
    BOOST_TEST(r.ok(), entry.path().string() << ": " << (r.ok() ? "" : r.error().to_string()));
    ++count;
  }
  BOOST_TEST(count >= 3);
}

// Each broken file, the JSON path its error must name, and a piece of the message.
BOOST_AUTO_TEST_CASE(broken_files_are_rejected_with_file_and_path) {
  const std::map<std::string, std::pair<std::string, std::string>> expected = {
      {"unknown_key_top.json", {"$.seeed", R"(did you mean "seed"?)"}},
      {"unknown_key_nested.json", {"$.vm.mtx", R"(did you mean "mtu"?)"}},
      {"wrong_type_seed.json", {"$.seed", "expected an integer"}},
      {"bad_duration.json", {"$.proxy.dhcp.lease_time", R"(expected a duration like "30s")"}},
      {"bad_duration_unit.json", {"$.duration", "expected a duration"}},
      {"bad_address.json", {"$.actions[0].dst", "expected an IPv4 address"}},
      {"bad_endpoint_port.json", {"$.host.servers[0].listen", "expected an address:port"}},
      {"bad_cidr.json", {"$.proxy.allow_outbound[1]", "expected a CIDR prefix"}},
      {"mtu_out_of_range.json", {"$.proxy.mtu", "must be between 576 and 65520"}},
      {"probability_above_one.json", {"$.link.to_guest.loss", "above 1"}},
      {"unknown_link_key.json", {"$.link.los", R"(did you mean "loss"?)"}},
      {"unknown_behaviour.json", {"$.host.servers[0].behaviour", R"(did you mean "echo"?)"}},
      {"udp_server_tcp_behaviour.json", {"$.host.servers[0].behaviour", "TCP only"}},
      {"unknown_action.json", {"$.actions[1].do", R"(did you mean "tcp_connect"?)"}},
      {"missing_required_key.json", {"$", R"(missing required key "name")"}},
      {"missing_action_key.json", {"$.actions[0]", R"(missing required key "dst")"}},
      {"inject_frame_and_build.json", {"$.actions[0]", R"(exactly one of "frame" and "build")"}},
      {"condition_two_subjects.json", {"$.expect.never[0]", "one subject key"}},
      {"stat_without_comparison.json", {"$.expect.timed[0]", "needs a comparison"}},
      {"bad_json_syntax.json", {"$", "invalid JSON at line 4, column 23"}},
      {"semantic_gateway_outside_subnet.json", {"$.proxy.gateway_ip", "not a host address of subnet 192.168.65.0/24"}},
      {"semantic_unknown_reference.json", {"$.expect.at_end.conditions[0].conn", R"(no action has the id "c9")"}},
      {"semantic_action_after_end.json", {"$.actions[0].at", "after the end of the run"}},
      {"semantic_vm_ip_is_gateway.json", {"$.vm.ip", "gateway"}},
      {"semantic_dhcp_static_on_gateway.json", {"$.proxy.dhcp.static[0].ip", "the gateway or the host alias"}},
      {"semantic_duplicate_forward.json", {"$.proxy.port_forwards[1]", "duplicate forward"}},
      {"semantic_unknown_counter_never.json",
       {"$.expect.never[0].stat", R"(unknown counter "proxy.tcp.rst_to_gust" (did you mean "proxy.tcp.rst_to_guest"?))"}},
      {"semantic_unknown_counter_at_end.json",
       {R"($.expect.at_end.counters["proxy.drop.bad_tpc_checksum"])", R"(did you mean "proxy.drop.bad_tcp_checksum"?)"}},
      {"dns_unknown_quirk.json", {"$.host.resolver.quirk", R"(did you mean "old_macos"?)"}},
      {"semantic_dns_bad_record_line.json", {"$.host.dns_servers[0].records[1]", R"(unknown type "CNAM")"}},
      {"dns_hosts_file_in_scenario.json", {"$.proxy.dns.hosts_file", "the simulator has no files"}},
      {"semantic_dns_unknown_query.json", {"$.expect.at_end.conditions[0].dns_query", R"(no action has the id "q2")"}},
      {"dns_pipeline_and_name.json", {"$.actions[0].name", R"(belongs inside each element of "pipeline")"}},
  };
  std::size_t seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kScenarios + "/broken")) {
    const std::string path = entry.path().string();
    const std::string name = entry.path().filename().string();
    auto r = load_scenario_file(path);
    BOOST_TEST_CONTEXT(name) {
      BOOST_REQUIRE_MESSAGE(!r.ok(), name + " loaded but is broken");
      const ScenarioError& e = r.error();
      BOOST_TEST(e.file == path);
      BOOST_TEST(e.to_string().rfind(path + ": " + e.json_path + ": ", 0) == 0u);
      auto it = expected.find(name);
      BOOST_TEST((it != expected.end()), "add " << name << " to the table: " << e.to_string());
      if (it == expected.end()) continue;
      ++seen;
      BOOST_TEST(e.json_path == it->second.first, e.to_string());
      BOOST_TEST(e.message.find(it->second.second) != std::string::npos, e.to_string());
    }
  }
  BOOST_TEST(seen == expected.size());
}

// A condition naming a counter no run reports is a load error wherever it is written
// (today's spelling mistake would otherwise be a `never` that always holds).
BOOST_AUTO_TEST_CASE(unknown_counter_names_are_load_errors_with_their_path) {
  const std::pair<json, std::string> cases[] = {
      {json::parse(R"({"timed": [{"at": "1s", "stat": "proxy.tcp.flow_opened", ">=": 1}]})"), "$.expect.timed[0].stat"},
      {json::parse(R"({"never": [{"stat": "proxy.drop.no_such_reason", ">": 0}]})"), "$.expect.never[0].stat"},
      {json::parse(R"({"at_end": {"conditions": [{"stat": "link.to_guest.dropped_lost", "==": 0}]}})"),
       "$.expect.at_end.conditions[0].stat"},
      {json::parse(R"({"at_end": {"counters": {"guest.no_such_counter": 0}}})"),
       R"($.expect.at_end.counters["guest.no_such_counter"])"},
      {json::parse(R"({"never": [{"stat": "tcp.rst_to_guest", ">": 0}]})"), "$.expect.never[0].stat"},
  };
  for (const auto& [expect, path] : cases) {
    json doc = base();
    doc["expect"] = expect;
    const ScenarioError e = load_error(doc);
    BOOST_TEST(e.json_path == path, e.to_string());
    BOOST_TEST(e.message.find("unknown counter") != std::string::npos, e.to_string());
  }
  // The near miss gets a suggestion; a far one an example of the naming.
  json doc = base();
  doc["expect"] = json::parse(R"({"never": [{"stat": "proxy.tcp.flow_opened", ">": 0}]})");
  BOOST_TEST(load_error(doc).message.find(R"(did you mean "proxy.tcp.flows_opened"?)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_kind_of_counter_a_run_reports_is_accepted) {
  json doc = base();
  doc["expect"] = json::parse(R"({
    "never": [{"stat": "proxy.tcp.rst_to_guest", ">": 0}, {"stat": "proxy.drop.bad_tcp_checksum", ">": 0},
              {"stat": "proxy.drop.net.bad_checksum", ">": 0}, {"stat": "proxy.net.frames_in", ">": 1000000},
              {"stat": "proxy.tcp.flows_live", ">": 100}, {"stat": "proxy.host.open_handles", ">": 100}],
    "at_end": {"counters": {"link.to_guest.delivered": {">=": 0}, "capture.to_proxy.frames": {">=": 0},
                            "guest.tcp_segments_too_big": 0, "host.open_handles": 0, "world.polls": {">=": 0},
                            "guest.dhcp.acks": {">=": 0}, "proxy.port.would_block": {">=": 0}}}
  })");
  auto r = load_scenario_json(doc, "test.json");
  BOOST_TEST(r.ok(), (r.ok() ? "" : r.error().to_string()));
}

BOOST_AUTO_TEST_CASE(actions_are_read_and_sorted_by_time) {
  json doc = base();
  doc["actions"] = json::parse(R"([
    {"at": "3s", "do": "link", "set": {"loss": 0.1, "to_guest": {"delay": "5ms"}}},
    {"at": "1s", "do": "rule", "match": {"dir": "to_guest", "flags": "SA"}, "action": "drop", "nth": 2},
    {"at": "2s", "do": "flood", "kind": "udp", "dst": "10.0.0.1:53", "count": 100, "rate": 1000, "size": 10},
    {"at": "2s", "do": "inject", "build": {"proto": "tcp", "dst": "192.168.65.1", "dport": 80, "flags": "S"}},
    {"at": "1s", "do": "partition", "dir": "to_proxy"},
    {"at": "4s", "do": "server_stop", "listen": "127.0.0.1:7"}
  ])");
  auto r = load_scenario_json(doc, "test.json");
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().to_string()));
  const auto& a = r.value().actions;
  BOOST_REQUIRE(a.size() == 6u);
  BOOST_TEST(a[0].kind() == "rule");  // stable: of the two at 1s, the first written first
  BOOST_TEST(a[1].kind() == "partition");
  BOOST_TEST(a[2].kind() == "flood");
  BOOST_TEST(a[3].kind() == "inject");
  BOOST_TEST(a[5].kind() == "server_stop");
  const auto& rule = std::get<LinkRuleAction>(a[0].body).rule;
  BOOST_TEST(rule.nth == 2u);
  BOOST_TEST((rule.match.dir == Direction::to_guest));
  BOOST_TEST((std::get<FloodAction>(a[2].body).interval == Duration::millis(1)));
  const auto& built = *std::get<InjectAction>(a[3].body).build;
  BOOST_TEST(!built.mss.has_value());  // a SYN without an MSS option
  BOOST_TEST((std::get<PartitionAction>(a[1].body).dir == Direction::to_proxy));
  // The link change touches only the keys it names, each in its direction.
  LinkParams to_guest, to_proxy;
  std::get<LinkAction>(a[4].body).change.apply(to_guest, to_proxy);
  BOOST_TEST(to_guest.loss == 0.1);
  BOOST_TEST(to_proxy.loss == 0.1);
  BOOST_TEST((to_guest.delay == Duration::millis(5)));
  BOOST_TEST((to_proxy.delay == LinkParams{}.delay));
}

BOOST_AUTO_TEST_CASE(link_section_sets_both_or_one_direction) {
  json doc = base();
  doc["link"] = json::parse(R"({"delay": "2ms", "bandwidth": "100Mbit", "to_proxy": {"delay": "7ms"}})");
  auto r = load_scenario_json(doc, "test.json");
  BOOST_REQUIRE(r.ok());
  BOOST_TEST((r.value().link_to_guest.delay == Duration::millis(2)));
  BOOST_TEST((r.value().link_to_proxy.delay == Duration::millis(7)));
  BOOST_TEST(r.value().link_to_proxy.bandwidth_bps == 100'000'000u);
}

BOOST_AUTO_TEST_CASE(references_must_name_the_right_kind_of_action) {
  json doc = base();
  doc["actions"] = json::parse(R"([{"at": "0s", "do": "ping", "id": "p1", "dst": "192.168.65.1"}])");
  doc["expect"] = json::parse(R"({"timed": [{"at": "1s", "conn": "p1", "state": "ESTABLISHED"}]})");
  ScenarioError e = load_error(doc);
  BOOST_TEST(e.json_path == "$.expect.timed[0].conn");
  BOOST_TEST(e.message.find("is a ping action") != std::string::npos, e.message);

  doc["expect"] = json::parse(R"({"at_end": {"streams": {"p1": {"received": 1}}}})");
  BOOST_TEST(load_error(doc).json_path == "$.expect.at_end.streams.p1");

  doc["actions"].push_back(json::parse(R"({"at": "1s", "do": "dhcp", "id": "p1"})"));
  doc.erase("expect");
  e = load_error(doc);
  BOOST_TEST(e.json_path == "$.actions[1].id");
  BOOST_TEST(e.message.find("duplicate id") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(conditions_and_comparisons) {
  json doc = base();
  doc["actions"] = json::parse(R"([{"at": "0s", "do": "udp_send", "id": "u1", "dst": "192.168.65.1:9", "send": 8}])");
  doc["expect"] = json::parse(R"({
    "timed": [{"at": "1s", "udp": "u1", "icmp_error": "port_unreachable"}],
    "never": [{"stat": "proxy.udp.flows_opened", ">": 1024}],
    "at_end": {"counters": {"proxy.drop.net.bad_checksum": 0, "proxy.udp.datagrams_from_guest": {">=": 1, "<": 10}}}
  })");
  auto r = load_scenario_json(doc, "test.json");
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().to_string()));
  const Scenario& s = r.value();
  BOOST_TEST((std::get<UdpCondition>(s.expect.timed[0].condition.body).icmp_error == IcmpErrorKind::port_unreachable));
  const auto& flows = std::get<StatCondition>(s.expect.never[0].body);
  BOOST_TEST(flows.compare.holds(1025));
  BOOST_TEST(!flows.compare.holds(1024));
  const auto& range = s.expect.at_end.counters[1].compare;
  BOOST_TEST(range.to_string() == ">= 1 and < 10");
  BOOST_TEST(range.holds(9));
  BOOST_TEST(!range.holds(10));
  BOOST_TEST(s.expect.at_end.counters[0].compare.holds(0));

  doc["expect"] = json::parse(R"({"at_end": {"counters": {"proxy.x": {">>": 1}}}})");
  ScenarioError e = load_error(doc);
  BOOST_TEST(e.json_path == R"($.expect.at_end.counters["proxy.x"][">>"])");
  BOOST_TEST(e.message.find(R"(unknown key ">>")") != std::string::npos, e.message);
}

BOOST_AUTO_TEST_CASE(server_behaviours_need_their_parameters) {
  json doc = base();
  doc["host"] = json::parse(R"({"servers": [{"listen": "10.1.1.1:80", "behaviour": "source"}]})");
  ScenarioError e = load_error(doc);
  BOOST_TEST(e.json_path == "$.host.servers[0]");
  BOOST_TEST(e.message == R"(behaviour "source" needs "bytes")");

  doc["host"] = json::parse(R"({"servers": [{"listen": "10.1.1.1:80", "behaviour": "echo"},
                                            {"listen": "10.1.1.1:80", "behaviour": "sink"}]})");
  BOOST_TEST(load_error(doc).json_path == "$.host.servers[1].listen");
}

BOOST_AUTO_TEST_CASE(text_and_missing_files) {
  auto r = load_scenario_text(R"({"name": "t", "duration": "1s", "vm": {"ip": "dhcp", "tcp": {"sack": false}}})",
                              "<python>");
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(!r.value().vm.tcp.sack);
  BOOST_TEST(r.value().origin == "<python>");

  auto missing = load_scenario_file(kScenarios + "/no_such_file.json");
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.error().message == "cannot open the file");
}

BOOST_AUTO_TEST_CASE(messages_survive_invalid_utf8_from_python) {
  // A document built in code (the Python module) may hold bytes that are not UTF-8;
  // quoting them in a message must not throw.
  json doc = base();
  doc["bad\xff key"] = 1;
  ScenarioError e = load_error(doc);
  BOOST_TEST(e.message.find("unknown key") == 0u, e.message);
  BOOST_TEST(e.json_path.rfind("$[", 0) == 0u, e.json_path);
}

// The simulator keeps no files: a lease file in a scenario would be accepted and ignored.
BOOST_AUTO_TEST_CASE(a_lease_file_is_for_the_daemon_only) {
  auto r = load_scenario_text(R"({"name": "x", "duration": "1s", "proxy": {"dhcp": {"lease_file": "/tmp/l.json"}}})",
                              "<test>");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().json_path == "$.proxy.dhcp.lease_file");
  BOOST_TEST(r.error().message.find("daemon") != std::string::npos, r.error().message);
}
