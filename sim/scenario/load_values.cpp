// Value readers shared by the scenario sections: endpoints, payloads, directions, link
// settings and rules (through sim/link's own setters, so the keys live in one place),
// comparisons, frame matches and host servers.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "sim/scenario/load_context.h"

namespace tapwire::sim::load {

void read_endpoint(JsonReader& r, const JsonNode& n, Endpoint& out) {
  if (r.failed()) return;
  std::optional<Endpoint> e;
  if (n->is_string()) e = Endpoint::parse(n->get_ref<const std::string&>());
  if (!e) return r.fail(n.path, "expected an address:port like \"93.184.216.34:80\", got " + JsonReader::describe(*n));
  out = *e;
}

bool decode_hex(std::string_view text, std::vector<std::uint8_t>& out) {
  std::string digits;
  for (char c : text) {
    if (c == ' ' || c == ':') continue;  // "45 00 ..." and "45:00:..." are fine
    digits += c;
  }
  auto nibble = [](char c) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (digits.size() % 2 != 0) return false;
  std::vector<std::uint8_t> bytes;
  for (std::size_t i = 0; i < digits.size(); i += 2) {
    const int hi = nibble(digits[i]), lo = nibble(digits[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  out = std::move(bytes);
  return true;
}

void read_payload(JsonReader& r, const JsonNode& n, Payload& out) {
  if (r.failed()) return;
  if (n->is_object()) {
    if (!r.object(n, {"hex"})) return;
    auto hex = r.required(n, "hex");
    std::vector<std::uint8_t> bytes;
    if (hex && (!(*hex)->is_string() || !decode_hex((*hex)->get_ref<const std::string&>(), bytes))) {
      r.fail(hex->path, "expected hex bytes like \"12 34 01 00\", got " + JsonReader::describe(**hex));
    }
    if (r.failed()) return;
    out.kind = Payload::Kind::text;
    out.text.assign(bytes.begin(), bytes.end());
    out.size = out.text.size();
    return;
  }
  if (n->is_string()) {
    out.kind = Payload::Kind::text;
    out.text = n->get<std::string>();
    out.size = out.text.size();
    return;
  }
  std::int64_t size = -1;
  if (n->is_number_integer() || n->is_number_float()) r.read_int(n, 0, std::int64_t{1} << 40, size);
  else r.fail(n.path, "expected a byte count (pattern bytes), a string (those bytes) or {\"hex\": \"...\"}, got " +
                          JsonReader::describe(*n));
  if (r.failed()) return;
  out.kind = Payload::Kind::pattern;
  out.size = static_cast<std::uint64_t>(size);
  out.text.clear();
}

void read_direction(JsonReader& r, const JsonNode& n, std::optional<Direction>& out) {
  auto i = r.read_enum(n, {"to_guest", "to_proxy", "both"});
  if (!i) return;
  if (*i == 0) out = Direction::to_guest;
  else if (*i == 1) out = Direction::to_proxy;
  else out.reset();
}

std::optional<LinkValue> read_link_value(JsonReader& r, const JsonNode& n, bool bool_as_int) {
  if (r.failed()) return std::nullopt;
  if (n->is_number_integer()) {
    if (n->is_number_unsigned() && n->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return LinkValue{static_cast<double>(n->get<std::uint64_t>())};
    }
    return LinkValue{n->get<std::int64_t>()};
  }
  if (n->is_number_float()) return LinkValue{n->get<double>()};
  if (n->is_string()) return LinkValue{n->get<std::string>()};
  if (bool_as_int && n->is_boolean()) return LinkValue{std::int64_t{n->get<bool>() ? 1 : 0}};
  r.fail(n.path, "expected a number or a string, got " + JsonReader::describe(*n));
  return std::nullopt;
}

namespace {

std::vector<std::string_view> link_keys(bool with_directions) {
  std::vector<std::string_view> keys(std::begin(kLinkKeys), std::end(kLinkKeys));
  if (with_directions) {
    keys.push_back("to_guest");
    keys.push_back("to_proxy");
  }
  return keys;
}

void read_link_keys(JsonReader& r, const JsonNode& n, std::optional<Direction> dir, LinkChange& out) {
  LinkParams scratch;
  for (const auto& [key, value] : n->items()) {
    if (key == "to_guest" || key == "to_proxy") continue;
    JsonNode child{&value, n.member_path(key)};
    auto v = read_link_value(r, child);
    if (!v) return;
    // sim/link owns the meaning of each key; its message names the key.
    if (auto problem = apply_link_setting(scratch, key, *v)) return r.fail(child.path, *problem);
    out.settings.push_back(LinkSetting{dir, key, *v});
  }
}

}  // namespace

void read_link_change(JsonReader& r, const JsonNode& n, LinkChange& out) {
  if (!r.object(n, link_keys(true))) return;
  read_link_keys(r, n, std::nullopt, out);
  for (Direction d : kDirections) {
    if (auto sub = r.member(n, to_string(d)); sub && r.object(*sub, link_keys(false))) {
      read_link_keys(r, *sub, d, out);
    }
  }
}

void read_frame_match(JsonReader& r, const JsonNode& n, FrameMatch& match, std::optional<std::size_t>* max_len) {
  std::vector<std::string_view> keys = {"dir", "proto", "flags", "src", "dst", "sport", "dport", "min_len"};
  if (max_len) keys.push_back("max_len");
  if (!r.object(n, keys)) return;
  for (const auto& [key, value] : n->items()) {
    JsonNode child{&value, n.member_path(key)};
    if (key == "max_len") {
      std::int64_t len = 0;
      r.read_int(child, 0, 1 << 20, len);
      if (!r.failed()) *max_len = static_cast<std::size_t>(len);
      continue;
    }
    auto v = read_link_value(r, child);
    if (!v) return;
    if (auto problem = match.set(key, *v)) return r.fail(child.path, *problem);
  }
}

void read_comparison(JsonReader& r, const JsonNode& n, Comparison& out) {
  if (r.failed()) return;
  static constexpr std::pair<std::string_view, CompareOp> kOps[] = {
      // Lower bounds before upper bounds, so to_string() reads ">= 1 and < 10".
      {"==", CompareOp::eq}, {"!=", CompareOp::ne}, {">", CompareOp::gt},
      {">=", CompareOp::ge}, {"<", CompareOp::lt},  {"<=", CompareOp::le}};
  Comparison c;
  if (n->is_number()) {
    c.terms.emplace_back(CompareOp::eq, n->get<double>());
  } else if (n->is_object()) {
    if (!r.object(n, {"==", "!=", "<", "<=", ">", ">="})) return;
    if (n->empty()) return r.fail(n.path, "a comparison needs at least one of ==, !=, <, <=, >, >=");
    for (const auto& [op, bound] : kOps) {
      if (auto m = r.member(n, op)) {
        double v = 0;
        r.read_number(*m, -std::numeric_limits<double>::max(), std::numeric_limits<double>::max(), v);
        c.terms.emplace_back(bound, v);
      }
    }
  } else {
    return r.fail(n.path, "expected a number or a comparison like {\">=\": 1}, got " + JsonReader::describe(*n));
  }
  if (!r.failed()) out = std::move(c);
}

void read_server_proto(JsonReader& r, const JsonNode& n, ServerProto& out) {
  if (auto i = r.read_enum(n, {"tcp", "udp"})) out = *i == 0 ? ServerProto::tcp : ServerProto::udp;
}

// A host server: sim/host's ServerSpec, with sim/host's behaviour names and rules
// (parse_behaviour, behaviour_exists); only the key spelling is the scenario file's
// (`listen` = "ip:port", `read_rate` = ServerSpec::rate), read here so that every error
// names its JSON path.
void read_server(JsonReader& r, const JsonNode& n, ServerSpec& out) {
  if (!r.object(n, {"proto", "listen", "behaviour", "bytes", "latency", "read_rate", "status", "note"})) return;
  ServerSpec s;
  if (auto p = r.member(n, "proto")) read_server_proto(r, *p, s.proto);
  if (auto l = r.required(n, "listen")) {
    Endpoint listen;
    read_endpoint(r, *l, listen);
    s.ip = listen.ip;
    s.port = listen.port;
  }
  if (auto b = r.required(n, "behaviour")) {
    std::string name;
    r.read(*b, name);
    if (!r.failed()) {
      if (auto behaviour = parse_behaviour(name)) {
        s.behaviour = *behaviour;
      } else {
        std::string message = "expected one of " + valid_behaviours() + ", got " + config::json_quote(name);
        if (auto near = config::did_you_mean(name, behaviour_names()))
          message += " (did you mean \"" + std::string(*near) + "\"?)";
        r.fail(b->path, std::move(message));
      }
    }
    if (!r.failed() && !behaviour_exists(s.proto, s.behaviour)) {
      if (s.proto == ServerProto::udp) {
        r.fail(b->path, "behaviour \"" + name + "\" is TCP only (UDP servers: " + valid_behaviours(ServerProto::udp) + ")");
      } else {
        r.fail(b->path, "behaviour \"" + name + "\" is UDP only (set \"proto\": \"udp\")");
      }
    }
  }
  r.field_int(n, "bytes", 0, std::int64_t{1} << 40, s.bytes);
  r.field(n, "latency", s.latency);
  r.field_int(n, "read_rate", 1, std::int64_t{1} << 40, s.rate);
  r.field_int(n, "status", 100, 599, s.status);
  if (auto note = r.member(n, "note")) {
    std::string ignored;
    r.read(*note, ignored);
  }
  if (r.failed()) return;
  auto needs = [&](std::string_view key, ServerBehaviour b) {
    if (s.behaviour == b && !r.member(n, key)) {
      r.fail(n.path, "behaviour \"" + std::string(to_string(b)) + "\" needs \"" + std::string(key) + "\"");
    }
  };
  needs("bytes", ServerBehaviour::source);
  needs("bytes", ServerBehaviour::reset_after);
  needs("bytes", ServerBehaviour::respond);
  needs("read_rate", ServerBehaviour::slow_reader);
  if (!r.failed()) out = std::move(s);
}

}  // namespace tapwire::sim::load
