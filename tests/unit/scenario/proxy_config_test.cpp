#define BOOST_TEST_MODULE proxy_config
#include <boost/test/unit_test.hpp>

#include "stack/proxy/config.h"

using namespace tapwire;
using namespace tapwire::proxy;
using nlohmann::json;

namespace {

wire::Ipv4Addr ip(const char* text) { return *wire::Ipv4Addr::parse(text); }

ConfigError error_of(const json& doc) {
  auto r = proxy_config_from_json(doc, "cfg.json");
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected an error for " + doc.dump());
  return r.error();
}

}  // namespace

BOOST_AUTO_TEST_CASE(defaults_follow_the_design) {
  ProxyConfig c;
  BOOST_TEST(c.subnet.to_string() == "192.168.65.0/24");
  BOOST_TEST(c.gateway_ip.to_string() == "192.168.65.1");
  BOOST_TEST(c.host_ip.to_string() == "192.168.65.2");
  BOOST_TEST(c.dhcp.range_first.to_string() == "192.168.65.3");
  BOOST_TEST(c.dhcp.range_last.to_string() == "192.168.65.254");
  BOOST_TEST(c.mtu == 1500u);
  BOOST_TEST(c.allow_outbound.empty());  // allow all
  BOOST_TEST(c.udp_max_flows == 1024u);
  BOOST_TEST((c.udp_idle_timeout == Duration::seconds(60)));
  BOOST_TEST((c.msl == Duration::seconds(30)));
  BOOST_TEST(!validate(c).has_value());
  // An empty document is the defaults.
  auto r = proxy_config_from_json(json::object(), "cfg.json");
  BOOST_REQUIRE(r.ok());
  BOOST_TEST((r.value() == ProxyConfig{}));
}

BOOST_AUTO_TEST_CASE(reads_every_section) {
  json doc = json::parse(R"({
    "subnet": "10.0.2.0/24", "gateway_ip": "10.0.2.2", "host_ip": "10.0.2.254", "mtu": 9000,
    "allow_outbound": ["127.0.0.0/8"], "idle_timeout": "5m", "udp_max_flows": 2,
    "dhcp": {"range_first": "10.0.2.15", "range_last": "10.0.2.20", "lease_time": "30s",
             "search": ["a.test", "b.test"], "dns": ["10.0.2.3"]},
    "tcp": {"sack": false, "send_buffer": 4096},
    "port_forwards": ["tcp:127.0.0.1:8080:10.0.2.15:80"]
  })");
  auto r = proxy_config_from_json(doc, "cfg.json");
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().to_string()));
  const ProxyConfig& c = r.value();
  BOOST_TEST(c.subnet.to_string() == "10.0.2.0/24");
  BOOST_TEST(c.mtu == 9000u);
  BOOST_TEST(c.allow_outbound.size() == 1u);
  BOOST_TEST((c.idle_timeout == Duration::seconds(300)));
  BOOST_TEST((c.dhcp.lease_time == Duration::seconds(30)));
  BOOST_TEST(c.dhcp.search.size() == 2u);
  BOOST_TEST((c.dhcp.dns.at(0) == ip("10.0.2.3")));
  BOOST_TEST(!c.tcp.sack);
  BOOST_TEST(c.tcp.wscale);  // untouched keys keep their defaults
  BOOST_TEST(c.tcp.send_buffer == 4096u);
  BOOST_REQUIRE(c.port_forwards.size() == 1u);
  BOOST_TEST(c.port_forwards[0].to_string() == "tcp:127.0.0.1:8080:10.0.2.15:80");
}

BOOST_AUTO_TEST_CASE(errors_name_file_path_and_problem) {
  ConfigError e = error_of(json::parse(R"({"dhcp": {"lease_time": 5}})"));
  BOOST_TEST(e.to_string() == R"(cfg.json: $.dhcp.lease_time: expected a duration like "30s" or "250ms", got 5)");

  e = error_of(json::parse(R"({"dhcp": {"lease_tme": "1h"}})"));
  BOOST_TEST(e.json_path == "$.dhcp.lease_tme");
  BOOST_TEST(e.message == R"(unknown key "lease_tme" (did you mean "lease_time"?))");

  e = error_of(json::parse(R"({"mtu": 70000})"));
  BOOST_TEST(e.json_path == "$.mtu");
  BOOST_TEST(e.message == "must be between 576 and 65520, got 70000");

  e = error_of(json::parse(R"({"allow_outbound": ["10.0.0.1/8"]})"));
  BOOST_TEST(e.json_path == "$.allow_outbound[0]");  // host bits set

  e = error_of(json::parse(R"({"port_forwards": ["tcp:127.0.0.1:080:192.168.65.3:80"]})"));
  BOOST_TEST(e.json_path == "$.port_forwards[0]");

  // An unrelated unknown key gets no suggestion.
  e = error_of(json::parse(R"({"frobnicate": 1})"));
  BOOST_TEST(e.message == R"(unknown key "frobnicate")");
}

