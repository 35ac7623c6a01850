// The JSON binding of ProxyConfig (stack/proxy/config.h), driven by one key table.
//
// Theory of operation
// - Every key of the proxy section is one row of the table (config_json.cpp): its
//   dotted path ("dhcp.lease_time"), its command-line flag, a value name for --help,
//   its help text and how to read and write its value. The row's type comes from the
//   ProxyConfig member it names, so reading a file, writing the effective config
//   (`tapwire --check-config`, `tapwire ctl diagnostics`), the daemon's flags and their
//   --help defaults all follow from the one row: a new key is one line.
// - Flags: a nested key joins its parts with dashes and underscores become dashes
//   (`dns.mode` -> --dns-mode, `connect_timeout` -> --connect-timeout). A list key has a
//   singular flag (`allow_outbound` -> --allow-outbound, `port_forwards` -> --forward):
//   repeatable, each occurrence (comma-separated values too) appends an element, and
//   together they replace the list of the config file. A flag value is read by the same
//   reader as JSON: "true"/"false" for booleans, decimal integers, "MAC=IP" for a
//   static lease, any other value as the JSON string it would be in a file.
// - Errors are config::ConfigError values naming the file (or the flag), the JSON path
//   and what was wrong, with "did you mean" for unknown keys (stack/config).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/config/json_reader.h"
#include "stack/proxy/config.h"

namespace tapwire::proxy {

using config::ConfigError;
using config::ConfigResult;
using config::JsonNode;
using config::JsonReader;

// One key of the proxy section.
struct ProxyKey {
  std::string_view path;     // "dhcp.lease_time"
  std::string flag;          // "dhcp-lease-time", without the leading dashes
  std::string_view metavar;  // the flag's value name in --help: "DURATION"
  std::string_view help;     // one line for --help
  bool list = false;         // a list key: its flag is repeatable and appends
  std::int64_t lo = 0;       // integer keys: the accepted range
  std::int64_t hi = 0;
  // Reads the key's value at `node` into `config` (leaves it unchanged on error).
  void (*read)(const ProxyKey& key, JsonReader& reader, const JsonNode& node, ProxyConfig& config) = nullptr;
  // The key's value in `config` as JSON, as a file would hold it.
  nlohmann::json (*write)(const ProxyConfig& config) = nullptr;
  // One flag value as the JSON the key reads (a list key: one element).
  nlohmann::json (*flag_value)(std::string_view text) = nullptr;
};

// Every key, in the order of --help and of the written JSON.
std::span<const ProxyKey> proxy_keys();
const ProxyKey* find_proxy_key(std::string_view path);
// By flag name, with or without the leading "--".
const ProxyKey* find_proxy_flag(std::string_view flag);

// Reads the keys present in `node` (an object) into `config`, leaving absent keys as
// they are. Does not run validate(); callers that finish a config call it (below).
void read_proxy_config(JsonReader& reader, const JsonNode& node, ProxyConfig& config);

// Reads a whole proxy section (the daemon's --config file holds one at its root) from
// defaults, then validates it. Errors name `origin` and a path under `node_path`.
ConfigResult<ProxyConfig> proxy_config_from_json(const nlohmann::json& value, const std::string& origin,
                                                 const std::string& node_path = "$");
ConfigResult<ProxyConfig> proxy_config_from_text(std::string_view json_text, const std::string& origin);

// ProxyConfig -> JSON with every key: proxy_config_from_json(proxy_config_to_json(c)) == c
// for every valid c.
nlohmann::json proxy_config_to_json(const ProxyConfig& config);

// The JSON path of a key or of a validate() problem, given where the proxy section
// sits: ("$.proxy", "dhcp.static[1].ip") -> "$.proxy.dhcp.static[1].ip".
std::string key_json_path(const std::string& section_path, std::string_view key);
std::string key_problem_path(const std::string& section_path, const KeyProblem& problem);

// Applies a key's flag: `values` are its occurrences in command-line order (a scalar
// key uses the last). Does not validate the whole config; the caller does once every
// flag is applied. The error's file is the flag ("--dhcp-lease-time"), its path the
// key's JSON path.
std::optional<ConfigError> set_proxy_key_from_flag(ProxyConfig& config, const ProxyKey& key,
                                                   const std::vector<std::string>& values);

// A key's value as command-line text, for --help: lists joined with commas, strings
// bare, a static lease as MAC=IP; "" for an empty list or string.
std::string proxy_key_text(const ProxyConfig& config, const ProxyKey& key);

}  // namespace tapwire::proxy
