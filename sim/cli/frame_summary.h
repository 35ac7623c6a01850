// One-line, direction-agnostic text summaries of Ethernet frames, for `tapwire-sim
// decode` and (later) replay diffs and reports:
//
//   02:50:00:00:00:03 > ff:ff:ff:ff:ff:ff ARP who-has 192.168.65.1 tell 192.168.65.3
//   02:50:00:00:00:03 > 02:50:00:00:00:01 IPv4 192.168.65.3:40000 > 93.184.216.34:80 TCP [S] seq=1000000 win=64240 mss=1460 ... len=0
//   02:50:00:00:00:03 > ff:ff:ff:ff:ff:ff IPv4 0.0.0.0:68 > 255.255.255.255:67 DHCP DISCOVER xid=0x3903f326 ...
//   ... IPv4 192.168.65.1:53 > 192.168.65.3:41234 DNS response id=0xbeef NOERROR A? www.example.com: CNAME example.com, A 93.184.216.34
//   ... IPv4 192.168.65.3:40000 > 93.184.216.34:80 TCP malformed (tcp: data offset below 5)
//
// Every layer is parsed with the wire library; a layer that fails to parse ends the
// line with "malformed (<reason>)". Checksums are not verified (captures taken with
// checksum offload have zeros or partial sums); a wrong one is not malformed here.
// The summary never includes the timestamp: callers prefix it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stack/base/bytes.h"

namespace tapwire::sim {

struct FrameSummary {
  std::string text;       // the line, without timestamp or newline
  std::string protocol;   // the innermost recognised protocol, for counting:
                          // ARP, DHCP, DNS, UDP, TCP, ICMP, IPv4-fragment, IPv4, other, malformed
  bool malformed = false;
};

FrameSummary summarize_frame(Bytes frame);

// "12.000345678": seconds with nanosecond digits, for line prefixes.
std::string format_timestamp(std::int64_t ns);

}  // namespace tapwire::sim
