// ConfigError and ConfigResult: what loading configuration returns. No JSON library
// here, so code that only reports configuration errors need not include one.
// ConfigResult is stack/base/result.h's Result with ConfigError as its error type.
#pragma once

#include <string>

#include "stack/base/result.h"

namespace tapwire::config {

struct ConfigError {
  std::string file;       // file name, or an origin such as "<python>" or "--dhcp-lease-time"
  std::string json_path;  // "$.proxy.dhcp.lease_time"; "$" for the whole document
  std::string message;    // what was wrong, e.g. `expected a duration like "30s", got 5`

  // "scenarios/x.json: $.proxy.mtu: must be between 576 and 65520, got 70000"
  std::string to_string() const { return file + ": " + json_path + ": " + message; }
};

// Either a T or a ConfigError: the project's one Result with the config error type.
template <class T>
using ConfigResult = Result<T, ConfigError>;

}  // namespace tapwire::config
