#include "stack/posix/daemon/cli.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "stack/config/did_you_mean.h"
#include "stack/proxy/config_json.h"
#include "stack/proxy/dns_local_names.h"

namespace tapwire::daemon {

namespace {

using ApplyFn = std::string (*)(DaemonOptions&, std::string_view flag, std::string_view value);

// One daemon option flag. The proxy's flags are not written here: one per row of the
// key table (stack/proxy/config_json.h).
struct OptionFlag {
  std::string_view section;
  std::string_view name;     // without the leading "--"
  std::string_view metavar;  // "" for a switch
  std::string_view help;
  ApplyFn apply;
  std::string_view default_text;
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

template <std::string DaemonOptions::*Field>
std::string set_string(DaemonOptions& o, std::string_view flag, std::string_view value) {
  if (value.empty()) return "--" + std::string(flag) + " needs a non-empty value";
  o.*Field = std::string(value);
  return {};
}

template <bool DaemonOptions::*Field>
std::string set_switch(DaemonOptions& o, std::string_view, std::string_view) {
  o.*Field = true;
  return {};
}

std::string set_log_level(DaemonOptions& o, std::string_view flag, std::string_view value) {
  if (parse_log_level(value, o.log_level)) return {};
  return "--" + std::string(flag) + ": expected trace, debug, info, warn, error or off, got \"" + std::string(value) +
         "\"";
}

std::string set_stats_interval(DaemonOptions& o, std::string_view flag, std::string_view value) {
  if (value == "0") {
    o.stats_interval = Duration::zero();
    return {};
  }
  auto d = parse_duration(value);
  if (!d || d->ns() < 0) {
    return "--" + std::string(flag) + ": expected a duration like \"30s\", got \"" + std::string(value) + "\"";
  }
  o.stats_interval = *d;
  return {};
}

constexpr std::string_view kConfig = "Configuration (flags override --config; a list flag may be repeated)";
constexpr std::string_view kTransport = "Transport to the VM (exactly one)";
constexpr std::string_view kOperation = "Operation";

const OptionFlag kConfigFile = {
    kConfig, "config", "FILE.json",
    "proxy settings as JSON, the keys of a scenario's \"proxy\" section (scenarios/README.md)",
    set_string<&DaemonOptions::config_path>, "(none)"};

const OptionFlag kOptionFlags[] = {
    {kTransport, "qemu-listen", "PATH", "listen for QEMU -netdev stream,server=off (4-byte BE length)",
     set_transport<TransportKind::qemu_listen>, "(none)"},
    {kTransport, "qemu-connect", "PATH", "connect to QEMU -netdev stream,server=on",
     set_transport<TransportKind::qemu_connect>, "(none)"},
    {kTransport, "vmnet-listen", "PATH", "listen for hyperkit's virtio-net-vpnkit (vmnet protocol)",
     set_transport<TransportKind::vmnet_listen>, "(none)"},
    {kTransport, "vfkit-listen", "PATH", "unixgram socket for vfkit (one frame per datagram)",
     set_transport<TransportKind::vfkit_listen>, "(none)"},
    {kTransport, "tap", "IFNAME", "open (or create) the Linux tap device IFNAME", set_transport<TransportKind::tap>,
     "(none)"},
    {kTransport, "netns", "PATH", "with --tap: open the tap inside this network namespace (e.g. /var/run/netns/vm)",
     set_string<&DaemonOptions::netns_path>, "(none: our own)"},
    {kOperation, "pcap", "FILE", "capture every frame, both ways, to FILE (pcap, nanosecond stamps)",
     set_string<&DaemonOptions::pcap_path>, "(none)"},
    {kOperation, "control", "PATH", "control socket (newline-delimited JSON; see `tapwire ctl`)",
     set_string<&DaemonOptions::control_path>, "(none)"},
    {kOperation, "log-level", "LEVEL", "trace, debug, info, warn, error or off", set_log_level, "info"},
    {kOperation, "stats-interval", "DURATION", "log the counters this often; 0s = never", set_stats_interval, "60s"},
    {kOperation, "check-config", "",
     "load --config and the flags, print the effective proxy configuration as JSON and exit (0, or 2 on an error); "
     "no transport needed",
     set_switch<&DaemonOptions::check_config>, {}},
    {kOperation, "help", "", "show this help and exit", set_switch<&DaemonOptions::help>, {}},
};

// Every flag of the command line: a daemon option or a proxy config key.
struct Flag {
  std::string_view section;
  std::string_view name;
  std::string_view metavar;
  std::string_view help;
  const OptionFlag* option = nullptr;
  const proxy::ProxyKey* key = nullptr;
  bool repeatable() const { return key != nullptr && key->list; }
};

const std::vector<Flag>& all_flags() {
  static const std::vector<Flag> flags = [] {
    std::vector<Flag> out;
    auto add_option = [&](const OptionFlag& o) {
      out.push_back(Flag{o.section, o.name, o.metavar, o.help, &o, nullptr});
    };
    add_option(kConfigFile);
    for (const proxy::ProxyKey& k : proxy::proxy_keys()) {
      out.push_back(Flag{kConfig, k.flag, k.metavar, k.help, nullptr, &k});
    }
    for (const OptionFlag& o : kOptionFlags) add_option(o);
    return out;
  }();
  return flags;
}

const Flag* find_flag(std::string_view name) {
  for (const Flag& f : all_flags()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string default_of(const Flag& f) {
  if (f.option) return std::string(f.option->default_text);
  // The daemon's own default (daemon.cpp): forward mode without upstreams follows the host.
  if (f.key->path == "dns.upstreams") return "the nameserver lines of /etc/resolv.conf, re-read when it changes";
  std::string text = proxy::proxy_key_text(proxy::ProxyConfig{}, *f.key);
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

CliResult fail(std::string message) { return CliError{std::move(message)}; }

struct Given {
  const Flag* flag;
  std::string value;
};

// Whether validate()'s problem key ("dhcp.static[1].ip") belongs to `key` ("dhcp.static").
bool problem_of_key(std::string_view problem_key, std::string_view key) {
  if (problem_key.substr(0, key.size()) != key) return false;
  return problem_key.size() == key.size() || problem_key[key.size()] == '.' || problem_key[key.size()] == '[';
}

// Collects the flags in command-line order; checks names, values and repetition.
std::optional<CliError> collect(const std::vector<std::string_view>& args, std::vector<Given>& given) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "-h") arg = "--help";
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      return CliError{"unexpected argument \"" + std::string(arg) + "\" (flags start with --); see tapwire --help"};
    }
    std::string_view body = arg.substr(2);
    std::optional<std::string_view> inline_value;
    if (auto eq = body.find('='); eq != std::string_view::npos) {
      inline_value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    const Flag* flag = find_flag(body);
    if (!flag) {
      std::vector<std::string_view> names;
      for (const Flag& f : all_flags()) names.push_back(f.name);
      std::string msg = "unknown flag --" + std::string(body);
      if (auto near = config::did_you_mean(body, names)) msg += " (did you mean --" + std::string(*near) + "?)";
      return CliError{msg + "; see tapwire --help"};
    }
    std::string value;
    if (flag->metavar.empty()) {
      if (inline_value) return CliError{"--" + std::string(flag->name) + " takes no value"};
    } else if (inline_value) {
      value = std::string(*inline_value);
    } else if (i + 1 < args.size()) {
      value = std::string(args[++i]);
    } else {
      return CliError{"--" + std::string(flag->name) + " needs a value (" + std::string(flag->metavar) + ")"};
    }
    if (!flag->repeatable()) {
      for (const Given& g : given) {
        if (g.flag == flag) return CliError{"--" + std::string(flag->name) + " given more than once"};
      }
    }
    given.push_back(Given{flag, std::move(value)});
  }
  return std::nullopt;
}

// The config file, then every proxy flag on top of it, then the checks across keys.
std::optional<CliError> load_proxy_config(DaemonOptions& options, const std::vector<Given>& given) {
  if (!options.config_path.empty()) {
    std::string error;
    auto text = read_text_file(options.config_path, error);
    if (!text) return CliError{options.config_path + ": cannot read: " + error};
    auto loaded = proxy::proxy_config_from_text(*text, options.config_path);
    if (!loaded) return CliError{loaded.error().to_string()};
    options.proxy = loaded.value();
  }
  std::vector<const proxy::ProxyKey*> applied;
  for (const Given& g : given) {
    const proxy::ProxyKey* key = g.flag->key;
    if (key == nullptr || std::find(applied.begin(), applied.end(), key) != applied.end()) continue;
    applied.push_back(key);
    options.keys_from_flags.emplace_back(key->path);
    std::vector<std::string> values;
    for (const Given& h : given) {
      if (h.flag == g.flag) values.push_back(h.value);
    }
    if (auto err = proxy::set_proxy_key_from_flag(options.proxy, *key, values)) return CliError{err->to_string()};
  }
  if (auto problem = proxy::validate(options.proxy)) {
    // Name the flag that set the key when there is one, else the config file.
    std::string origin = options.config_path.empty() ? "configuration" : options.config_path;
    for (const proxy::ProxyKey* key : applied) {
      if (problem_of_key(problem->key, key->path)) origin = "--" + key->flag;
    }
    return CliError{origin + ": " + proxy::key_problem_path("$", *problem) + ": " + problem->message};
  }
  return std::nullopt;
}

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

std::optional<std::string> append_dns_hosts_file(proxy::DnsConfig& dns) {
  if (dns.hosts_file.empty()) return std::nullopt;
  const std::string origin = "--dns-hosts " + dns.hosts_file;
  std::string error;
  auto text = read_text_file(dns.hosts_file, error);
  if (!text) return origin + ": cannot read: " + error;
  auto lines = proxy::read_hosts_text(*text);
  if (!lines.ok()) return origin + ": " + lines.error();
  dns.hosts.insert(dns.hosts.end(), lines->begin(), lines->end());
  return std::nullopt;
}

std::vector<std::string> flag_names() {
  std::vector<std::string> names;
  for (const Flag& f : all_flags()) names.emplace_back(f.name);
  return names;
}

std::string help_text() {
  std::string out =
      "usage: tapwire [FLAGS] (--qemu-listen PATH | --qemu-connect PATH | --vmnet-listen PATH |\n"
      "                        --vfkit-listen PATH | --tap IFNAME [--netns PATH])\n"
      "       tapwire [--config FILE.json] [FLAGS] --check-config\n"
      "       tapwire ctl --control PATH (stats | diagnostics | forwards | expose SPEC | unexpose SPEC)\n"
      "\n"
      "A user-space network proxy for one VM: terminates the VM's TCP/IP and opens ordinary\n"
      "host sockets. Flags take their value as `--flag VALUE` or `--flag=VALUE`; every proxy\n"
      "config key has a flag: `dhcp.lease_time` is --dhcp-lease-time, booleans take true|false.\n";
  std::string_view section;
  for (const Flag& f : all_flags()) {
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
    // The default stays on one line: its spaces are placeholders until after wrapping.
    if (!def.empty()) {
      std::string tagged = " [default: " + def + "]";
      for (char& ch : tagged) ch = ch == ' ' ? '\x01' : ch;
      body += " " + tagged.substr(1);
    }
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
  if (auto err = collect(args, given)) return fail(err->message);

  // Daemon options first (--help wins over everything else).
  for (const Given& g : given) {
    if (g.flag->option == nullptr) continue;
    std::string err = g.flag->option->apply(options, g.flag->name, g.value);
    if (!err.empty()) return fail(err);
  }
  if (options.help) return options;
  if (auto err = load_proxy_config(options, given)) return fail(err->message);
  proxy::DnsConfig dns_check = options.proxy.dns;  // the daemon appends the entries itself
  if (auto err = append_dns_hosts_file(dns_check)) return fail(*err);
  if (options.check_config) return options;

  if (options.transport == TransportKind::none) {
    return fail("no transport: give one of --qemu-listen, --qemu-connect, --vmnet-listen, --vfkit-listen, --tap");
  }
  if (!options.netns_path.empty() && options.transport != TransportKind::tap) {
    return fail("--netns only applies to --tap");
  }
  return options;
}

std::string origin_of_key(const DaemonOptions& options, std::string_view key_path, std::optional<std::size_t> index) {
  const auto& flagged = options.keys_from_flags;
  if (std::find(flagged.begin(), flagged.end(), key_path) != flagged.end()) {
    if (const proxy::ProxyKey* key = proxy::find_proxy_key(key_path)) return "--" + key->flag;
  }
  std::string path = "$." + std::string(key_path);
  if (index) path += "[" + std::to_string(*index) + "]";
  return (options.config_path.empty() ? std::string("configuration") : options.config_path) + ": " + path;
}

std::string effective_config_json(const DaemonOptions& options) {
  return proxy::proxy_config_to_json(options.proxy).dump(2) + "\n";
}

}  // namespace tapwire::daemon
