// The names the DNS service answers itself, before any resolver is asked
// (docs/architecture.md §DNS): the built-in names and the hosts entries.
//
// - Built-in names (DnsConfig::gateway_names, host_names, vm_names): type A gets the
//   gateway, the host alias, or the address the query came from (the VM's lease).
// - Hosts entries ("IP NAME [NAME...]", hosts(5)): every address listed for a name, in
//   the order of the entries. Only IPv4 addresses: an IPv6 line in a hosts file is
//   skipped when the file is read (the guest has no IPv6 yet).
// - A local name asked for a type it lacks (AAAA, MX, ...) gets NOERROR with no answer
//   (NODATA, RFC 2308 §2.2), never NXDOMAIN: the name exists (vpnkit#509).
// - Matching folds ASCII case (RFC 4343); the answers' owner is the question's name as
//   the client wrote it, so a 0x20-randomised query sees its own letters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stack/base/result.h"
#include "stack/proxy/config.h"
#include "stack/wire/addr.h"
#include "stack/wire/dns.h"

namespace tapwire::proxy {

struct HostsEntry {
  wire::Ipv4Addr ip;
  std::vector<wire::DnsName> names;
};

// One "IP NAME [NAME...]" entry (a '#' starts a comment). The error says what is wrong.
Result<HostsEntry, std::string> parse_hosts_line(std::string_view line);

// The entries of a hosts(5) file's text as DnsConfig::hosts lines: blank and comment
// lines and IPv6 entries are skipped; an unreadable line is an error naming its number.
Result<std::vector<std::string>, std::string> read_hosts_text(std::string_view text);

class LocalNames {
 public:
  LocalNames(const DnsConfig& config, wire::Ipv4Addr gateway, wire::Ipv4Addr host_alias);

  // Nothing when `question` is not about a local name; otherwise the answer records
  // (empty: NODATA). `client` is the address the query came from.
  std::optional<std::vector<wire::DnsRecord>> lookup(const wire::DnsQuestion& question, wire::Ipv4Addr client) const;

 private:
  enum class Source : std::uint8_t { gateway, host, vm, hosts };
  struct Entry {
    Source source = Source::hosts;
    std::vector<wire::Ipv4Addr> addrs;  // hosts entries
  };
  std::unordered_map<wire::DnsName, Entry> names_;
  wire::Ipv4Addr gateway_;
  wire::Ipv4Addr host_alias_;
  std::uint32_t ttl_;
};

}  // namespace tapwire::proxy
