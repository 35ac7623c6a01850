#include "stack/posix/daemon/cli.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "stack/posix/daemon/config_json.h"

namespace tapwire::daemon {

namespace {

using ApplyFn = std::string (*)(DaemonOptions&, std::string_view flag, std::string_view value);

// One command-line flag. Exactly one of `proxy_key` (the ProxyConfig key it sets, whose
// default is read from ProxyConfig{}) and `apply` (a daemon option) is set.
struct FlagSpec {
  std::string_view section;
  std::string_view name;     // without the leading "--"
  std::string_view metavar;  // "" for a switch
  std::string_view help;
  std::string_view proxy_key = {};
  bool repeatable = false;
  ApplyFn apply = nullptr;
  std::string_view default_text = {};
};

template <TransportKind Kind>
std::string set_transport(DaemonOptions& o, std::string_view flag, std::string_view value) {
  if (o.transport != TransportKind::none) {
    return "only one transport may be given (--" + std::string(to_string(o.transport)) + " and --" +
           std::string(flag) + ")";
  }
  if (value.empty()) return "--" + std::string(flag) + " needs a non-empty value";
  o.transport = Kind;
  o.transport_path = std::string(value);
  return {};
}

// Row builders: every field is always given (no missing-initializer gaps).
constexpr FlagSpec proxy_flag(std::string_view section, std::string_view name, std::string_view metavar,
                              std::string_view help, std::string_view key, bool repeatable = false) {
  return FlagSpec{section, name, metavar, help, key, repeatable, nullptr, {}};
}
constexpr FlagSpec option_flag(std::string_view section, std::string_view name, std::string_view metavar,
                               std::string_view help, ApplyFn apply, std::string_view default_text) {
  return FlagSpec{section, name, metavar, help, {}, false, apply, default_text};
}

template <std::string DaemonOptions::*Field>
std::string set_string(DaemonOptions& o, std::string_view flag, std::string_view value) {
  if (value.empty()) return "--" + std::string(flag) + " needs a non-empty value";
  o.*Field = std::string(value);
  return {};
}

constexpr std::string_view kConfig = "Configuration (flags override --config)";
constexpr std::string_view kTransport = "Transport to the VM (exactly one)";
constexpr std::string_view kOperation = "Operation";

// The flag table. DNS and port-forward flags join as one row each.
const FlagSpec kFlags[] = {
    option_flag(kConfig, "config", "FILE.json",
                "proxy settings as JSON, the keys of a scenario's \"proxy\" section (flag --a-b is key a_b)",
                set_string<&DaemonOptions::config_path>,
                "(none)"),
    proxy_flag(kConfig, "subnet", "CIDR", "the VM's subnet", "subnet"),
    proxy_flag(kConfig, "gateway-ip", "IP", "the gateway (ARP, DHCP, ICMP echo; RST/port unreachable elsewhere)",
               "gateway_ip"),
    proxy_flag(kConfig, "host-ip", "IP", "the host alias: connections to it go to 127.0.0.1 on the host", "host_ip"),
    proxy_flag(kConfig, "mtu", "N", "IP MTU of the link to the VM (576..65520)", "mtu"),
    proxy_flag(kConfig, "allow-outbound", "CIDR",
               "host-side destinations allowed, after host-alias translation; repeatable; none = allow all",
               "allow_outbound", true),
    proxy_flag(kConfig, "max-connections", "N", "live guest TCP connections at most; 0 = from RLIMIT_NOFILE",
               "max_connections"),
    proxy_flag(kConfig, "idle-timeout", "DURATION", "close a TCP flow idle this long both ways", "idle_timeout"),

    option_flag(kTransport, "qemu-listen", "PATH", "listen for QEMU -netdev stream,server=off (4-byte BE length)",
                set_transport<TransportKind::qemu_listen>, "(none)"),
    option_flag(kTransport, "qemu-connect", "PATH", "connect to QEMU -netdev stream,server=on",
                set_transport<TransportKind::qemu_connect>, "(none)"),
    option_flag(kTransport, "vmnet-listen", "PATH", "listen for hyperkit's virtio-net-vpnkit (vmnet protocol)",
                set_transport<TransportKind::vmnet_listen>, "(none)"),
    option_flag(kTransport, "vfkit-listen", "PATH", "unixgram socket for vfkit (one frame per datagram)",
                set_transport<TransportKind::vfkit_listen>, "(none)"),
    option_flag(kTransport, "tap", "IFNAME", "open (or create) the Linux tap device IFNAME",
                set_transport<TransportKind::tap>, "(none)"),
    option_flag(kTransport, "netns", "PATH",
                "with --tap: open the tap inside this network namespace (e.g. /var/run/netns/vm)",
                set_string<&DaemonOptions::netns_path>,
                "(none: our own)"),

    option_flag(kOperation, "pcap", "FILE", "capture every frame, both ways, to FILE (pcap, nanosecond stamps)",
                set_string<&DaemonOptions::pcap_path>,
                "(none)"),
    option_flag(kOperation, "control", "PATH", "control socket (newline-delimited JSON; see `tapwire ctl`)",
                set_string<&DaemonOptions::control_path>,
                "(none)"),
    option_flag(kOperation, "log-level", "LEVEL", "trace, debug, info, warn, error or off",
                [](DaemonOptions& o, std::string_view f, std::string_view v) -> std::string {
                  if (!parse_log_level(v, o.log_level)) {
                    return "--" + std::string(f) + ": expected trace, debug, info, warn, error or off, got \"" +
                           std::string(v) + "\"";
                  }
                  return {};
                },
                "info"),
    option_flag(kOperation, "stats-interval", "DURATION", "log the counters this often; 0s = never",
                [](DaemonOptions& o, std::string_view f, std::string_view v) -> std::string {
                  if (v == "0") {
                    o.stats_interval = Duration::zero();
                    return {};
                  }
                  auto d = parse_duration(v);
                  if (!d || d->ns() < 0) {
                    return "--" + std::string(f) + ": expected a duration like \"30s\", got \"" + std::string(v) +
                           "\"";
                  }
                  o.stats_interval = *d;
                  return {};
                },
                "60s"),
    option_flag(kOperation, "help", "", "show this help and exit",
                [](DaemonOptions& o, std::string_view, std::string_view) -> std::string {
                  o.help = true;
                  return {};
                },
                {}),
};

const FlagSpec* find_flag(std::string_view name) {
  for (const FlagSpec& f : kFlags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string default_of(const FlagSpec& f) {
  if (f.proxy_key.empty()) return std::string(f.default_text);
  static const nlohmann::json defaults = config_to_json(proxy::ProxyConfig{});
  std::string text = config_key_text(defaults, f.proxy_key);
  return text.empty() ? "(none)" : text;
}

// Words of `text` in lines of at most `width` columns, continuation lines indented.
std::string wrap(const std::string& text, std::size_t indent, std::size_t width) {
  std::string out;
  std::size_t column = indent;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    std::string_view word(text.data() + start, end - start);
    if (column > indent && column + 1 + word.size() > width) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
    } else if (column > indent) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    start = end + 1;
  }
  return out;
}

CliResult fail(std::string message) { return CliResult{std::nullopt, CliError{std::move(message)}}; }

struct Given {
  const FlagSpec* spec;
  std::string value;
};

}  // namespace

std::string_view to_string(TransportKind kind) {
  switch (kind) {
    case TransportKind::none: return "none";
    case TransportKind::qemu_listen: return "qemu-listen";
    case TransportKind::qemu_connect: return "qemu-connect";
    case TransportKind::vmnet_listen: return "vmnet-listen";
    case TransportKind::vfkit_listen: return "vfkit-listen";
    case TransportKind::tap: return "tap";
  }
  return "?";
}

std::optional<std::string> read_text_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    error = "read error";
    return std::nullopt;
  }
  return text.str();
}

