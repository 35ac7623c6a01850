#include "sim/link/link_rule.h"

#include <cmath>

#include "stack/wire/ethernet.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"

namespace tapwire::sim {
namespace {

std::string problem(std::string_view key, const std::string& what) {
  return "rule key '" + std::string(key) + "': " + what;
}

std::optional<std::string> whole_number(std::string_view key, const LinkValue& value, std::int64_t lo,
                                        std::int64_t hi, std::int64_t& out) {
  std::int64_t n;
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    n = *i;
  } else if (const auto* d = std::get_if<double>(&value); d && std::isfinite(*d) && *d == std::floor(*d) &&
                                                          std::fabs(*d) < 9e15) {
    n = static_cast<std::int64_t>(*d);
  } else {
    return problem(key, "expects a whole number (got " + describe(value) + ")");
  }
  if (n < lo || n > hi) {
    return problem(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "] (got " +
                            describe(value) + ")");
  }
  out = n;
  return std::nullopt;
}

const std::string* text_of(const LinkValue& value) { return std::get_if<std::string>(&value); }

}  // namespace

std::optional<TcpFlagsMatch> TcpFlagsMatch::parse(std::string_view text) {
  TcpFlagsMatch m;
  if (!text.empty() && text.front() == '=') {
    m.exact = true;
    text.remove_prefix(1);
  } else if (text.empty()) {
    return std::nullopt;  // "" would match everything: almost surely a mistake
  }
  for (char c : text) {
    std::uint8_t bit;
    switch (c) {
      case 'F': bit = wire::tcp_flags::FIN; break;
      case 'S': bit = wire::tcp_flags::SYN; break;
      case 'R': bit = wire::tcp_flags::RST; break;
      case 'P': bit = wire::tcp_flags::PSH; break;
      case 'A': bit = wire::tcp_flags::ACK; break;
      case 'U': bit = wire::tcp_flags::URG; break;
      case 'E': bit = wire::tcp_flags::ECE; break;
      case 'C': bit = wire::tcp_flags::CWR; break;
      default: return std::nullopt;
    }
    if (m.flags & bit) return std::nullopt;  // a letter twice
    m.flags |= bit;
  }
  return m;
}

bool FrameMatch::matches(Direction d, const FrameInfo& info) const {
  if (dir && *dir != d) return false;
  if (min_len && info.len < *min_len) return false;
  if (proto) {
    switch (*proto) {
      case MatchProto::arp:
        if (!info.ethernet || info.ethertype != wire::kEthertypeArp) return false;
        break;
      case MatchProto::ipv4:
        if (!info.is_ipv4()) return false;
        break;
      case MatchProto::tcp:
        if (!info.is_ip_proto(wire::ip_proto::tcp)) return false;
        break;
      case MatchProto::udp:
        if (!info.is_ip_proto(wire::ip_proto::udp)) return false;
        break;
      case MatchProto::icmp:
        if (!info.is_ip_proto(wire::ip_proto::icmp)) return false;
        break;
    }
  }
  if (flags && (!info.tcp || !flags->matches(info.tcp_flags))) return false;
  if (src && (!info.is_ipv4() || info.src != *src)) return false;
  if (dst && (!info.is_ipv4() || info.dst != *dst)) return false;
  if (sport && (!info.has_ports || info.sport != *sport)) return false;
  if (dport && (!info.has_ports || info.dport != *dport)) return false;
  return true;
}

std::optional<std::string> FrameMatch::set(std::string_view key, const LinkValue& value) {
  const std::string* text = text_of(value);
  if (key == "dir") {
    std::optional<Direction> d = text ? parse_direction(*text) : std::nullopt;
    if (!d) return problem(key, "expects \"to_guest\" or \"to_proxy\" (got " + describe(value) + ")");
    dir = d;
  } else if (key == "proto") {
    static constexpr std::pair<std::string_view, MatchProto> kProtos[] = {
        {"tcp", MatchProto::tcp}, {"udp", MatchProto::udp}, {"icmp", MatchProto::icmp},
        {"arp", MatchProto::arp}, {"ipv4", MatchProto::ipv4}};
    for (const auto& [name, p] : kProtos) {
      if (text && *text == name) {
        proto = p;
        return std::nullopt;
      }
    }
    return problem(key, "expects one of tcp, udp, icmp, arp, ipv4 (got " + describe(value) + ")");
  } else if (key == "flags") {
    std::optional<TcpFlagsMatch> f = text ? TcpFlagsMatch::parse(*text) : std::nullopt;
    if (!f) {
      return problem(key, "expects TCP flag letters from FSRPAUEC, optionally after '=' for an exact match (got " +
                              describe(value) + ")");
    }
    flags = f;
  } else if (key == "src" || key == "dst") {
    std::optional<wire::Ipv4Addr> a = text ? wire::Ipv4Addr::parse(*text) : std::nullopt;
    if (!a) return problem(key, "expects an IPv4 address like \"10.0.2.15\" (got " + describe(value) + ")");
    (key == "src" ? src : dst) = a;
  } else if (key == "sport" || key == "dport") {
    std::int64_t port = 0;
    if (auto err = whole_number(key, value, 0, 65535, port)) return err;
    (key == "sport" ? sport : dport) = static_cast<std::uint16_t>(port);
  } else if (key == "min_len") {
    std::int64_t n = 0;
    if (auto err = whole_number(key, value, 0, 1 << 20, n)) return err;
    min_len = static_cast<std::size_t>(n);
  } else {
    return "unknown match key '" + std::string(key) + "' (known: dir, proto, flags, src, dst, sport, dport, min_len)";
  }
  return std::nullopt;
}

std::optional<std::string> LinkRule::set(std::string_view key, const LinkValue& value) {
  const std::string* text = text_of(value);
  if (key == "action") {
    if (text && *text == "drop") action = RuleAction::drop;
    else if (text && *text == "delay") action = RuleAction::delay;
    else return problem(key, "expects \"drop\" or \"delay\" (got " + describe(value) + ")");
  } else if (key == "delay") {
    std::optional<Duration> d = text ? parse_duration(*text) : std::nullopt;
    if (!d || *d < Duration::zero()) {
      return problem(key, "expects a non-negative duration like \"200ms\" (got " + describe(value) + ")");
    }
    delay = *d;
    action = RuleAction::delay;
  } else if (key == "nth") {
    std::int64_t n = 0;
    if (auto err = whole_number(key, value, 1, INT64_MAX, n)) return err;
    nth = static_cast<std::uint64_t>(n);
  } else if (key == "every") {
    if (text && (*text == "true" || *text == "false")) {
      every = *text == "true";
    } else {
      std::int64_t n = 0;
      if (auto err = whole_number(key, value, 0, 1, n)) return problem(key, "expects true/false or 0/1 (got " + describe(value) + ")");
      every = n == 1;
    }
  } else {
    std::optional<std::string> err = match.set(key, value);
    if (err && err->rfind("unknown match key", 0) == 0) {
      return "unknown rule key '" + std::string(key) +
             "' (known: action, delay, nth, every, dir, proto, flags, src, dst, sport, dport, min_len)";
    }
    return err;
  }
  return std::nullopt;
}

}  // namespace tapwire::sim
