// The scenario loader's top level: the document, the vm / link / host sections, and
// the checks that span sections (references between ids, addresses in the subnet).
// Actions and expectations are read in load_actions.cpp and load_expectations.cpp.
#include "sim/scenario/loader.h"

#include <fstream>
#include <set>
#include <sstream>

#include "sim/scenario/load_context.h"

namespace tapwire::sim {
namespace load {
namespace {

void read_vm(JsonReader& r, const JsonNode& n, VmConfig& vm) {
  if (!r.object(n, {"mac", "mtu", "ip", "dhcp_mtu", "tcp"})) return;
  r.field(n, "mac", vm.mac);
  if (!r.failed() && (vm.mac.is_multicast() || vm.mac.is_zero())) {
    r.fail(n.member_path("mac"), "must be a unicast, non-zero MAC, got " + vm.mac.to_string());
  }
  r.field_int(n, "mtu", proxy::kMinMtu, proxy::kMaxMtu, vm.mtu);
  if (auto ip = r.member(n, "ip"); ip && !r.failed()) {
    if ((*ip)->is_string() && (*ip)->get<std::string>() == "dhcp") {
      vm.ip.reset();
    } else {
      std::optional<wire::Ipv4Addr> a;
      if ((*ip)->is_string()) a = wire::Ipv4Addr::parse((*ip)->get<std::string>());
      if (!a) r.fail(ip->path, "expected \"dhcp\" or an IPv4 address like \"192.168.65.9\", got " + JsonReader::describe(**ip));
      else vm.ip = *a;
    }
  }
  if (auto m = r.member(n, "dhcp_mtu")) {
    if (auto i = r.read_enum(*m, {"ignore", "adopt"})) vm.dhcp_mtu = *i == 0 ? DhcpMtuPolicy::ignore : DhcpMtuPolicy::adopt;
  }
  if (auto t = r.member(n, "tcp"); t && r.object(*t, {"mss_option", "wscale", "sack", "timestamps", "nagle"})) {
    r.field(*t, "mss_option", vm.tcp.mss_option);
    r.field(*t, "wscale", vm.tcp.wscale);
    r.field(*t, "sack", vm.tcp.sack);
    r.field(*t, "timestamps", vm.tcp.timestamps);
    r.field(*t, "nagle", vm.tcp.nagle);
  }
}

void read_host(JsonReader& r, const JsonNode& n, HostConfig& host) {
  if (!r.object(n, {"fd_limit", "close_delay", "backlog", "servers", "dns_servers", "resolver"})) return;
  r.field_int(n, "fd_limit", 1, 1'000'000, host.fd_limit);
  r.field(n, "close_delay", host.close_delay);
  r.field_int(n, "backlog", 1, 65535, host.backlog);
  if (auto servers = r.member(n, "servers"); servers && r.array(*servers)) {
    for (std::size_t i = 0; i < (*servers)->size() && !r.failed(); ++i) {
      JsonNode s = r.element(*servers, i);
      ServerSpec spec;
      read_server(r, s, spec);
      if (r.failed()) break;
      for (const ServerSpec& other : host.servers) {
        if (other.proto == spec.proto && other.ip == spec.ip && other.port == spec.port) {
          r.fail(s.member_path("listen"),
                 "another server already listens on " + Endpoint{spec.ip, spec.port}.to_string());
        }
      }
      host.servers.push_back(spec);
    }
  }
  read_host_dns(r, n, host);
}

std::string_view kind_name(RefKind k) {
  switch (k) {
    case RefKind::connection: return "a connection (tcp_connect, tcp_listen or host_connect)";
    case RefKind::ping: return "a ping";
    case RefKind::dhcp: return "a dhcp action";
    case RefKind::udp: return "a udp_send";
    case RefKind::dns: return "a dns_query";
  }
  return "?";
}

bool kind_fits(RefKind k, std::string_view action) {
  switch (k) {
    case RefKind::connection: return action == "tcp_connect" || action == "tcp_listen" || action == "host_connect";
    case RefKind::ping: return action == "ping";
    case RefKind::dhcp: return action == "dhcp";
    case RefKind::udp: return action == "udp_send";
    case RefKind::dns: return action == "dns_query";
  }
  return false;
}

void check_references(LoadContext& ctx) {
  for (const Reference& ref : ctx.references) {
    if (ctx.reader.failed()) return;
    auto it = ctx.ids.find(ref.id);
    if (it == ctx.ids.end()) {
      ctx.reader.fail(ref.path, "no action has the id " + config::json_quote(ref.id));
    } else if (!kind_fits(ref.kind, it->second.first)) {
      ctx.reader.fail(ref.path, config::json_quote(ref.id) + " is a " + std::string(it->second.first) + " action; expected " +
                                    std::string(kind_name(ref.kind)));
    }
  }
}

void check_vm_address(JsonReader& r, const WorldSetup& s) {
  if (r.failed() || !s.vm.ip) return;
  const proxy::ProxyConfig& p = s.proxy;
  wire::Ipv4Addr ip = *s.vm.ip;
  std::string why;
  if (!p.subnet.contains(ip)) why = "is outside the proxy subnet " + p.subnet.to_string();
  else if (ip == p.subnet.network || ip == p.subnet.broadcast()) why = "is not a host address of " + p.subnet.to_string();
  else if (ip == p.gateway_ip) why = "is the gateway's address";
  else if (ip == p.host_ip) why = "is the host alias address";
  if (!why.empty()) r.fail("$.vm.ip", ip.to_string() + " " + why);
}

// The world's sections, each optional, in the order a scenario file is read.
struct WorldSections {
  std::optional<JsonNode> proxy, vm, link, host;
};

void read_world_setup(JsonReader& r, const WorldSections& in, WorldSetup& out) {
  if (in.proxy) {
    proxy::read_proxy_config(r, *in.proxy, out.proxy);
    if (!r.failed()) {
      if (auto problem = proxy::validate(out.proxy))
        r.fail(proxy::key_problem_path(in.proxy->path, *problem), problem->message);
    }
    if (!r.failed() && !out.proxy.dhcp.lease_file.empty()) {
      r.fail(proxy::key_json_path(in.proxy->path, "dhcp.lease_file"),
             "a lease file is for the daemon; the simulator keeps leases in memory only");
    }
    if (!r.failed() && !out.proxy.dns.hosts_file.empty()) {
      r.fail(proxy::key_json_path(in.proxy->path, "dns.hosts_file"),
             "a hosts file is for the daemon; the simulator has no files (use dns.hosts)");
    }
  }
  if (in.vm) read_vm(r, *in.vm, out.vm);
  check_vm_address(r, out);
  if (in.link) {
    LinkChange change;
    read_link_change(r, *in.link, change);
    change.apply(out.link_to_guest, out.link_to_proxy);
  }
  if (in.host) read_host(r, *in.host, out.host);
}

}  // namespace
}  // namespace load

ScenarioResult load_scenario_json(const nlohmann::json& document, const std::string& origin,
                                  const std::string& base_dir) {
  using namespace load;
  JsonReader r(origin);
  LoadContext ctx{r, base_dir, Duration::max(), {}, {}};
  Scenario s;
  s.origin = origin;
  JsonNode root{&document, "$"};
  if (!r.object(root, {"name", "description", "seed", "duration", "proxy", "vm", "link", "host", "actions", "expect"})) {
    return *r.error();
  }
  if (auto m = r.required(root, "name")) r.read(*m, s.name);
  if (!r.failed() && s.name.empty()) r.fail("$.name", "must not be empty");
  r.field(root, "description", s.description);
  r.field_int(root, "seed", 0, INT64_MAX, s.seed);
  if (auto m = r.required(root, "duration")) {
    r.read(*m, s.duration);
    if (!r.failed() && s.duration <= Duration::zero()) r.fail(m->path, "must be longer than 0s");
    if (!r.failed()) ctx.duration = s.duration;
  }
  read_world_setup(r, WorldSections{r.member(root, "proxy"), r.member(root, "vm"), r.member(root, "link"),
                                    r.member(root, "host")},
                   s);
  if (auto m = r.member(root, "actions")) s.actions = read_actions(ctx, *m);
  if (auto m = r.member(root, "expect")) read_expectations(ctx, *m, s.expect);
  check_references(ctx);
  if (r.failed()) return *r.error();
  return s;
}

config::ConfigResult<WorldSetup> load_world_setup(const WorldSetupJson& sections, const std::string& origin) {
  using namespace load;
  JsonReader r(origin);
  auto node = [](const nlohmann::json* value, const char* path) {
    return value == nullptr ? std::nullopt : std::optional<JsonNode>(JsonNode{value, path});
  };
  WorldSetup setup;
  read_world_setup(r,
                   WorldSections{node(sections.proxy, "$.proxy"), node(sections.vm, "$.vm"),
                                 node(sections.link, "$.link"), node(sections.host, "$.host")},
                   setup);
  if (r.failed()) return *r.error();
  return setup;
}

ScenarioResult load_scenario_text(std::string_view text, const std::string& origin, const std::string& base_dir) {
  auto parsed = config::parse_json_text(text, origin);
  if (!parsed) return parsed.error();
  return load_scenario_json(parsed.value(), origin, base_dir);
}

ScenarioResult load_scenario_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ScenarioError{path, "$", "cannot open the file"};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return ScenarioError{path, "$", "cannot read the file"};
  std::string base_dir;
  if (auto slash = path.rfind('/'); slash != std::string::npos) base_dir = path.substr(0, slash);
  return load_scenario_text(text.str(), path, base_dir.empty() && path.front() == '/' ? "/" : base_dir);
}

}  // namespace tapwire::sim