std::string help_text() {
  std::string out =
      "usage: tapwire [FLAGS] (--qemu-listen PATH | --qemu-connect PATH | --vmnet-listen PATH |\n"
      "                        --vfkit-listen PATH | --tap IFNAME [--netns PATH])\n"
      "       tapwire ctl --control PATH (stats | diagnostics)\n"
      "\n"
      "A user-space network proxy for one VM: terminates the VM's TCP/IP and opens ordinary\n"
      "host sockets. Flags take their value as `--flag VALUE` or `--flag=VALUE`.\n";
  std::string_view section;
  for (const FlagSpec& f : kFlags) {
    if (f.section != section) {
      section = f.section;
      out += "\n" + std::string(section) + ":\n";
    }
    std::string head = "  --" + std::string(f.name);
    if (!f.metavar.empty()) head += " " + std::string(f.metavar);
    if (head.size() < 30) head.resize(30, ' ');
    else head += "\n" + std::string(30, ' ');
    std::string body(f.help);
    std::string def = default_of(f);
    // The default stays on one line: its space is a placeholder until after wrapping.
    if (!def.empty()) body += " [default:\x01" + def + "]";
    std::string wrapped = wrap(body, 30, 100);
    for (char& ch : wrapped) ch = ch == '\x01' ? ' ' : ch;
    out += head + wrapped + "\n";
  }
  out +=
      "\nDurations carry a unit: 250ms, 30s, 2h. Exit codes: 0 clean shutdown (SIGTERM/SIGINT),\n"
      "1 runtime failure, 2 bad flags or configuration.\n";
  return out;
}

