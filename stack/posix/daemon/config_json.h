// ProxyConfig -> JSON with the keys of the JSON binding (stack/proxy/config.h), so what
// `tapwire ctl diagnostics` shows, and the defaults `tapwire --help` prints, read the
// same way as a config file: proxy_config_from_json(config_to_json(c)) == c.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "stack/proxy/config.h"

namespace tapwire::daemon {

nlohmann::json config_to_json(const proxy::ProxyConfig& config);

// The value of a dotted key ("dhcp.lease_time") as command-line text: lists joined with
// commas, strings bare. "" for an empty list, nullopt-like "?" for an unknown key.
std::string config_key_text(const nlohmann::json& config_json, std::string_view key_path);

}  // namespace tapwire::daemon
