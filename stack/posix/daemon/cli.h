// The `tapwire` daemon's command line: one table of flags, `--help` generated from it,
// and the merge of `--config FILE.json` (the keys of a scenario's `proxy` section) with
// the flags (a flag overrides the file).
//
// Theory of operation
// - Every flag is one row of kFlags (cli.cpp): its name, value name, help, and either the
//   proxy config key it sets (`--mtu` -> `mtu`, through proxy::set_proxy_key_from_text,
//   the same reader as the JSON binding, so a flag and a config key can never disagree)
//   or the daemon option it sets. Adding a flag (DNS, port forwards) is one row.
// - Parsing happens in two passes: the first collects every flag (so `--config` may come
//   anywhere), the second loads the config file and applies the proxy flags in command
//   line order on top of it. Repeatable list flags (`--allow-outbound`) accumulate.
// - Every error is one line (CliError::message) that names the flag, or the file and the
//   JSON path; the caller prints it and exits with code 2.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/log.h"
#include "stack/base/time.h"
#include "stack/proxy/config.h"

namespace tapwire::daemon {

enum class TransportKind { none, qemu_listen, qemu_connect, vmnet_listen, vfkit_listen, tap };
std::string_view to_string(TransportKind kind);

struct DaemonOptions {
  proxy::ProxyConfig proxy;
  std::string config_path;  // "" when no --config
  TransportKind transport = TransportKind::none;
  std::string transport_path;  // socket path, or the tap interface name
  std::string netns_path;      // --netns (tap only)
  std::string pcap_path;
  std::string control_path;
  LogLevel log_level = LogLevel::info;
  Duration stats_interval = Duration::seconds(60);  // 0s: never
  bool help = false;
};

struct CliError {
  std::string message;  // one line, without the "tapwire: " prefix
};

struct CliResult {
  std::optional<DaemonOptions> options;
  std::optional<CliError> error;
};

// Parses argv[1..] of the daemon (not the `ctl` subcommand). On --help, options->help
// is set and nothing else is checked.
CliResult parse_daemon_args(const std::vector<std::string_view>& args);

// The --help text: usage, every flag with its value name, meaning and default.
std::string help_text();

// Reads a whole file; nullopt (and `error` set to strerror) when it cannot.
std::optional<std::string> read_text_file(const std::string& path, std::string& error);

}  // namespace tapwire::daemon
