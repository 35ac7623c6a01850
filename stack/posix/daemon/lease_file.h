// The daemon's DHCP lease file (`dhcp.lease_file`, --dhcp-lease-file): the lease table
// of the proxy's DHCP server kept across restarts, so a MAC keeps its address.
//
// Format (JSON, written by us, read back by us):
//   {"version": 1, "leases": [{"mac": "02:50:00:00:00:42", "ip": "192.168.65.3",
//                              "client_id": "01025000000042", "state": "bound"}]}
// Writing replaces the file atomically: the table goes to "FILE.tmp" in the same folder,
// is flushed to disk, then renamed over FILE, so a crash leaves the old or the new table,
// never half of one. A missing file is an empty table; a file that cannot be read or
// parsed is a warning (naming the file and JSON path) and an empty table, never a crash.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "stack/config/config_error.h"
#include "stack/proxy/dhcp_leases.h"

namespace tapwire::daemon {

struct LeaseFileContents {
  std::vector<proxy::DhcpLeaseSnapshot> leases;
  std::optional<std::string> warning;  // set when the file existed but was unusable
};

LeaseFileContents load_lease_file(const std::string& path);

// Nullopt on success, else what went wrong ("FILE: cannot rename ...: reason").
std::optional<std::string> write_lease_file(const std::string& path,
                                            const std::vector<proxy::DhcpLeaseSnapshot>& leases);

// The file's text for `leases`, and the leases of a text (errors name `origin`).
std::string lease_file_text(const std::vector<proxy::DhcpLeaseSnapshot>& leases);
config::ConfigResult<std::vector<proxy::DhcpLeaseSnapshot>> parse_lease_file(const std::string& text,
                                                                             const std::string& origin);

}  // namespace tapwire::daemon
