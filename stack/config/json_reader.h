// The JSON reading toolkit shared by every configuration section: the proxy's keys
// (stack/proxy/config_json.h), the scenario sections (sim/scenario) and the daemon.
//
// Errors name the origin (a file name, "<python>", a flag), the JSON path from the
// document root ("$.proxy.dhcp.lease_time") and what was wrong, with "did you mean" for
// a near miss. Reading throws nothing: nlohmann::json's throwing accessors are only
// called after the type has been checked. Loading configuration may allocate and is
// never on a data path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/base/time.h"
#include "stack/config/config_error.h"
#include "stack/config/did_you_mean.h"
#include "stack/wire/addr.h"

namespace tapwire::config {

// A JSON value and its path from the document root.
struct JsonNode {
  const nlohmann::json* value = nullptr;
  std::string path = "$";

  const nlohmann::json& operator*() const { return *value; }
  const nlohmann::json* operator->() const { return value; }
  // The path of a member or element: "$.proxy" + "dhcp" -> "$.proxy.dhcp";
  // keys that are not identifiers are quoted: $.counters["proxy.tcp.rst"].
  std::string member_path(std::string_view key) const;
  std::string element_path(std::size_t index) const;
};

// A JsonReader remembers the first error; every later read is a no-op, so section
// readers read on and check failed() where it matters.
class JsonReader {
 public:
  explicit JsonReader(std::string origin) : origin_(std::move(origin)) {}

  bool failed() const { return error_.has_value(); }
  const std::optional<ConfigError>& error() const { return error_; }
  const std::string& origin() const { return origin_; }
  // Records an error at `path` unless one is already recorded.
  void fail(const std::string& path, std::string message);

  // Checks `node` is an object whose keys are all in `allowed` (an unknown key is an
  // error naming its path, with "did you mean" for a near miss).
  bool object(const JsonNode& node, std::initializer_list<std::string_view> allowed);
  bool object(const JsonNode& node, const std::vector<std::string_view>& allowed);
  // Checks `node` is an array.
  bool array(const JsonNode& node);
  // The member `key` of an object node, if present.
  std::optional<JsonNode> member(const JsonNode& node, std::string_view key) const;
  // Fails unless the member is present.
  std::optional<JsonNode> required(const JsonNode& node, std::string_view key);
  JsonNode element(const JsonNode& node, std::size_t index) const;

  // Value readers: on a type or range error they fail (naming the path) and leave
  // `out` unchanged. The `field` overloads read an optional member into `out`.
  void read(const JsonNode& n, bool& out);
  void read(const JsonNode& n, std::string& out);
  void read(const JsonNode& n, Duration& out);  // "5ms"; negative durations rejected
  void read(const JsonNode& n, wire::Ipv4Addr& out);
  void read(const JsonNode& n, wire::Ipv4Cidr& out);
  void read(const JsonNode& n, wire::MacAddr& out);
  void read(const JsonNode& n, std::vector<std::string>& out);
  void read(const JsonNode& n, std::vector<wire::Ipv4Addr>& out);
  void read(const JsonNode& n, std::vector<wire::Ipv4Cidr>& out);
  // An integer in [lo, hi]. Integral numbers written as 5.0 count as integers.
  void read_int(const JsonNode& n, std::int64_t lo, std::int64_t hi, std::int64_t& out);
  template <class Int>
  void read_int(const JsonNode& n, std::int64_t lo, std::int64_t hi, Int& out) {
    std::int64_t v = static_cast<std::int64_t>(out);
    read_int(n, lo, hi, v);
    out = static_cast<Int>(v);
  }
  // A number in [lo, hi] (integers accepted).
  void read_number(const JsonNode& n, double lo, double hi, double& out);
  // One of `names` (a string); returns its index or nullopt after failing.
  std::optional<std::size_t> read_enum(const JsonNode& n, std::initializer_list<std::string_view> names);

  // An array whose every element `read_item(reader, element_node, item)` reads; `out`
  // is replaced only when every element read.
  template <class T, class ReadItem>
  void read_list(const JsonNode& n, std::vector<T>& out, ReadItem read_item) {
    if (!array(n)) return;
    std::vector<T> items;
    for (std::size_t i = 0; i < n->size(); ++i) {
      T item{};
      read_item(*this, element(n, i), item);
      if (failed()) return;
      items.push_back(std::move(item));
    }
    out = std::move(items);
  }

  template <class T>
  void field(const JsonNode& obj, std::string_view key, T& out) {
    if (auto m = member(obj, key)) read(*m, out);
  }
  template <class Int>
  void field_int(const JsonNode& obj, std::string_view key, std::int64_t lo, std::int64_t hi, Int& out) {
    if (auto m = member(obj, key)) read_int(*m, lo, hi, out);
  }

  // `got 5`, `got "abc"`: a short rendering of a JSON value for messages.
  static std::string describe(const nlohmann::json& value);

 private:
  std::string origin_;
  std::optional<ConfigError> error_;
};

// `text` as a JSON string literal, for messages ("a\"b" -> "\"a\\\"b\""); invalid UTF-8
// is replaced rather than thrown about.
std::string json_quote(std::string_view text);

// Parses JSON text. A syntax error names the origin, line and column.
ConfigResult<nlohmann::json> parse_json_text(std::string_view text, const std::string& origin);

}  // namespace tapwire::config
