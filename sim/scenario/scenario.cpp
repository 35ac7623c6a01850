#include "sim/scenario/scenario.h"

#include <cmath>

#include <nlohmann/json.hpp>

namespace tapwire::sim {

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto ip = wire::Ipv4Addr::parse(text.substr(0, colon));
  std::string_view digits = text.substr(colon + 1);
  if (!ip || digits.empty() || digits.size() > 5) return std::nullopt;
  unsigned port = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  // No leading zeros: the schema's pattern spells ports canonically.
  if (port == 0 || port > 65535 || digits.front() == '0') return std::nullopt;
  return Endpoint{*ip, static_cast<std::uint16_t>(port)};
}

std::string Endpoint::to_string() const { return ip.to_string() + ":" + std::to_string(port); }

void LinkChange::apply(LinkParams& to_guest, LinkParams& to_proxy) const {
  for (const LinkSetting& s : settings) {
    if (!s.dir || *s.dir == Direction::to_guest) (void)apply_link_setting(to_guest, s.key, s.value);
    if (!s.dir || *s.dir == Direction::to_proxy) (void)apply_link_setting(to_proxy, s.key, s.value);
  }
}

std::string_view to_string(ThenStep t) {
  switch (t) {
    case ThenStep::none: return "none";
    case ThenStep::half_close: return "half_close";
    case ThenStep::close: return "close";
    case ThenStep::reset: return "reset";
  }
  return "?";
}

bool Comparison::holds(double value) const {
  for (const auto& [op, bound] : terms) {
    bool ok = false;
    switch (op) {
      case CompareOp::eq: ok = value == bound; break;
      case CompareOp::ne: ok = value != bound; break;
      case CompareOp::lt: ok = value < bound; break;
      case CompareOp::le: ok = value <= bound; break;
      case CompareOp::gt: ok = value > bound; break;
      case CompareOp::ge: ok = value >= bound; break;
    }
    if (!ok) return false;
  }
  return true;
}

std::string Comparison::to_string() const {
  static constexpr std::string_view kOps[] = {"==", "!=", "<", "<=", ">", ">="};
  std::string out;
  for (const auto& [op, bound] : terms) {
    if (!out.empty()) out += " and ";
    out += kOps[static_cast<std::size_t>(op)];
    out += ' ';
    if (bound == std::floor(bound) && std::fabs(bound) < 1e15) {
      out += std::to_string(static_cast<std::int64_t>(bound));
    } else {
      out += nlohmann::json(bound).dump();
    }
  }
  return out;
}

}  // namespace tapwire::sim
