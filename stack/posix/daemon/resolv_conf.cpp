#include "stack/posix/daemon/resolv_conf.h"

#include <sstream>

#include "stack/posix/daemon/cli.h"

namespace tapwire::daemon {

ResolvConfServers parse_resolv_conf(std::string_view text) {
  ResolvConfServers out;
  std::istringstream lines{std::string(text)};
  std::string line;
  for (std::size_t number = 1; std::getline(lines, line); ++number) {
    // resolv.conf(5): "keyword value..."; '#' or ';' starts a comment line; keywords
    // other than nameserver (search, options, ...) are the host resolver's business.
    std::istringstream in{line};
    std::string keyword, addr;
    in >> keyword >> addr;
    if (keyword != "nameserver") continue;
    const std::string where = "line " + std::to_string(number) + ": ";
    if (addr.empty()) {
      out.notes.push_back(where + "nameserver without an address skipped");
      continue;
    }
    if (addr.find(':') != std::string::npos) {
      out.notes.push_back(where + "IPv6 nameserver " + addr + " skipped (the DNS service forwards over IPv4 only)");
      continue;
    }
    auto ip = wire::Ipv4Addr::parse(addr);
    if (!ip || ip->is_unspecified()) {
      out.notes.push_back(where + "nameserver \"" + addr + "\" is not an IPv4 address; skipped");
      continue;
    }
    out.groups.push_back(proxy::DnsUpstreamGroup{{proxy::DnsUpstream{*ip, 53}}});
  }
  return out;
}

std::string upstreams_text(const std::vector<proxy::DnsUpstreamGroup>& groups) {
  if (groups.empty()) return "(none)";
  std::string out;
  for (const proxy::DnsUpstreamGroup& g : groups) out += (out.empty() ? "" : ", ") + g.to_string();
  return out;
}

ResolvConfServers ResolvConfWatcher::read() {
  stamp_ = posix::stamp_of(path_);
  std::string error;
  auto text = read_text_file(path_, error);
  if (!text) {
    ResolvConfServers none;
    none.notes.push_back("cannot read: " + error);
    return none;
  }
  return parse_resolv_conf(*text);
}

}  // namespace tapwire::daemon
