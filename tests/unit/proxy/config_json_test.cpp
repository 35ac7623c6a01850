#define BOOST_TEST_MODULE proxy_config_json
#include <boost/test/unit_test.hpp>

#include <map>
#include <set>

#include "stack/proxy/config_json.h"

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
    "tcp": {"sack": false, "send_buffer": 4096}
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


BOOST_AUTO_TEST_CASE(port_forwards_are_checked_across_entries) {
  auto ok = proxy_config_from_json(
      json::parse(R"({"port_forwards": ["tcp:127.0.0.1:8080:192.168.65.3:80", "udp:127.0.0.1:8080:192.168.65.3:53",
                                        "tcp:127.0.0.1:0:192.168.65.3:22", "tcp:127.0.0.1:0:192.168.65.3:23"]})"),
      "cfg.json");
  BOOST_TEST(ok.ok());  // another protocol, or port 0 (any free port), is no duplicate
  ConfigError e = error_of(json::parse(
      R"({"port_forwards": ["tcp:127.0.0.1:8080:192.168.65.3:80", "tcp:0.0.0.0:8080:192.168.65.4:80"]})"));
  BOOST_TEST(e.json_path == "$.port_forwards[1]");
  BOOST_TEST(e.message.find("duplicate forward") != std::string::npos, e.message);
  e = error_of(json::parse(R"({"port_forwards": ["tcp:127.0.0.1:8080:192.168.65.1:80"]})"));
  BOOST_TEST(e.json_path == "$.port_forwards[0]");
  BOOST_TEST(e.message.find("is not a VM address") != std::string::npos, e.message);
  // The syntax of each forward is checked first.
  e = error_of(json::parse(R"({"port_forwards": ["tcp:127.0.0.1:080:192.168.65.3:80"]})"));
  BOOST_TEST(e.json_path == "$.port_forwards[0]");
  auto pf = PortForward::parse("tcp:127.0.0.1:8080:10.0.2.15:80");
  BOOST_REQUIRE(pf.has_value());
  BOOST_TEST(pf->to_string() == "tcp:127.0.0.1:8080:10.0.2.15:80");
}

BOOST_AUTO_TEST_CASE(static_leases_are_checked_with_their_json_path) {
  auto r = proxy_config_from_json(
      json::parse(R"({"dhcp": {"static": [{"mac": "02:00:00:00:00:10", "ip": "192.168.65.100"}]}})"), "cfg.json");
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().to_string()));
  BOOST_REQUIRE(r.value().dhcp.static_leases.size() == 1u);
  BOOST_TEST((r.value().dhcp.static_leases[0].ip == ip("192.168.65.100")));

  auto path_of = [](const char* text) { return error_of(json::parse(text)).json_path; };
  BOOST_TEST(path_of(R"({"dhcp": {"static": [{"mac": "02:00:00:00:00:10", "ip": "10.0.0.1"}]}})") ==
             "$.dhcp.static[0].ip");  // outside the subnet
  BOOST_TEST(path_of(R"({"dhcp": {"static": [{"mac": "02:00:00:00:00:10", "ip": "192.168.65.2"}]}})") ==
             "$.dhcp.static[0].ip");  // the host alias
  BOOST_TEST(path_of(R"({"dhcp": {"static": [{"mac": "02:00:00:00:00:10", "ip": "192.168.65.9"},
                                             {"mac": "02:00:00:00:00:10", "ip": "192.168.65.8"}]}})") ==
             "$.dhcp.static[1].mac");  // the same MAC twice
  BOOST_TEST(path_of(R"({"dhcp": {"static": [{"mac": "02:00:00:00:00:10", "ip": "192.168.65.9"},
                                             {"mac": "02:00:00:00:00:11", "ip": "192.168.65.9"}]}})") ==
             "$.dhcp.static[1].ip");  // the same address twice
  BOOST_TEST(path_of(R"({"dhcp": {"static": [{"mac": "02:00:00:00:00:10"}]}})") == "$.dhcp.static[0]");
  BOOST_TEST(path_of(R"({"dhcp": {"static": [{"mac": "02:00:00:00:00:10", "ip": "192.168.65.9", "x": 1}]}})") ==
             "$.dhcp.static[0].x");
}

