// DHCPv4 messages: the BOOTP header (RFC 2131 §2, Figure 1) and the options of
// RFC 2132 that Tapwire's DHCP server and simulated guest use. DHCP is rare (a few
// messages per VM lifetime), so the Repr uses std::vector/std::string freely.
//
// Options (RFC 2132 numbers): 1 subnet mask, 3 routers, 6 DNS servers, 12 host name,
// 15 domain name, 26 interface MTU, 28 broadcast address, 50 requested IP, 51 lease
// time, 53 message type, 54 server identifier, 55 parameter request list, 61 client
// identifier, 119 domain search (RFC 3397, kept raw; see encode_/decode_domain_search).
// Any other option is kept as (code, data) and re-emitted in received order.
//
// Parsing: every instance of the same code is concatenated before interpretation
// (RFC 3396 §7), so long options split by the sender read as one. PAD (0) is skipped;
// END (255) is required and everything after it is padding. Option overload (52: options
// in sname/file) is not interpreted: sname and file are kept raw and 52 is "unknown".
//
// Emitting: canonical order, message type first, then the other known options by
// ascending code, then unknown options in received order, then END and `padding` zero
// bytes. Option data longer than 255 bytes is split into consecutive instances of the
// same code (RFC 3396 §7). Known bytes re-encode byte-identically when their options
// appear in that order.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/wire/addr.h"

namespace tapwire::wire {

inline constexpr std::uint16_t kDhcpServerPort = 67;
inline constexpr std::uint16_t kDhcpClientPort = 68;
inline constexpr std::size_t kBootpFixedLen = 236;       // op .. file (RFC 2131 §2)
inline constexpr std::size_t kDhcpMinLen = 240;          // fixed part + magic cookie
inline constexpr std::uint32_t kDhcpMagicCookie = 0x63825363;  // 99.130.83.99 (RFC 2131 §3)
inline constexpr std::size_t kBootpMinMessageLen = 300;  // RFC 1542 §3.1.1 minimum BOOTP message
inline constexpr std::uint16_t kDhcpBroadcastFlag = 0x8000;  // RFC 2131 §2 flags field

enum class DhcpOp : std::uint8_t { request = 1, reply = 2 };

// RFC 2132 §9.6. Values outside 1..8 (later RFCs define more) are kept as they are.
enum class DhcpMessageType : std::uint8_t {
  discover = 1,
  offer = 2,
  request = 3,
  decline = 4,
  ack = 5,
  nak = 6,
  release = 7,
  inform = 8,
};

namespace dhcp_option {
inline constexpr std::uint8_t pad = 0;
inline constexpr std::uint8_t subnet_mask = 1;
inline constexpr std::uint8_t routers = 3;
inline constexpr std::uint8_t dns_servers = 6;
inline constexpr std::uint8_t host_name = 12;
inline constexpr std::uint8_t domain_name = 15;
inline constexpr std::uint8_t interface_mtu = 26;
inline constexpr std::uint8_t broadcast_address = 28;
inline constexpr std::uint8_t requested_ip = 50;
inline constexpr std::uint8_t lease_time = 51;
inline constexpr std::uint8_t message_type = 53;
inline constexpr std::uint8_t server_id = 54;
inline constexpr std::uint8_t parameter_request_list = 55;
inline constexpr std::uint8_t client_id = 61;
inline constexpr std::uint8_t domain_search = 119;
inline constexpr std::uint8_t end = 255;
// Whether parse() interprets `code` itself (so it never lands in `unknown`).
bool is_known(std::uint8_t code);
}  // namespace dhcp_option

// An option parse() does not interpret: code and (concatenated) data.
struct DhcpRawOption {
  std::uint8_t code = 0;
  std::vector<std::uint8_t> data;
  bool operator==(const DhcpRawOption&) const = default;
};

struct DhcpOptions {
  std::optional<DhcpMessageType> message_type;           // 53
  std::optional<Ipv4Addr> subnet_mask;                   // 1
  std::vector<Ipv4Addr> routers;                         // 3 (empty = absent)
  std::vector<Ipv4Addr> dns_servers;                     // 6 (empty = absent)
  std::optional<std::string> host_name;                  // 12, bytes as sent
  std::optional<std::string> domain_name;                // 15, bytes as sent
  std::optional<std::uint16_t> interface_mtu;            // 26
  std::optional<Ipv4Addr> broadcast_address;             // 28
  std::optional<Ipv4Addr> requested_ip;                  // 50
  std::optional<std::uint32_t> lease_time;               // 51, seconds (0xffffffff = infinite)
  std::optional<Ipv4Addr> server_id;                     // 54
  std::optional<std::vector<std::uint8_t>> parameter_request_list;  // 55
  std::optional<std::vector<std::uint8_t>> client_id;    // 61: type byte + identifier
  std::optional<std::vector<std::uint8_t>> domain_search;  // 119, raw RFC 3397 data
  // Codes must not be 0, 255 or a known code (see dhcp_option::is_known).
  std::vector<DhcpRawOption> unknown;

  bool operator==(const DhcpOptions&) const = default;
};

// Checked view over a UDP payload holding a BOOTP/DHCP message.
class DhcpPacket {
 public:
  // Validates: at least 240 bytes (truncated), the magic cookie (bad_version),
  // hlen <= 16 (bad_length).
  static Result<DhcpPacket> check(Bytes bytes);

