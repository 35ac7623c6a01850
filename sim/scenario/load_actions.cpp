// The `actions` section: a list of {"at": DURATION, "do": NAME, "id": ID, ...keys of NAME}.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "sim/scenario/load_context.h"
#include "stack/wire/tcp.h"

namespace tapwire::sim::load {
namespace {

using Keys = std::vector<std::string_view>;

// Keys every action may have besides its own.
Keys with_common(Keys own) {
  own.insert(own.end(), {"at", "do", "id", "note"});
  return own;
}

ThenStep read_then(JsonReader& r, const JsonNode& n, ThenStep fallback) {
  static constexpr ThenStep kSteps[] = {ThenStep::none, ThenStep::half_close, ThenStep::close, ThenStep::reset};
  auto i = r.read_enum(n, {"none", "half_close", "close", "reset"});
  return i ? kSteps[*i] : fallback;
}

void read_hex(JsonReader& r, const JsonNode& n, std::vector<std::uint8_t>& out) {
  if (r.failed()) return;
  std::vector<std::uint8_t> bytes;
  if (!n->is_string() || !decode_hex(n->get_ref<const std::string&>(), bytes) || bytes.empty())
    return r.fail(n.path, "expected hex bytes like \"ffffffffffff0250...\", got " + JsonReader::describe(*n));
  if (bytes.size() < 14) return r.fail(n.path, "a raw frame needs at least an Ethernet header (14 bytes)");
  out = std::move(bytes);
}

void read_built_packet(JsonReader& r, const JsonNode& n, BuiltPacket& p) {
  if (!r.object(n, {"proto", "src", "dst", "sport", "dport", "flags", "seq", "ack", "window", "mss", "wscale",
                    "sack_permitted", "timestamps", "payload", "ttl", "df", "ip_id", "fragment_size",
                    "fragment_order"})) {
    return;
  }
  if (auto proto = r.required(n, "proto")) {
    static constexpr BuildProto kProtos[] = {BuildProto::tcp, BuildProto::udp, BuildProto::icmp};
    if (auto i = r.read_enum(*proto, {"tcp", "udp", "icmp"})) p.proto = kProtos[*i];
  }
  if (auto src = r.member(n, "src")) {
    wire::Ipv4Addr a;
    r.read(*src, a);
    p.src = a;
  }
  if (auto dst = r.required(n, "dst")) r.read(*dst, p.dst);
  r.field_int(n, "sport", 0, 65535, p.sport);
  r.field_int(n, "dport", 0, 65535, p.dport);
  if (auto flags = r.member(n, "flags"); flags && !r.failed()) {
    std::optional<TcpFlagsMatch> f;
    if (flags->value->is_string() && !flags->value->get_ref<const std::string&>().starts_with("=")) {
      f = TcpFlagsMatch::parse(flags->value->get_ref<const std::string&>());
    }
    if (!f) r.fail(flags->path, "expected TCP flag letters from FSRPAUEC like \"S\" or \"SA\", got " +
                                    JsonReader::describe(**flags));
    else p.flags = f->flags;
  }
  r.field_int(n, "seq", 0, 0xffffffffLL, p.seq);
  r.field_int(n, "ack", 0, 0xffffffffLL, p.ack);
  r.field_int(n, "window", 0, 65535, p.window);
  if (auto mss = r.member(n, "mss")) {
    std::uint16_t v = 0;
    r.read_int(*mss, 0, 65535, v);
    p.mss = v;
  }
  if (auto ws = r.member(n, "wscale")) {
    std::uint8_t v = 0;
    r.read_int(*ws, 0, 14, v);
    p.wscale = v;
  }
  r.field(n, "sack_permitted", p.sack_permitted);
  r.field(n, "timestamps", p.timestamps);
  if (auto payload = r.member(n, "payload")) read_payload(r, *payload, p.payload);
  r.field_int(n, "ttl", 1, 255, p.ttl);
  r.field(n, "df", p.df);
  r.field_int(n, "ip_id", 0, 65535, p.ip_id);
  if (auto fs = r.member(n, "fragment_size")) {
    r.read_int(*fs, 8, 65528, p.fragment_size);
    if (!r.failed() && p.fragment_size % 8 != 0) {
      r.fail(fs->path, "must be a multiple of 8 (IPv4 fragment offsets count 8-byte units)");
    }
  }
  if (auto fo = r.member(n, "fragment_order")) {
    if (auto i = r.read_enum(*fo, {"in_order", "reverse"})) {
      p.fragment_order = *i == 0 ? FragmentOrder::in_order : FragmentOrder::reverse;
    }
  }
  if (!r.failed() && p.proto != BuildProto::tcp) {
    for (std::string_view key : {"flags", "seq", "ack", "window", "mss", "wscale", "sack_permitted", "timestamps"}) {
      if (r.member(n, key)) return r.fail(n.member_path(key), "\"" + std::string(key) + "\" applies to proto tcp only");
    }
  }
}

void read_one_of(JsonReader& r, const JsonNode& n, std::string_view a, std::string_view b) {
  bool has_a = r.member(n, a).has_value(), has_b = r.member(n, b).has_value();
  if (!r.failed() && has_a == has_b) {
    r.fail(n.path, "needs exactly one of \"" + std::string(a) + "\" and \"" + std::string(b) + "\"");
  }
}

// Reads the keys specific to action `kind` into `body`.
void read_body(LoadContext& ctx, const JsonNode& n, std::string_view kind, ActionBody& body) {
  JsonReader& r = ctx.reader;
  if (kind == "dhcp") {
    if (r.object(n, with_common({}))) body = DhcpAction{};
  } else if (kind == "ping") {
    PingAction a;
    if (!r.object(n, with_common({"dst", "count", "size", "interval"}))) return;
    if (auto dst = r.required(n, "dst")) r.read(*dst, a.dst);
    r.field_int(n, "count", 1, 1'000'000, a.count);
    r.field_int(n, "size", 0, 65507 - 8, a.size);
    r.field(n, "interval", a.interval);
    body = a;
  } else if (kind == "tcp_connect" || kind == "host_connect") {
    Keys keys = {"dst", "send", "expect_echo", "then"};
    if (kind == "tcp_connect") keys.push_back("src_port");
    if (!r.object(n, with_common(keys))) return;
    Endpoint dst;
    Payload send;
    bool expect_echo = false;
    ThenStep then = ThenStep::close;
    std::uint16_t src_port = 0;
    if (auto d = r.required(n, "dst")) read_endpoint(r, *d, dst);
    if (auto s = r.member(n, "send")) read_payload(r, *s, send);
    r.field(n, "expect_echo", expect_echo);
    if (auto t = r.member(n, "then")) then = read_then(r, *t, then);
    r.field_int(n, "src_port", 1, 65535, src_port);
    if (kind == "tcp_connect") body = TcpConnectAction{dst, src_port, send, expect_echo, then};
    else body = HostConnectAction{dst, send, expect_echo, then};
  } else if (kind == "tcp_listen") {
    TcpListenAction a;
    if (!r.object(n, with_common({"port", "behaviour", "bytes"}))) return;
    if (auto p = r.required(n, "port")) r.read_int(*p, 1, 65535, a.port);
    if (auto b = r.member(n, "behaviour")) {
      static constexpr ServerBehaviour kGuest[] = {ServerBehaviour::echo, ServerBehaviour::sink, ServerBehaviour::source,
                                                   ServerBehaviour::accept_then_close};
      if (auto i = r.read_enum(*b, {"echo", "sink", "source", "accept_then_close"})) a.behaviour = kGuest[*i];
    }
    r.field_int(n, "bytes", 0, std::int64_t{1} << 40, a.bytes);
    if (!r.failed() && a.behaviour == ServerBehaviour::source && !r.member(n, "bytes")) {
      r.fail(n.path, "behaviour \"source\" needs \"bytes\"");
    }
    body = a;
  } else if (kind == "udp_send") {
    UdpSendAction a;
    if (!r.object(n, with_common({"dst", "src_port", "send", "count", "interval", "df"}))) return;
    if (auto d = r.required(n, "dst")) read_endpoint(r, *d, a.dst);
    r.field_int(n, "src_port", 1, 65535, a.src_port);
    if (auto s = r.member(n, "send")) read_payload(r, *s, a.send);
    if (!r.failed() && a.send.length() > 65507) r.fail(n.member_path("send"), "a UDP datagram carries at most 65507 bytes");
    r.field_int(n, "count", 1, 1'000'000, a.count);
    r.field(n, "interval", a.interval);
    r.field(n, "df", a.df);
    body = a;
  } else if (kind == "tcp_close") {
    TcpCloseAction a;
    if (!r.object(n, with_common({"target", "how"}))) return;
    if (auto t = r.required(n, "target")) {
      r.read(*t, a.target);
      ctx.references.push_back(Reference{a.target, RefKind::connection, t->path});
    }
    if (auto h = r.member(n, "how")) a.how = read_then(r, *h, a.how);
    body = a;
  } else if (kind == "inject") {
    InjectAction a;
    if (!r.object(n, with_common({"frame", "build", "count"}))) return;
    read_one_of(r, n, "frame", "build");
    if (auto f = r.member(n, "frame")) read_hex(r, *f, a.frame);
    if (auto b = r.member(n, "build")) {
      a.build.emplace();
      read_built_packet(r, *b, *a.build);
    }
    r.field_int(n, "count", 1, 1'000'000, a.count);
    body = std::move(a);
  } else if (kind == "inject_pcap") {
    InjectPcapAction a;
    if (!r.object(n, with_common({"file"}))) return;
    if (auto f = r.required(n, "file")) r.read(*f, a.file);
    if (!r.failed() && a.file.empty()) r.fail(n.member_path("file"), "must not be empty");
    if (!a.file.empty() && a.file.front() != '/' && !ctx.base_dir.empty()) a.file = ctx.base_dir + "/" + a.file;
    body = a;
  } else if (kind == "flood") {
    FloodAction a;
    if (!r.object(n, with_common({"kind", "dst", "count", "rate", "interval", "size"}))) return;
    if (auto k = r.required(n, "kind")) {
      if (auto i = r.read_enum(*k, {"tcp", "udp"})) a.kind = *i == 0 ? FloodKind::tcp : FloodKind::udp;
    }
    if (auto d = r.required(n, "dst")) read_endpoint(r, *d, a.dst);
    if (auto c = r.required(n, "count")) r.read_int(*c, 1, 10'000'000, a.count);
    read_one_of(r, n, "rate", "interval");
    if (auto rate = r.member(n, "rate")) {
      double per_second = 0;
      r.read_number(*rate, 0.001, 1e9, per_second);
      if (!r.failed()) a.interval = Duration::nanos(static_cast<std::int64_t>(std::llround(1e9 / per_second)));
    }
    r.field(n, "interval", a.interval);
    r.field_int(n, "size", 0, 65507, a.size);
    if (!r.failed() && a.kind == FloodKind::tcp && r.member(n, "size")) {
      r.fail(n.member_path("size"), "\"size\" applies to udp floods only");
    }
    body = a;
  } else if (kind == "link") {
    LinkAction a;
    if (!r.object(n, with_common({"set"}))) return;
    if (auto s = r.required(n, "set")) read_link_change(r, *s, a.change);
    body = std::move(a);
  } else if (kind == "partition" || kind == "heal") {
    std::optional<Direction> dir;
    if (!r.object(n, with_common({"dir"}))) return;
    if (auto d = r.member(n, "dir")) read_direction(r, *d, dir);
    if (kind == "partition") body = PartitionAction{dir};
    else body = HealAction{dir};
  } else if (kind == "rule") {
    LinkRuleAction a;
    if (!r.object(n, with_common({"match", "action", "delay", "nth", "every"}))) return;
    if (auto m = r.member(n, "match")) read_frame_match(r, *m, a.rule.match, nullptr);
    for (std::string_view key : {"action", "delay", "nth", "every"}) {
      auto m = r.member(n, key);
      if (!m) continue;
      auto v = read_link_value(r, *m, /*bool_as_int=*/key == "every");
      if (!v) return;
      if (auto problem = a.rule.set(key, *v)) return r.fail(m->path, *problem);
    }
    if (!r.failed() && r.member(n, "action") && n->at("action") == "drop" && r.member(n, "delay")) {
      r.fail(n.member_path("delay"), "\"delay\" contradicts \"action\": \"drop\"");
    }
    if (!r.failed() && a.rule.action == RuleAction::delay && !r.member(n, "delay")) {
      r.fail(n.path, "\"action\": \"delay\" needs \"delay\"");
    }
    body = std::move(a);
  } else if (kind == "server_start") {
    ServerStartAction a;
    if (!r.object(n, with_common({"server"}))) return;
    if (auto s = r.required(n, "server")) read_server(r, *s, a.server);
    body = std::move(a);
  } else if (kind == "dns_query") {
    DnsQueryAction a;
    read_dns_query_action(ctx, n, a);
    body = std::move(a);
  } else if (kind == "server_stop") {
    ServerStopAction a;
    if (!r.object(n, with_common({"proto", "listen"}))) return;
    if (auto p = r.member(n, "proto")) read_server_proto(r, *p, a.proto);
    if (auto l = r.required(n, "listen")) read_endpoint(r, *l, a.listen);
    body = a;
  }
}

}  // namespace

void register_id(LoadContext& ctx, const std::string& id, std::string_view kind, const std::string& path) {
  auto [it, fresh] = ctx.ids.try_emplace(id, kind, path);
  if (!fresh) ctx.reader.fail(path, "duplicate id " + config::json_quote(id) + " (first at " + it->second.second + ")");
}

std::vector<Action> read_actions(LoadContext& ctx, const JsonNode& n) {
  JsonReader& r = ctx.reader;
  std::vector<Action> actions;
  if (!r.array(n)) return actions;
  for (std::size_t i = 0; i < n->size() && !r.failed(); ++i) {
    JsonNode a = r.element(n, i);
    if (!a->is_object()) {
      r.fail(a.path, "expected an action object like {\"at\": \"1s\", \"do\": \"ping\", ...}, got " +
                         JsonReader::describe(*a));
      break;
    }
    Action action;
    auto at = r.required(a, "at");
    if (at) r.read(*at, action.at);
    if (at && !r.failed() && action.at > ctx.duration) {
      r.fail(at->path, "at " + to_string(action.at) + " is after the end of the run (duration " +
                           to_string(ctx.duration) + ")");
    }
    auto what = r.required(a, "do");
    if (!what) break;
    std::optional<std::size_t> kind;
    {
      std::vector<std::string_view> names(std::begin(kActionNames), std::end(kActionNames));
      if (!(*what)->is_string() || std::find(names.begin(), names.end(), (*what)->get<std::string>()) == names.end()) {
        std::string message = "unknown action " + JsonReader::describe(**what) + "; expected one of";
        for (std::string_view name : names) message += " " + std::string(name);
        if ((*what)->is_string()) {
          if (auto near = config::did_you_mean((*what)->get<std::string>(), names)) {
            message += " (did you mean \"" + std::string(*near) + "\"?)";
          }
        }
        r.fail(what->path, message);
        break;
      }
      kind = static_cast<std::size_t>(std::find(names.begin(), names.end(), (*what)->get<std::string>()) - names.begin());
    }
    if (auto id = r.member(a, "id")) {
      r.read(*id, action.id);
      if (!r.failed() && action.id.empty()) r.fail(id->path, "an id must not be empty");
      if (!r.failed()) register_id(ctx, action.id, kActionNames[*kind], id->path);
    }
    if (auto note = r.member(a, "note")) {
      std::string ignored;
      r.read(*note, ignored);
    }
    read_body(ctx, a, kActionNames[*kind], action.body);
    if (!r.failed() && action.body.index() != *kind) r.fail(a.path, "internal: action body not read");
    if (!r.failed()) actions.push_back(std::move(action));
  }
  std::stable_sort(actions.begin(), actions.end(), [](const Action& x, const Action& y) { return x.at < y.at; });
  return actions;
}

}  // namespace tapwire::sim::load
