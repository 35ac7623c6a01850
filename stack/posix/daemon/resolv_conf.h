// The daemon's default DNS upstreams: the `nameserver` lines of /etc/resolv.conf
// (resolv.conf(5)), read at start when dns.mode is forward and no upstream was
// configured, and read again whenever the file changes.
//
// Theory of operation
// - parse_resolv_conf() is pure: every "nameserver ADDR" line, in file order, becomes
//   one upstream group of one server on port 53, so the servers are tried one after the
//   other as the host's own resolver does. IPv6 addresses (the guest has no IPv6 yet)
//   and unreadable addresses are skipped, each with a note naming its line. A server on
//   the host itself (127.0.0.53, the systemd-resolved stub, or 127.0.0.1) is kept: the
//   proxy's host sockets reach the host's loopback.
// - ResolvConfWatcher remembers the file's FileStamp (device, inode, size, mtime) at
//   each read; changed() compares it with the file's stamp now, so the daemon can poll
//   it every couple of seconds on its timer without reading the file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "stack/posix/file_stamp.h"
#include "stack/proxy/config.h"

namespace tapwire::daemon {

inline constexpr const char* kResolvConfPath = "/etc/resolv.conf";

struct ResolvConfServers {
  std::vector<proxy::DnsUpstreamGroup> groups;  // one group per IPv4 nameserver, in order
  std::vector<std::string> notes;               // "line 3: IPv6 nameserver ::1 skipped", ...
};

ResolvConfServers parse_resolv_conf(std::string_view text);

// "1.1.1.1, 8.8.8.8:5353" ("(none)" when empty), for log lines.
std::string upstreams_text(const std::vector<proxy::DnsUpstreamGroup>& groups);

class ResolvConfWatcher {
 public:
  explicit ResolvConfWatcher(std::string path = kResolvConfPath) : path_(std::move(path)) {}

  // Reads and parses the file now. A missing or unreadable file gives no servers and a
  // note saying why.
  ResolvConfServers read();
  // True when the file's stamp differs from the one at the last read().
  bool changed() const { return posix::stamp_of(path_) != stamp_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  posix::FileStamp stamp_;
};

}  // namespace tapwire::daemon
