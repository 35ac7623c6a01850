// The `expect` section: {"timed": [...], "never": [...], "at_end": {...}}.
//
// A condition is an object whose subject key says what it is about:
//   {"conn": ID, ...}   {"ping": ID, ...}   {"dhcp": ID, ...}   {"udp": ID, ...}
//   {"stat": NAME, OP: N}   {"frame": MATCH, "count": CMP}   {"server": "ip:port", ...}
#include <algorithm>

#include "sim/scenario/counter_names.h"
#include "sim/scenario/load_context.h"

namespace tapwire::sim::load {
namespace {

using Keys = std::vector<std::string_view>;

constexpr std::string_view kSubjects[] = {"conn", "ping", "dhcp", "udp", "stat", "frame", "server", "dns_query", "dns_server"};

// RFC 9293 state names, spelled as tcp::to_string(State) spells them.
constexpr std::string_view kTcpStates[] = {"CLOSED",     "LISTEN",     "SYN-SENT",   "SYN-RECEIVED",
                                           "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
                                           "CLOSING",    "LAST-ACK",   "TIME-WAIT"};

// A counter name must be one a run reports (sim/scenario/counter_names.h): a
// misspelled name is an error here, not a condition that silently holds.
void check_counter_name(JsonReader& r, const std::string& path, const std::string& name) {
  if (r.failed() || is_known_counter(name)) return;
  const auto& known = known_counter_names();
  std::string message = "unknown counter \"" + name + "\"";
  if (auto near = config::did_you_mean(name, std::vector<std::string_view>(known.begin(), known.end()))) {
    message += " (did you mean \"" + std::string(*near) + "\"?)";
  } else {
    message += "; counters are named like \"proxy.tcp.flows_opened\", \"proxy.drop.bad_tcp\", "
               "\"link.to_guest.delivered\", \"guest.tcp_segments_too_big\" or \"host.open_handles\"";
  }
  r.fail(path, std::move(message));
}

// Reads the comparison operators written inline in a stat condition.
void read_inline_comparison(JsonReader& r, const JsonNode& n, Comparison& out) {
  nlohmann::json ops = nlohmann::json::object();
  for (const auto& [key, value] : n->items()) {
    if (key.find_first_of("=<>!") != std::string::npos) ops[key] = value;
  }
  if (ops.empty()) return r.fail(n.path, "a stat condition needs a comparison, e.g. {\"stat\": \"x\", \">=\": 1}");
  // The operators are members of `n` itself, so errors name them as such.
  read_comparison(r, JsonNode{&ops, n.path}, out);
}

void read_frame_condition(JsonReader& r, const JsonNode& match, const std::optional<JsonNode>& count,
                          FrameCondition& out) {
  read_frame_match(r, match, out.match, &out.max_len);
  if (count) read_comparison(r, *count, out.count);
}

// `extra` are keys allowed besides the subject's own (e.g. "at").
std::optional<Condition> read_condition(LoadContext& ctx, const JsonNode& n, Keys extra) {
  JsonReader& r = ctx.reader;
  if (r.failed()) return std::nullopt;
  if (!n->is_object()) {
    r.fail(n.path, "expected a condition object like {\"conn\": \"c1\", \"state\": \"ESTABLISHED\"}, got " +
                       JsonReader::describe(*n));
    return std::nullopt;
  }
  std::vector<std::string_view> present;
  for (std::string_view s : kSubjects) {
    if (n->contains(std::string(s))) present.push_back(s);
  }
  if (present.size() != 1) {
    std::string message = present.empty() ? "a condition needs one subject key:" : "a condition has one subject key, not several:";
    for (std::string_view s : kSubjects) message += " " + std::string(s);
    r.fail(n.path, message);
    return std::nullopt;
  }
  std::string_view subject = present.front();
  extra.push_back("note");
  if (subject == "dns_query" || subject == "dns_server") {
    auto c = read_dns_condition(ctx, n, subject, extra);
    if (c) {
      if (auto note = r.member(n, "note")) r.read(*note, c->note);
    }
    if (r.failed()) return std::nullopt;
    return c;
  }
  auto keys = [&](Keys own) {
    own.insert(own.end(), extra.begin(), extra.end());
    return own;
  };
  Condition c;
  c.json_path = n.path;
  if (subject == "conn") {
    ConnCondition k;
    if (!r.object(n, keys({"conn", "state", "error", "sent", "received"}))) return std::nullopt;
    read_reference(ctx, n, "conn", RefKind::connection, k.conn);
    if (auto s = r.member(n, "state")) {
      std::vector<std::string_view> names(std::begin(kTcpStates), std::end(kTcpStates));
      auto i = r.read_enum(*s, {"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
                                "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"});
      if (i) k.state = std::string(names[*i]);
    }
    if (auto e = r.member(n, "error")) {
      static constexpr ConnError kErrors[] = {ConnError::none, ConnError::refused, ConnError::reset,
                                              ConnError::timeout};
      if (auto i = r.read_enum(*e, {"none", "refused", "reset", "timeout"})) k.error = kErrors[*i];
    }
    read_optional_comparison(r, n, "sent", k.sent);
    read_optional_comparison(r, n, "received", k.received);
    c.body = std::move(k);
  } else if (subject == "ping") {
    PingCondition k;
    if (!r.object(n, keys({"ping", "ok", "replies"}))) return std::nullopt;
    read_reference(ctx, n, "ping", RefKind::ping, k.ping);
    if (auto ok = r.member(n, "ok")) {
      bool v = false;
      r.read(*ok, v);
      k.ok = v;
    }
    read_optional_comparison(r, n, "replies", k.replies);
    c.body = std::move(k);
  } else if (subject == "dhcp") {
    DhcpCondition k;
    if (!r.object(n, keys({"dhcp", "bound", "ip", "router", "mtu", "lease_time", "domain", "dns"}))) return std::nullopt;
    read_reference(ctx, n, "dhcp", RefKind::dhcp, k.dhcp);
    if (auto m = r.member(n, "bound")) r.read(*m, k.bound.emplace());
    if (auto m = r.member(n, "ip")) r.read(*m, k.ip.emplace());
    if (auto m = r.member(n, "router")) r.read(*m, k.router.emplace());
    if (auto m = r.member(n, "mtu")) r.read_int(*m, 0, 65535, k.mtu.emplace());
    if (auto m = r.member(n, "lease_time")) r.read(*m, k.lease_time.emplace());
    if (auto m = r.member(n, "domain")) r.read(*m, k.domain.emplace());
    if (auto m = r.member(n, "dns")) r.read(*m, k.dns.emplace());
    c.body = std::move(k);
  } else if (subject == "udp") {
    UdpCondition k;
    if (!r.object(n, keys({"udp", "replies", "reply_bytes", "icmp_error", "dns_rcode"}))) return std::nullopt;
    read_reference(ctx, n, "udp", RefKind::udp, k.udp);
    read_optional_comparison(r, n, "replies", k.replies);
    read_optional_comparison(r, n, "reply_bytes", k.reply_bytes);
    if (auto e = r.member(n, "icmp_error")) {
      static constexpr IcmpErrorKind kKinds[] = {IcmpErrorKind::none, IcmpErrorKind::port_unreachable,
                                                 IcmpErrorKind::frag_needed, IcmpErrorKind::host_unreachable};
      if (auto i = r.read_enum(*e, {"none", "port_unreachable", "frag_needed", "host_unreachable"})) {
        k.icmp_error = kKinds[*i];
      }
    }
    if (auto m = r.member(n, "dns_rcode")) read_dns_rcode(r, *m, k.dns_rcode.emplace());
    c.body = std::move(k);
  } else if (subject == "stat") {
    StatCondition k;
    if (!r.object(n, keys({"stat", "==", "!=", "<", "<=", ">", ">="}))) return std::nullopt;
    if (auto s = r.member(n, "stat")) r.read(*s, k.stat);
    if (!r.failed() && k.stat.empty()) r.fail(n.member_path("stat"), "must not be empty");
    read_inline_comparison(r, n, k.compare);
    check_counter_name(r, n.member_path("stat"), k.stat);
    c.body = std::move(k);
  } else if (subject == "frame") {
    FrameCondition k;
    if (!r.object(n, keys({"frame", "count"}))) return std::nullopt;
    read_frame_condition(r, *r.member(n, "frame"), r.member(n, "count"), k);
    c.body = std::move(k);
  } else if (subject == "server") {
    ServerCondition k;
    if (!r.object(n, keys({"server", "proto", "accepted", "open", "received", "sent"}))) return std::nullopt;
    if (auto s = r.member(n, "server")) read_endpoint(r, *s, k.server);
    if (auto p = r.member(n, "proto")) read_server_proto(r, *p, k.proto);
    read_optional_comparison(r, n, "accepted", k.accepted);
    read_optional_comparison(r, n, "open", k.open);
    read_optional_comparison(r, n, "received", k.received);
    read_optional_comparison(r, n, "sent", k.sent);
    c.body = std::move(k);
  }
  if (auto note = r.member(n, "note")) r.read(*note, c.note);
  if (r.failed()) return std::nullopt;
  return c;
}

void read_at_end(LoadContext& ctx, const JsonNode& n, AtEndExpectations& out) {
  JsonReader& r = ctx.reader;
  if (!r.object(n, {"no_leaks", "counters", "streams", "max_frame", "frames", "conditions", "strict_check"})) return;
  r.field(n, "no_leaks", out.no_leaks);
  // counters: {"proxy.tcp.rst_to_guest": {">=": 1}, "proxy.udp.flows_opened": 0}
  if (auto counters = r.member(n, "counters")) {
    if (!(*counters)->is_object()) {
      return r.fail(counters->path, "expected an object of counter names, got " + JsonReader::describe(**counters));
    }
    for (const auto& [name, value] : (*counters)->items()) {
      StatCondition k{name, {}};
      JsonNode child{&value, counters->member_path(name)};
      if (name.empty()) return r.fail(child.path, "a counter name must not be empty");
      read_comparison(r, child, k.compare);
      check_counter_name(r, child.path, name);
      out.counters.push_back(std::move(k));
    }
  }
  // streams: {"c1": {"sent": 100000, "received": 100000}}
  if (auto streams = r.member(n, "streams")) {
    if (!(*streams)->is_object()) {
      return r.fail(streams->path, "expected an object of action ids, got " + JsonReader::describe(**streams));
    }
    for (const auto& [id, value] : (*streams)->items()) {
      JsonNode child{&value, streams->member_path(id)};
      StreamExpectation s;
      s.id = id;
      ctx.references.push_back(Reference{id, RefKind::connection, child.path});
      if (!r.object(child, {"sent", "received", "exact"})) return;
      if (auto m = r.member(child, "sent")) r.read_int(*m, 0, INT64_MAX, s.sent.emplace());
      if (auto m = r.member(child, "received")) r.read_int(*m, 0, INT64_MAX, s.received.emplace());
      r.field(child, "exact", s.exact);
      out.streams.push_back(std::move(s));
    }
  }
  // max_frame: {"to_guest": 1514, "to_proxy": 1514}
  if (auto mf = r.member(n, "max_frame"); mf && r.object(*mf, {"to_guest", "to_proxy"})) {
    if (auto m = r.member(*mf, "to_guest")) r.read_int(*m, 14, 1 << 20, out.max_frame_to_guest.emplace());
    if (auto m = r.member(*mf, "to_proxy")) r.read_int(*m, 14, 1 << 20, out.max_frame_to_proxy.emplace());
  }
  // frames: [{"dir": "to_guest", "flags": "R", "count": 1}, ...] -- match keys and count.
  if (auto frames = r.member(n, "frames"); frames && r.array(*frames)) {
    for (std::size_t i = 0; i < (*frames)->size() && !r.failed(); ++i) {
      JsonNode f = r.element(*frames, i);
      if (!f->is_object()) return r.fail(f.path, "expected a frame match object, got " + JsonReader::describe(*f));
      nlohmann::json match = nlohmann::json::object();
      for (const auto& [key, value] : f->items()) {
        if (key != "count" && key != "note") match[key] = value;
      }
      if (auto note = r.member(f, "note")) {
        std::string ignored;
        r.read(*note, ignored);
      }
      FrameCondition k;
      read_frame_condition(r, JsonNode{&match, f.path}, r.member(f, "count"), k);
      out.frames.push_back(std::move(k));
    }
  }
  if (auto conditions = r.member(n, "conditions"); conditions && r.array(*conditions)) {
    for (std::size_t i = 0; i < (*conditions)->size() && !r.failed(); ++i) {
      if (auto c = read_condition(ctx, r.element(*conditions, i), {})) out.conditions.push_back(std::move(*c));
    }
  }
  if (auto checks = r.member(n, "strict_check")) read_strict_checks(r, *checks, out.strict_checks);
}

}  // namespace

void read_optional_comparison(JsonReader& r, const JsonNode& n, std::string_view key, std::optional<Comparison>& out) {
  if (auto m = r.member(n, key)) {
    Comparison c;
    read_comparison(r, *m, c);
    out = std::move(c);
  }
}

void read_reference(LoadContext& ctx, const JsonNode& n, std::string_view key, RefKind kind, std::string& out) {
  if (auto m = ctx.reader.required(n, key)) {
    ctx.reader.read(*m, out);
    ctx.references.push_back(Reference{out, kind, m->path});
  }
}

void read_expectations(LoadContext& ctx, const JsonNode& n, Expectations& out) {
  JsonReader& r = ctx.reader;
  if (!r.object(n, {"timed", "never", "at_end"})) return;
  if (auto timed = r.member(n, "timed"); timed && r.array(*timed)) {
    for (std::size_t i = 0; i < (*timed)->size() && !r.failed(); ++i) {
      JsonNode t = r.element(*timed, i);
      Duration at;
      if (t->is_object()) {
        if (auto m = r.required(t, "at")) {
          r.read(*m, at);
          if (!r.failed() && at > ctx.duration) {
            r.fail(m->path, "at " + to_string(at) + " is after the end of the run (duration " +
                                to_string(ctx.duration) + ")");
          }
        }
      }
      if (auto c = read_condition(ctx, t, {"at"})) out.timed.push_back(TimedExpectation{at, std::move(*c)});
    }
    std::stable_sort(out.timed.begin(), out.timed.end(),
                     [](const TimedExpectation& a, const TimedExpectation& b) { return a.at < b.at; });
  }
  if (auto never = r.member(n, "never"); never && r.array(*never)) {
    for (std::size_t i = 0; i < (*never)->size() && !r.failed(); ++i) {
      if (auto c = read_condition(ctx, r.element(*never, i), {})) out.never.push_back(std::move(*c));
    }
  }
  if (auto at_end = r.member(n, "at_end")) read_at_end(ctx, *at_end, out.at_end);
}

}  // namespace tapwire::sim::load
