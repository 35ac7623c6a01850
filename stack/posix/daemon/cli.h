// The `tapwire` daemon's command line: the flags, `--help` generated from them, and the
// merge of `--config FILE.json` (the keys of a scenario's `proxy` section) with the
// flags (a flag overrides the file).
//
// Theory of operation
// - The proxy's flags are the rows of the config key table (stack/proxy/config_json.h):
//   one flag per config key, read by the same reader as the JSON file, so a flag and a
//   key can never disagree and a new key is a new flag with no edit here. The daemon's
//   own options (transport, capture, control socket, logging) are the rows of
//   kOptionFlags (cli.cpp).
// - Parsing happens in two passes: the first collects every flag (so `--config` may come
//   anywhere), the second loads the config file and applies the proxy flags on top of
//   it. A list key's flag (`--allow-outbound`) is repeatable; its values replace the
//   file's list. `--check-config` stops there: no transport is needed.
// - Every error is one line (CliError::message) that names the flag, or the file and the
//   JSON path; the caller prints it and exits with code 2. So is a dns.hosts_file
//   (--dns-hosts) that cannot be read or has a bad line.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/result.h"
#include "stack/base/log.h"
#include "stack/base/time.h"
#include "stack/proxy/config.h"  // plain structs; the JSON binding stays in cli.cpp

namespace tapwire::daemon {

enum class TransportKind { none, qemu_listen, qemu_connect, vmnet_listen, vfkit_listen, tap };
std::string_view to_string(TransportKind kind);

struct DaemonOptions {
  proxy::ProxyConfig proxy;
  std::string config_path;  // "" when no --config
  // The proxy config keys a flag set ("port_forwards" for --forward): a start-up error
  // about one of them names the flag, else the file and JSON path (origin_of_key).
  std::vector<std::string> keys_from_flags;
  TransportKind transport = TransportKind::none;
  std::string transport_path;  // socket path, or the tap interface name
  std::string netns_path;      // --netns (tap only)
  std::string pcap_path;
  std::string control_path;
  LogLevel log_level = LogLevel::info;
  Duration stats_interval = Duration::seconds(60);  // 0s: never
  bool check_config = false;  // print the effective proxy config and exit
  bool help = false;
};

struct CliError {
  std::string message;  // one line, without the "tapwire: " prefix
};

// The options, or the one-line error: the project's one Result with CliError.
using CliResult = Result<DaemonOptions, CliError>;

// Parses argv[1..] of the daemon (not the `ctl` subcommand). On --help, options->help
// is set and nothing else is checked; on --check-config the configuration is loaded
// and checked but no transport is required.
CliResult parse_daemon_args(const std::vector<std::string_view>& args);

// The --help text: usage, every flag with its value name, meaning and default.
std::string help_text();

// Every flag's name (without "--"), in --help order.
std::vector<std::string> flag_names();

// Where a config key's value came from, for an error found after parsing (a port
// forward that cannot be bound): "--forward" when a flag set `key_path`, else
// "FILE.json: $.port_forwards[1]" (`index`: the list element, or none).
std::string origin_of_key(const DaemonOptions& options, std::string_view key_path,
                          std::optional<std::size_t> index = std::nullopt);

// What --check-config prints: the proxy configuration, every key, as indented JSON.
std::string effective_config_json(const DaemonOptions& options);

// Appends the entries of dns.hosts_file (hosts(5) text, stack/proxy/dns_local_names.h)
// to dns.hosts; nothing to do without a file. The error names the file and, for an
// entry it cannot read, the line. parse_daemon_args checks the file this way; the
// daemon appends the entries when it starts.
std::optional<std::string> append_dns_hosts_file(proxy::DnsConfig& dns);

// Reads a whole file; nullopt (and `error` set to strerror) when it cannot.
std::optional<std::string> read_text_file(const std::string& path, std::string& error);

}  // namespace tapwire::daemon