BOOST_AUTO_TEST_CASE(written_json_reads_back_to_the_same_config) {
  ProxyConfig c;
  c.mtu = 9000;
  c.allow_outbound = {*wire::Ipv4Cidr::parse("127.0.0.0/8")};
  c.dhcp.static_leases = {{*wire::MacAddr::parse("02:00:00:00:00:10"), ip("192.168.65.77")}};
  c.dhcp.lease_file = "/var/lib/tapwire/leases.json";
  c.tcp.sack = false;
  auto r = proxy_config_from_json(proxy_config_to_json(c), "written");
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().to_string()));
  BOOST_TEST((r.value() == c));
}

// Every key of the table has a flag named by the rule, and the flag sets that key and
// no other. A key added to the table without a sample here fails this test.
BOOST_AUTO_TEST_CASE(every_key_has_a_flag_that_sets_it) {
  struct Sample {
    std::string flag;                 // the expected flag name
    std::vector<std::string> values;  // flag occurrences
    json expected;                    // the key's value afterwards, as written
  };
  const std::map<std::string, Sample> samples = {
      {"subnet", {"subnet", {"10.0.2.0/24"}, "10.0.2.0/24"}},
      {"gateway_ip", {"gateway-ip", {"192.168.65.9"}, "192.168.65.9"}},
      {"gateway_mac", {"gateway-mac", {"02:50:00:00:00:99"}, "02:50:00:00:00:99"}},
      {"host_ip", {"host-ip", {"192.168.65.8"}, "192.168.65.8"}},
      {"mtu", {"mtu", {"9000"}, 9000}},
      {"allow_outbound", {"allow-outbound", {"127.0.0.0/8,10.0.0.0/8", "192.168.0.0/16"},
                          json::array({"127.0.0.0/8", "10.0.0.0/8", "192.168.0.0/16"})}},
      {"max_connections", {"max-connections", {"77"}, 77}},
      {"listen_backlog", {"listen-backlog", {"64"}, 64}},
      {"idle_timeout", {"idle-timeout", {"5m"}, "300s"}},
      {"udp_idle_timeout", {"udp-idle-timeout", {"5s"}, "5s"}},
      {"udp_max_flows", {"udp-max-flows", {"4"}, 4}},
      {"connect_timeout", {"connect-timeout", {"2s"}, "2s"}},
      {"msl", {"msl", {"1s"}, "1s"}},
      {"reassembly_timeout", {"reassembly-timeout", {"3s"}, "3s"}},
      {"dhcp.range_first", {"dhcp-range-first", {"192.168.65.10"}, "192.168.65.10"}},
      {"dhcp.range_last", {"dhcp-range-last", {"192.168.65.20"}, "192.168.65.20"}},
      {"dhcp.lease_time", {"dhcp-lease-time", {"10m"}, "600s"}},
      {"dhcp.domain", {"dhcp-domain", {"corp.example"}, "corp.example"}},
      {"dhcp.search", {"dhcp-search", {"a.example", "b.example"}, json::array({"a.example", "b.example"})}},
      {"dhcp.dns", {"dhcp-dns", {"192.168.65.1", "9.9.9.9"}, json::array({"192.168.65.1", "9.9.9.9"})}},
      {"dhcp.static", {"dhcp-static", {"02:00:00:00:00:10=192.168.65.50"},
                       json::array({json{{"mac", "02:00:00:00:00:10"}, {"ip", "192.168.65.50"}}})}},
      {"dhcp.lease_file", {"dhcp-lease-file", {"/tmp/leases.json"}, "/tmp/leases.json"}},
      {"dns.mode", {"dns-mode", {"host"}, "host"}},
      {"dns.upstreams", {"dns-upstream", {"127.0.0.1:5353", "10.0.0.1+10.0.0.2:54"},
                         json::array({"127.0.0.1:5353", json::array({"10.0.0.1", "10.0.0.2:54"})})}},
      {"dns.zones", {"dns-zone", {"corp.example=10.9.9.9"},
                     json::array({json{{"zone", "corp.example"}, {"upstreams", json::array({"10.9.9.9"})}}})}},
      {"dns.timeout", {"dns-timeout", {"500ms"}, "500ms"}},
      {"dns.attempts", {"dns-attempts", {"3"}, 3}},
      {"dns.offline_after", {"dns-offline-after", {"5"}, 5}},
      {"dns.probe_interval", {"dns-probe-interval", {"30s"}, "30s"}},
      {"dns.max_inflight", {"dns-max-inflight", {"10"}, 10}},
      {"dns.max_inflight_per_client", {"dns-max-inflight-per-client", {"5"}, 5}},
      {"dns.gateway_names", {"dns-gateway-name", {"gw.test"}, json::array({"gw.test"})}},
      {"dns.host_names", {"dns-host-name", {"h.test"}, json::array({"h.test"})}},
      {"dns.vm_names", {"dns-vm-name", {"me.test"}, json::array({"me.test"})}},
      {"dns.hosts", {"dns-host-entry", {"10.1.2.3 db.test db"}, json::array({"10.1.2.3 db.test db"})}},
      {"dns.hosts_file", {"dns-hosts", {"/etc/hosts"}, "/etc/hosts"}},
      {"dns.local_ttl", {"dns-local-ttl", {"5"}, 5}},
      {"tcp.mss_option", {"tcp-mss-option", {"false"}, false}},
      {"tcp.wscale", {"tcp-wscale", {"false"}, false}},
      {"tcp.sack", {"tcp-sack", {"false"}, false}},
      {"tcp.timestamps", {"tcp-timestamps", {"false"}, false}},
      {"tcp.nagle", {"tcp-nagle", {"true"}, true}},
      {"tcp.send_buffer", {"tcp-send-buffer", {"4096"}, 4096}},
      {"tcp.recv_buffer", {"tcp-recv-buffer", {"8192"}, 8192}},
      {"port_forwards", {"forward", {"tcp:127.0.0.1:8080:192.168.65.3:80"},
                         json::array({"tcp:127.0.0.1:8080:192.168.65.3:80"})}},
  };
  const json defaults = proxy_config_to_json(ProxyConfig{});
  std::set<std::string> flags;
  for (const ProxyKey& key : proxy_keys()) {
    BOOST_TEST_CONTEXT("key " << key.path) {
      auto it = samples.find(std::string(key.path));
      BOOST_REQUIRE_MESSAGE(it != samples.end(), "no sample for the key " + std::string(key.path));
      const Sample& sample = it->second;
      BOOST_TEST(key.flag == sample.flag);
      BOOST_TEST(flags.insert(key.flag).second, "two keys share the flag --" + key.flag);
      BOOST_TEST(find_proxy_flag("--" + key.flag) == &key);
      BOOST_TEST(key.list == sample.expected.is_array());

      ProxyConfig c;
      auto err = set_proxy_key_from_flag(c, key, sample.values);
      BOOST_REQUIRE_MESSAGE(!err.has_value(), (err ? err->to_string() : ""));
      json expected = defaults;
      json* at = &expected;
      std::string path(key.path);
      for (std::size_t start = 0;;) {
        std::size_t dot = path.find('.', start);
        at = &(*at)[path.substr(start, dot == std::string::npos ? std::string::npos : dot - start)];
        if (dot == std::string::npos) break;
        start = dot + 1;
      }
      BOOST_TEST(*at != sample.expected, "the sample must differ from the default");
      *at = sample.expected;
      BOOST_TEST(proxy_config_to_json(c) == expected, proxy_config_to_json(c).dump());
    }
  }
  BOOST_TEST(samples.size() == proxy_keys().size());
}

BOOST_AUTO_TEST_CASE(flag_errors_name_the_flag_and_leave_the_config_unchanged) {
  ProxyConfig c;
  const ProxyConfig before = c;
  auto e = set_proxy_key_from_flag(c, *find_proxy_key("mtu"), {"huge"});
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST(e->file == "--mtu");
  BOOST_TEST(e->json_path == "$.mtu");
  BOOST_TEST((c == before));
  e = set_proxy_key_from_flag(c, *find_proxy_key("dhcp.lease_time"), {"5"});
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST(e->to_string() ==
             R"(--dhcp-lease-time: $.dhcp.lease_time: expected a duration like "30s" or "250ms", got "5")");
  e = set_proxy_key_from_flag(c, *find_proxy_key("tcp.sack"), {"maybe"});
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST(e->to_string() == R"(--tcp-sack: $.tcp.sack: expected true or false, got "maybe")");
  e = set_proxy_key_from_flag(c, *find_proxy_key("allow_outbound"), {"127.0.0.0/8", "nonsense"});
  BOOST_REQUIRE(e.has_value());
  BOOST_TEST(e->json_path == "$.allow_outbound[1]");
  BOOST_TEST(find_proxy_flag("--no-such-flag") == nullptr);
}
