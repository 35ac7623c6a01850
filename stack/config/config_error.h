// ConfigError and ConfigResult: what loading configuration returns. No JSON library
// here, so code that only reports configuration errors need not include one.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace tapwire::config {

struct ConfigError {
  std::string file;       // file name, or an origin such as "<python>" or "--dhcp-lease-time"
  std::string json_path;  // "$.proxy.dhcp.lease_time"; "$" for the whole document
  std::string message;    // what was wrong, e.g. `expected a duration like "30s", got 5`

  // "scenarios/x.json: $.proxy.mtu: must be between 576 and 65520, got 70000"
  std::string to_string() const { return file + ": " + json_path + ": " + message; }
};

// Either a T or a ConfigError.
template <class T>
class [[nodiscard]] ConfigResult {
 public:
  ConfigResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  ConfigResult(ConfigError error) : v_(std::in_place_index<1>, std::move(error)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const ConfigError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ConfigError> v_;
};

}  // namespace tapwire::config