CliResult parse_daemon_args(const std::vector<std::string_view>& args) {
  DaemonOptions options;
  std::vector<Given> given;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "-h") arg = "--help";
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      return fail("unexpected argument \"" + std::string(arg) + "\" (flags start with --); see tapwire --help");
    }
    std::string_view body = arg.substr(2);
    std::optional<std::string_view> inline_value;
    if (auto eq = body.find('='); eq != std::string_view::npos) {
      inline_value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    const FlagSpec* spec = find_flag(body);
    if (!spec) {
      std::vector<std::string_view> names;
      for (const FlagSpec& f : kFlags) names.push_back(f.name);
      std::string msg = "unknown flag --" + std::string(body);
      if (auto near = proxy::did_you_mean(body, names)) msg += " (did you mean --" + std::string(*near) + "?)";
      return fail(msg + "; see tapwire --help");
    }
    std::string value;
    if (spec->metavar.empty()) {
      if (inline_value) return fail("--" + std::string(spec->name) + " takes no value");
    } else if (inline_value) {
      value = std::string(*inline_value);
    } else if (i + 1 < args.size()) {
      value = std::string(args[++i]);
    } else {
      return fail("--" + std::string(spec->name) + " needs a value (" + std::string(spec->metavar) + ")");
    }
    if (!spec->repeatable) {
      for (const Given& g : given) {
        if (g.spec == spec) return fail("--" + std::string(spec->name) + " given more than once");
      }
    }
    given.push_back(Given{spec, std::move(value)});
  }

  // Daemon options first (--help wins over everything else).
  for (const Given& g : given) {
    if (g.spec->apply) {
      std::string err = g.spec->apply(options, g.spec->name, g.value);
      if (!err.empty()) return fail(err);
    }
  }
  if (options.help) return CliResult{std::move(options), std::nullopt};

  // The config file, then the proxy flags on top of it.
  if (!options.config_path.empty()) {
    std::string error;
    auto text = read_text_file(options.config_path, error);
    if (!text) return fail(options.config_path + ": cannot read: " + error);
    auto loaded = proxy::proxy_config_from_text(*text, options.config_path);
    if (!loaded) return fail(loaded.error().to_string());
    options.proxy = loaded.value();
  }
  std::vector<const FlagSpec*> applied;
  for (const Given& g : given) {
    if (g.spec->proxy_key.empty()) continue;
    bool done = false;
    for (const FlagSpec* a : applied) done = done || a == g.spec;
    if (done) continue;
    applied.push_back(g.spec);
    std::string text = g.value;
    if (g.spec->repeatable) {  // a list key: every occurrence, comma-joined
      text.clear();
      for (const Given& h : given) {
        if (h.spec != g.spec) continue;
        if (!text.empty()) text += ",";
        text += h.value;
      }
    }
    if (auto err = proxy::set_proxy_key_from_text(options.proxy, g.spec->proxy_key, text)) {
      return fail(err->to_string());
    }
  }
  if (auto problem = proxy::validate(options.proxy)) {
    // Name the flag that set the key when there is one, else the config file.
    std::string origin = options.config_path.empty() ? "configuration" : options.config_path;
    for (const FlagSpec* a : applied) {
      if (a->proxy_key == problem->key) origin = "--" + std::string(a->name);
    }
    return fail(origin + ": " + proxy::key_problem_path("$", *problem) + ": " + problem->message);
  }

  if (options.transport == TransportKind::none) {
    return fail("no transport: give one of --qemu-listen, --qemu-connect, --vmnet-listen, --vfkit-listen, --tap");
  }
  if (!options.netns_path.empty() && options.transport != TransportKind::tap) {
    return fail("--netns only applies to --tap");
  }
  return CliResult{std::move(options), std::nullopt};
}

}  // namespace tapwire::daemon