  std::uint8_t op() const { return bytes_[0]; }
  std::uint8_t htype() const { return bytes_[1]; }
  std::uint8_t hlen() const { return bytes_[2]; }
  std::uint8_t hops() const { return bytes_[3]; }
  std::uint32_t xid() const { return load_be32(bytes_.data() + 4); }
  std::uint16_t secs() const { return load_be16(bytes_.data() + 8); }
  std::uint16_t flags() const { return load_be16(bytes_.data() + 10); }
  Ipv4Addr ciaddr() const { return Ipv4Addr::from_bytes(bytes_.data() + 12); }
  Ipv4Addr yiaddr() const { return Ipv4Addr::from_bytes(bytes_.data() + 16); }
  Ipv4Addr siaddr() const { return Ipv4Addr::from_bytes(bytes_.data() + 20); }
  Ipv4Addr giaddr() const { return Ipv4Addr::from_bytes(bytes_.data() + 24); }
  Bytes chaddr() const { return bytes_.subspan(28, 16); }
  Bytes sname() const { return bytes_.subspan(44, 64); }
  Bytes file() const { return bytes_.subspan(108, 128); }
  Bytes options() const { return bytes_.subspan(kDhcpMinLen); }
  Bytes bytes() const { return bytes_; }

 private:
  explicit DhcpPacket(Bytes b) : bytes_(b) {}
  Bytes bytes_;
};

struct DhcpRepr {
  DhcpOp op = DhcpOp::request;
  std::uint8_t htype = 1;  // Ethernet (RFC 1700 hardware type)
  std::uint8_t hlen = 6;
  std::uint8_t hops = 0;
  std::uint32_t xid = 0;
  std::uint16_t secs = 0;
  std::uint16_t flags = 0;  // only kDhcpBroadcastFlag is defined; other bits kept
  Ipv4Addr ciaddr, yiaddr, siaddr, giaddr;
  std::array<std::uint8_t, 16> chaddr{};
  std::array<std::uint8_t, 64> sname{};   // raw, usually zero
  std::array<std::uint8_t, 128> file{};   // raw, usually zero
  DhcpOptions options;
  std::size_t padding = 0;  // zero bytes after END (parse: however many followed END)

  bool broadcast() const { return (flags & kDhcpBroadcastFlag) != 0; }
  MacAddr client_mac() const { return MacAddr::from_bytes(chaddr.data()); }
  void set_client_mac(MacAddr mac);  // also sets htype 1, hlen 6, zeroes the rest of chaddr
  // Grows `padding` so the message is at least 300 bytes (RFC 1542 §3.1.1).
  void pad_to_bootp_minimum();

  // Errors: op not 1 or 2 (malformed); an option running past the end or no END
  // option (truncated); a known option with an impossible length (malformed).
  static Result<DhcpRepr> parse(const DhcpPacket& packet);
  std::size_t buffer_len() const;
  // Writes exactly buffer_len() bytes. Precondition: out.size() >= buffer_len().
  void emit(MutBytes out) const;
  std::vector<std::uint8_t> to_bytes() const;

  bool operator==(const DhcpRepr&) const = default;
};

// RFC 3397 domain search list: names in DNS wire format. Encoding never compresses.
// Names are dotted text ("corp.example.com", a trailing '.' is accepted); each label is
// 1..63 bytes with no '.' in it, each encoded name at most 255 bytes; "" and "." are
// rejected (the root is not a search domain). Errors are Errc::invalid_argument.
Result<std::vector<std::uint8_t>> encode_domain_search(const std::vector<std::string>& names);
// Decoding accepts compression pointers as RFC 3397 §2 allows, only pointing strictly
// backwards within the option data (bounded hops). Errors are Errc::malformed.
Result<std::vector<std::string>> decode_domain_search(Bytes data);

// What a DHCP server hands out; the input of make_dhcp_reply.
struct DhcpLease {
  Ipv4Addr client_ip;
  Ipv4Addr server_ip;      // option 54 (and the reply's source address)
  Ipv4Addr subnet_mask;
  std::vector<Ipv4Addr> routers;
  std::vector<Ipv4Addr> dns_servers;
  std::optional<std::string> domain_name;
  std::vector<std::string> domain_search;
  std::uint32_t lease_seconds = 7200;
  std::optional<std::uint16_t> mtu;
};

// A server reply (OFFER, ACK or NAK) to `request` (RFC 2131 §4.3.1-§4.3.5, Table 3):
// xid, flags, giaddr and chaddr copied; yiaddr = lease.client_ip for OFFER/ACK (0 for a
// NAK, and for the ACK to an INFORM, which also carries no lease time); options 53, 54,
// then 51, 1, 28 (computed), 3, 6, 15, 26, 119 as available. Padded to 300 bytes.
// Errors: invalid_argument when the search list cannot be encoded.
Result<DhcpRepr> make_dhcp_reply(const DhcpRepr& request, DhcpMessageType type, const DhcpLease& lease);

// Client messages (RFC 2131 §4.4.1): DISCOVER, and REQUEST for an offered address.
// Both ask for options 1, 3, 6, 15, 26, 28, 119 and use client id 01 <mac>.
DhcpRepr make_dhcp_discover(MacAddr mac, std::uint32_t xid);
DhcpRepr make_dhcp_request(MacAddr mac, std::uint32_t xid, Ipv4Addr requested, Ipv4Addr server_id);

}  // namespace tapwire::wire