BOOST_AUTO_TEST_CASE(validation_names_the_key) {
  auto path_of = [](const json& doc) { return error_of(doc).json_path; };
  BOOST_TEST(path_of({{"gateway_ip", "10.0.0.1"}}) == "$.gateway_ip");
  BOOST_TEST(path_of({{"host_ip", "192.168.65.1"}}) == "$.host_ip");  // same as the gateway
  BOOST_TEST(path_of({{"dhcp", {{"range_last", "192.168.66.10"}}}}) == "$.dhcp.range_last");
  BOOST_TEST(path_of({{"dhcp", {{"range_first", "192.168.65.200"}, {"range_last", "192.168.65.100"}}}}) ==
             "$.dhcp.range_first");
  BOOST_TEST(path_of({{"dhcp", {{"range_first", "192.168.65.1"}}}}) == "$.dhcp.range_first");  // holds the gateway
  BOOST_TEST(error_of({{"gateway_ip", "10.0.0.1"}}).message.find("192.168.65.0/24") != std::string::npos);

  ProxyConfig c;
  c.mtu = 100;  // a config built in code is checked too
  auto problem = validate(c);
  BOOST_REQUIRE(problem.has_value());
  BOOST_TEST(problem->key == "mtu");
  BOOST_TEST(key_problem_path("$.proxy", *problem) == "$.proxy.mtu");
}

BOOST_AUTO_TEST_CASE(flags_map_to_the_same_keys) {
  BOOST_TEST(proxy_flag_to_key_path("--dhcp-lease-time").value() == "dhcp.lease_time");
  BOOST_TEST(proxy_flag_to_key_path("--mtu").value() == "mtu");
  BOOST_TEST(proxy_flag_to_key_path("udp-max-flows").value() == "udp_max_flows");
  BOOST_TEST(proxy_flag_to_key_path("--tcp-sack").value() == "tcp.sack");
  BOOST_TEST(!proxy_flag_to_key_path("--no-such-flag").has_value());
  // Every key has a flag that maps back to it.
  for (const std::string& key : proxy_key_paths()) {
    std::string flag = "--" + key;
    for (char& ch : flag) {
      if (ch == '.' || ch == '_') ch = '-';
    }
    BOOST_TEST(proxy_flag_to_key_path(flag).value_or("") == key);
  }

  ProxyConfig c;
  BOOST_TEST(!set_proxy_key_from_text(c, "dhcp.lease_time", "10m").has_value());
  BOOST_TEST((c.dhcp.lease_time == Duration::seconds(600)));
  BOOST_TEST(!set_proxy_key_from_text(c, "allow_outbound", "127.0.0.0/8,10.0.0.0/8").has_value());
  BOOST_TEST(c.allow_outbound.size() == 2u);
  BOOST_TEST(!set_proxy_key_from_text(c, "tcp.sack", "false").has_value());
  BOOST_TEST(!c.tcp.sack);
  BOOST_TEST(!set_proxy_key_from_text(c, "mtu", "9000").has_value());
  BOOST_TEST(c.mtu == 9000u);

  ProxyConfig before = c;
  auto e = set_proxy_key_from_text(c, "mtu", "huge");
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST(e->file == "--mtu");
  BOOST_TEST(e->json_path == "$.mtu");
  BOOST_TEST((c == before));  // unchanged on error
  e = set_proxy_key_from_text(c, "dhcp.lease_time", "5");
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST(e->to_string() == R"(--dhcp-lease-time: $.dhcp.lease_time: expected a duration like "30s" or "250ms", got "5")");
}

BOOST_AUTO_TEST_CASE(json_syntax_errors_give_line_and_column) {
  auto r = parse_json_text("{\n  \"mtu\": 1500,\n  \"msl\": ,\n}", "cfg.json");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().file == "cfg.json");
  BOOST_TEST(r.error().message.find("line 3, column 10") != std::string::npos, r.error().message);
  auto text = proxy_config_from_text("{\"mtu\": 1280}", "cfg.json");
  BOOST_REQUIRE(text.ok());
  BOOST_TEST(text.value().mtu == 1280u);
}

BOOST_AUTO_TEST_CASE(did_you_mean_only_for_near_misses) {
  std::vector<std::string_view> keys = {"subnet", "gateway_ip", "host_ip", "mtu"};
  BOOST_TEST(did_you_mean("gatway_ip", keys).value_or("") == "gateway_ip");
  BOOST_TEST(did_you_mean("mtv", keys).value_or("") == "mtu");
  BOOST_TEST(!did_you_mean("xyz", keys).has_value());
  BOOST_TEST(!did_you_mean("gateway_mac", keys).has_value());  // 3 edits away
}

BOOST_AUTO_TEST_CASE(json_paths_quote_non_identifiers) {
  JsonNode root{nullptr, "$"};
  BOOST_TEST(root.member_path("proxy") == "$.proxy");
  BOOST_TEST(root.member_path("proxy.tcp.rst") == R"($["proxy.tcp.rst"])");
  BOOST_TEST(root.member_path(">=") == R"($[">="])");
  BOOST_TEST(root.element_path(3) == "$[3]");
}
