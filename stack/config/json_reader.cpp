#include "stack/config/json_reader.h"

#include <algorithm>
#include <cmath>

namespace tapwire::config {
namespace {

using nlohmann::json;

bool is_identifier(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return !(key[0] >= '0' && key[0] <= '9');
}

}  // namespace

std::string json_quote(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string JsonNode::member_path(std::string_view key) const {
  if (is_identifier(key)) return path + "." + std::string(key);
  return path + "[" + json_quote(key) + "]";
}

std::string JsonNode::element_path(std::size_t index) const { return path + "[" + std::to_string(index) + "]"; }

void JsonReader::fail(const std::string& path, std::string message) {
  if (!error_) error_ = ConfigError{origin_, path, std::move(message)};
}

std::string JsonReader::describe(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

bool JsonReader::object(const JsonNode& node, std::initializer_list<std::string_view> allowed) {
  return object(node, std::vector<std::string_view>(allowed));
}

bool JsonReader::object(const JsonNode& node, const std::vector<std::string_view>& allowed) {
  if (failed()) return false;
  if (!node->is_object()) {
    fail(node.path, "expected an object, got " + describe(*node));
    return false;
  }
  for (const auto& [key, value] : node->items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string message = "unknown key " + json_quote(key);
    if (auto near = did_you_mean(key, allowed)) message += " (did you mean \"" + std::string(*near) + "\"?)";
    fail(node.member_path(key), std::move(message));
    return false;
  }
  return true;
}

bool JsonReader::array(const JsonNode& node) {
  if (failed()) return false;
  if (!node->is_array()) {
    fail(node.path, "expected an array, got " + describe(*node));
    return false;
  }
  return true;
}

std::optional<JsonNode> JsonReader::member(const JsonNode& node, std::string_view key) const {
  if (failed() || !node->is_object()) return std::nullopt;
  auto it = node->find(std::string(key));
  if (it == node->end()) return std::nullopt;
  return JsonNode{&*it, node.member_path(key)};
}

std::optional<JsonNode> JsonReader::required(const JsonNode& node, std::string_view key) {
  auto m = member(node, key);
  if (!m) fail(node.path, "missing required key \"" + std::string(key) + "\"");
  return m;
}

JsonNode JsonReader::element(const JsonNode& node, std::size_t index) const {
  return JsonNode{&(*node.value)[index], node.element_path(index)};
}

void JsonReader::read(const JsonNode& n, bool& out) {
  if (failed()) return;
  if (!n->is_boolean()) return fail(n.path, "expected true or false, got " + describe(*n));
  out = n->get<bool>();
}

void JsonReader::read(const JsonNode& n, std::string& out) {
  if (failed()) return;
  if (!n->is_string()) return fail(n.path, "expected a string, got " + describe(*n));
  out = n->get<std::string>();
}

void JsonReader::read(const JsonNode& n, Duration& out) {
  if (failed()) return;
  std::optional<Duration> d;
  if (n->is_string()) d = parse_duration(n->get_ref<const std::string&>());
  if (!d) return fail(n.path, "expected a duration like \"30s\" or \"250ms\", got " + describe(*n));
  out = *d;
}

void JsonReader::read(const JsonNode& n, wire::Ipv4Addr& out) {
  if (failed()) return;
  std::optional<wire::Ipv4Addr> a;
  if (n->is_string()) a = wire::Ipv4Addr::parse(n->get_ref<const std::string&>());
  if (!a) return fail(n.path, "expected an IPv4 address like \"192.168.65.1\", got " + describe(*n));
  out = *a;
}

void JsonReader::read(const JsonNode& n, wire::Ipv4Cidr& out) {
  if (failed()) return;
  std::optional<wire::Ipv4Cidr> c;
  if (n->is_string()) c = wire::Ipv4Cidr::parse(n->get_ref<const std::string&>());
  if (!c) {
    return fail(n.path, "expected a CIDR prefix like \"10.0.0.0/8\" (no host bits set), got " + describe(*n));
  }
  out = *c;
}

void JsonReader::read(const JsonNode& n, wire::MacAddr& out) {
  if (failed()) return;
  std::optional<wire::MacAddr> m;
  if (n->is_string()) m = wire::MacAddr::parse(n->get_ref<const std::string&>());
  if (!m) return fail(n.path, "expected a MAC address like \"02:50:00:00:00:10\", got " + describe(*n));
  out = *m;
}

namespace {
template <class T>
void read_each(JsonReader& r, const JsonNode& n, std::vector<T>& out) {
  r.read_list(n, out, [](JsonReader& reader, const JsonNode& item_node, T& item) { reader.read(item_node, item); });
}
}  // namespace

void JsonReader::read(const JsonNode& n, std::vector<std::string>& out) { read_each(*this, n, out); }
void JsonReader::read(const JsonNode& n, std::vector<wire::Ipv4Addr>& out) { read_each(*this, n, out); }
void JsonReader::read(const JsonNode& n, std::vector<wire::Ipv4Cidr>& out) { read_each(*this, n, out); }

void JsonReader::read_int(const JsonNode& n, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  if (failed()) return;
  std::optional<std::int64_t> v;
  if (n->is_number_integer()) {
    if (n->is_number_unsigned() && n->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      v = INT64_MAX;
    } else {
      v = n->get<std::int64_t>();
    }
  } else if (n->is_number_float()) {
    double d = n->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e18) v = static_cast<std::int64_t>(d);
  }
  if (!v) return fail(n.path, "expected an integer, got " + describe(*n));
  if (*v < lo || *v > hi) {
    std::string range = hi == INT64_MAX ? "at least " + std::to_string(lo)
                                        : "between " + std::to_string(lo) + " and " + std::to_string(hi);
    return fail(n.path, "must be " + range + ", got " + describe(*n));
  }
  out = *v;
}

void JsonReader::read_number(const JsonNode& n, double lo, double hi, double& out) {
  if (failed()) return;
  if (!n->is_number()) return fail(n.path, "expected a number, got " + describe(*n));
  double v = n->get<double>();
  if (!(v >= lo && v <= hi)) {
    json jlo = lo, jhi = hi;
    return fail(n.path, "must be between " + jlo.dump() + " and " + jhi.dump() + ", got " + describe(*n));
  }
  out = v;
}

std::optional<std::size_t> JsonReader::read_enum(const JsonNode& n, std::initializer_list<std::string_view> names) {
  if (failed()) return std::nullopt;
  std::string list;
  std::size_t index = 0;
  std::optional<std::size_t> found;
  for (std::string_view name : names) {
    if (n->is_string() && n->get_ref<const std::string&>() == name) found = index;
    list += (index ? ", " : "") + std::string(name);
    ++index;
  }
  if (!found) {
    std::string message = "expected one of " + list + ", got " + describe(*n);
    if (n->is_string()) {
      if (auto near = did_you_mean(n->get_ref<const std::string&>(), std::vector<std::string_view>(names))) {
        message += " (did you mean \"" + std::string(*near) + "\"?)";
      }
    }
    fail(n.path, std::move(message));
  }
  return found;
}

ConfigResult<json> parse_json_text(std::string_view text, const std::string& origin) {
  json value = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!value.is_discarded()) return value;
  // Parse again with a callback-free SAX that records where it failed.
  struct Where : nlohmann::json_sax<json> {
    std::size_t byte = 0;
    std::string what;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
      byte = position;
      what = ex.what();
      return false;
    }
  } where;
  json::sax_parse(text.begin(), text.end(), &where, nlohmann::detail::input_format_t::json, /*strict=*/true);
  // nlohmann's position is 1-based and points just past the offending character.
  std::size_t offset = where.byte == 0 ? 0 : std::min(where.byte - 1, text.size());
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  // Keep the part of nlohmann's message after "syntax error while parsing ...: ".
  std::string detail = where.what;
  if (auto pos = detail.rfind(": "); pos != std::string::npos) detail = detail.substr(pos + 2);
  return ConfigError{origin, "$",
                     "invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(column) + ": " +
                         detail};
}

}  // namespace tapwire::config
