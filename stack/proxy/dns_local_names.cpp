#include "stack/proxy/dns_local_names.h"

namespace tapwire::proxy {
namespace {

std::vector<std::string_view> fields(std::string_view line) {
  if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

Result<HostsEntry, std::string> parse_hosts_line(std::string_view line) {
  std::vector<std::string_view> f = fields(line);
  if (f.size() < 2) return std::string("expected \"IP NAME [NAME...]\", got \"") + std::string(line) + "\"";
  HostsEntry entry;
  auto ip = wire::Ipv4Addr::parse(f[0]);
  if (!ip) return "\"" + std::string(f[0]) + "\" is not an IPv4 address";
  entry.ip = *ip;
  for (std::size_t i = 1; i < f.size(); ++i) {
    auto name = wire::DnsName::parse_text(f[i]);
    if (!name || name->is_root()) return "\"" + std::string(f[i]) + "\" is not a domain name";
    entry.names.push_back(*name);
  }
  return entry;
}

Result<std::vector<std::string>, std::string> read_hosts_text(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    std::vector<std::string_view> f = fields(line);
    if (f.empty()) continue;
    if (f[0].find(':') != std::string_view::npos) continue;  // IPv6: not served yet
    auto entry = parse_hosts_line(line);
    if (!entry.ok()) return "line " + std::to_string(number) + ": " + entry.error();
    std::string joined;
    for (std::string_view part : f) joined += (joined.empty() ? "" : " ") + std::string(part);
    lines.push_back(std::move(joined));
  }
  return lines;
}

LocalNames::LocalNames(const DnsConfig& config, wire::Ipv4Addr gateway, wire::Ipv4Addr host_alias)
    : gateway_(gateway), host_alias_(host_alias), ttl_(config.local_ttl) {
  auto add_builtin = [this](const std::vector<std::string>& names, Source source) {
    for (const std::string& text : names)
      if (auto name = wire::DnsName::parse_text(text)) names_.try_emplace(*name, Entry{source, {}});
  };
  add_builtin(config.gateway_names, Source::gateway);
  add_builtin(config.host_names, Source::host);
  add_builtin(config.vm_names, Source::vm);
  for (const std::string& line : config.hosts) {
    auto entry = parse_hosts_line(line);  // validate() has rejected bad lines
    if (!entry.ok()) continue;
    for (const wire::DnsName& name : entry->names) {
      Entry& e = names_.try_emplace(name, Entry{Source::hosts, {}}).first->second;
      if (e.source == Source::hosts) e.addrs.push_back(entry->ip);  // a built-in name wins
    }
  }
}

std::optional<std::vector<wire::DnsRecord>> LocalNames::lookup(const wire::DnsQuestion& question,
                                                               wire::Ipv4Addr client) const {
  auto it = names_.find(question.name);
  if (it == names_.end()) return std::nullopt;
  std::vector<wire::DnsRecord> out;
  const bool wants_a = question.qclass == wire::dns_class::IN &&
                       (question.qtype == wire::dns_type::A || question.qtype == wire::dns_type::ANY);
  if (!wants_a) return out;
  auto add = [&](wire::Ipv4Addr a) { out.push_back(wire::DnsRecord::a(question.name, ttl_, a)); };
  switch (it->second.source) {
    case Source::gateway: add(gateway_); break;
    case Source::host: add(host_alias_); break;
    case Source::vm: add(client); break;
    case Source::hosts:
      for (wire::Ipv4Addr a : it->second.addrs) add(a);
      break;
  }
  return out;
}

}  // namespace tapwire::proxy
