#define BOOST_TEST_MODULE config_json_reader
#include <boost/test/unit_test.hpp>

#include "stack/config/json_reader.h"

using namespace tapwire;
using namespace tapwire::config;
using nlohmann::json;

BOOST_AUTO_TEST_CASE(json_syntax_errors_give_line_and_column) {
  auto r = parse_json_text("{\n  \"mtu\": 1500,\n  \"msl\": ,\n}", "cfg.json");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().file == "cfg.json");
  BOOST_TEST(r.error().message.find("line 3, column 10") != std::string::npos, r.error().message);
  BOOST_TEST(parse_json_text("{\"mtu\": 1280}", "cfg.json").ok());
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

BOOST_AUTO_TEST_CASE(reader_errors_name_origin_path_and_suggestion) {
  const json doc = json::parse(R"({"outer": {"lease_tme": "1h", "n": 7, "list": [1, "x"]}})");
  JsonReader r("cfg.json");
  JsonNode root{&doc, "$.proxy"};
  auto outer = r.member(root, "outer");
  BOOST_REQUIRE(outer.has_value());
  BOOST_TEST(!r.object(*outer, {"lease_time", "n", "list"}));
  BOOST_REQUIRE(r.error().has_value());
  BOOST_TEST(r.error()->to_string() ==
             R"(cfg.json: $.proxy.outer.lease_tme: unknown key "lease_tme" (did you mean "lease_time"?))");

  JsonReader ints("cfg.json");
  std::uint32_t n = 3;
  ints.field_int(*outer, "n", 10, 20, n);
  BOOST_TEST(n == 3u);  // unchanged on error
  BOOST_TEST(ints.error()->to_string() == "cfg.json: $.proxy.outer.n: must be between 10 and 20, got 7");

  JsonReader lists("cfg.json");
  std::vector<std::string> words = {"kept"};
  lists.field(*outer, "list", words);
  BOOST_TEST(words == std::vector<std::string>{"kept"});
  BOOST_TEST(lists.error()->json_path == "$.proxy.outer.list[0]");
}

BOOST_AUTO_TEST_CASE(enum_values_get_suggestions) {
  const json doc = "udpp";
  JsonReader r("x.json");
  BOOST_TEST(!r.read_enum(JsonNode{&doc, "$.proto"}, {"tcp", "udp"}).has_value());
  BOOST_TEST(r.error()->message == R"(expected one of tcp, udp, got "udpp" (did you mean "udp"?))");
}
