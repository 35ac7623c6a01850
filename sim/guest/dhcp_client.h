// DhcpClient: the simulated VM's DHCP client (RFC 2131 §4.4), as a pure state machine.
//
// Theory of operation
//   idle --start()--> selecting: DISCOVER (fresh xid from the Rng) is due now.
//   selecting --OFFER (our xid and MAC)--> requesting: REQUEST for the offered address
//     with the offer's server identifier (RFC 2131 §4.4.1, SELECTING), due now.
//   requesting --ACK--> bound: the Lease is filled in; --NAK--> selecting (new xid).
//   A message that got no answer is retransmitted: the first retransmission 1 s after
//   the first send, each later gap twice the previous one, capped at 8 s (our choice;
//   RFC 2131 §4.1 suggests 4 s doubling to 64 s with jitter, which is too slow for
//   scenarios and would spend Rng draws). After kMaxRequests REQUESTs without an
//   answer the client starts over with a DISCOVER (RFC 2131 §4.4.1, "the client ...
//   restarts the configuration process"), keeping the current gap.
// The owner asks message_due(now) for the message to send; it reports message_sent()
// only after the link took it (a full link simply leaves it due). poll_at() is the
// next (re)transmission. Replies are matched on xid and chaddr; others are ignored.
// Lease renewal (RENEWING/REBINDING) is not implemented: a bound client stays bound.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack/base/rng.h"
#include "stack/base/time.h"
#include "stack/wire/addr.h"
#include "stack/wire/dhcp.h"

namespace tapwire::sim {

// What the DHCP exchange gave the VM.
struct Lease {
  std::optional<wire::Ipv4Addr> ip;  // nullopt until bound
  std::optional<wire::Ipv4Cidr> subnet;
  std::optional<wire::Ipv4Addr> gateway;
  std::vector<wire::Ipv4Addr> dns;
  std::optional<std::uint16_t> mtu;  // option 26 as offered (adopted or not)
  std::optional<wire::Ipv4Addr> server;
  std::optional<std::string> domain;
  std::uint32_t lease_seconds = 0;
  Instant bound_at;
  bool done = false;
};

struct DhcpClientStats {
  std::uint64_t discovers_sent = 0;
  std::uint64_t requests_sent = 0;
  std::uint64_t offers = 0;
  std::uint64_t acks = 0;
  std::uint64_t naks = 0;
  std::uint64_t ignored = 0;  // replies with another xid/MAC, or unexpected now
};

class DhcpClient {
 public:
  enum class Phase : std::uint8_t { idle, selecting, requesting, bound };
  static constexpr std::uint32_t kMaxRequests = 4;

  DhcpClient(wire::MacAddr mac, Rng& rng, Duration initial_timeout, Duration max_timeout);

  // Starts (or restarts) configuration: a DISCOVER is due now.
  void start(Instant now);

  // The message to send now, or nullptr.
  const wire::DhcpRepr* message_due(Instant now) const;
  // The message from message_due() left on the wire at `now`.
  void message_sent(Instant now);

  // A DHCP message that arrived for the client port. Returns true when it bound us.
  bool on_message(Instant now, const wire::DhcpRepr& msg);

  std::optional<Instant> poll_at() const;
  Phase phase() const { return phase_; }
  bool active() const { return phase_ == Phase::selecting || phase_ == Phase::requesting; }
  const Lease& lease() const { return lease_; }
  const DhcpClientStats& stats() const { return stats_; }
  std::uint32_t xid() const { return xid_; }

 private:
  void begin_selecting(Instant now);

  wire::MacAddr mac_;
  Rng& rng_;
  Duration initial_;
  Duration max_;
  Phase phase_ = Phase::idle;
  std::uint32_t xid_ = 0;
  wire::DhcpRepr outgoing_;
  Instant next_send_;
  Duration gap_;
  std::uint32_t requests_this_offer_ = 0;
  Lease lease_;
  DhcpClientStats stats_;
};

}  // namespace tapwire::sim
