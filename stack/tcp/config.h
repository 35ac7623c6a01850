// Per-connection TCP options and per-stack configuration.
//
// Every knob a test needs to play a peer that lacks a feature is here (MSS option,
// window scale, SACK, timestamps, Nagle, delayed ACK), so one implementation can be
// "Linux-like" on one side and "minimal 1981 TCP" on the other.
//
// Defaults are the proxy's: Nagle off (the proxy relays bytes that the host socket
// already coalesced; delaying them again only adds latency), delayed ACK on at 40 ms
// (RFC 9293 §3.8.6.3 requires < 0.5 s), 256 KiB buffers each way, MSL 30 s.
// The simulated guest turns Nagle on to behave like a stock OS socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "stack/base/time.h"
#include "stack/tcp/rtt.h"
#include "stack/tcp/types.h"

namespace tapwire::tcp {

struct KeepaliveConfig {
  bool enabled = false;                       // RFC 1122 §4.2.3.6: off unless asked for
  Duration idle = Duration::seconds(7200);    // >= 2 hours by default (RFC 1122)
  Duration interval = Duration::seconds(75);  // between unanswered probes
  std::uint32_t count = 9;                    // unanswered probes before the connection dies
};

struct ConnOptions {
  // Link MTU on our side. Advertised MSS = mtu - 40 (IPv4 + TCP headers without
  // options; RFC 9293 §3.7.1). Values below 88 are clamped to 88 (MSS 48).
  std::uint32_t mtu = 1500;
  // Send an MSS option in our SYN/SYN-ACK. When off, the peer assumes 536.
  bool mss_option = true;

  // RFC 7323 §2: window scaling. window_shift < 0 = pick the smallest shift that
  // lets the 16-bit field express recv_buffer; otherwise the given shift (<= 14).
  bool window_scale = true;
  int window_shift = -1;
  // RFC 2018: offer SACK-permitted, send SACK blocks, use the peer's (RFC 6675).
  bool sack = true;
  // RFC 7323 §3/§4/§5: timestamps (RTTM, PAWS).
  bool timestamps = true;

  // RFC 9293 §3.7.4 Nagle algorithm. Off by default (proxy); the guest turns it on.
  bool nagle = false;
  // RFC 9293 §3.8.6.3 / RFC 5681 §4.2 delayed ACK: at most `delayed_ack_timeout`
  // late, and every second full-sized segment is ACKed at once.
  bool delayed_ack = true;
  Duration delayed_ack_timeout = Duration::millis(40);

  // Explicit buffer sizes in bytes. The receive buffer bounds the advertised window.
  std::size_t send_buffer = 256 * 1024;
  std::size_t recv_buffer = 256 * 1024;

  // RFC 6298 retransmission timer (initial/min/max RTO).
  RttConfig rtt{};
  // Give up (abort with reason `timeout`) after this many consecutive
  // retransmissions of the same data (RFC 9293 §3.8.3 R2), or after the user timeout
  // elapses without the oldest unacknowledged data being acknowledged, whichever
  // comes first. SYNs use syn_retries.
  std::uint32_t max_retransmissions = 15;
  std::uint32_t syn_retries = 6;
  std::optional<Duration> user_timeout;

  KeepaliveConfig keepalive{};

  // Maximum segment lifetime; TIME_WAIT lasts 2 * msl (RFC 9293 §3.4.2).
  Duration msl = Duration::seconds(30);

  // Keep a connection whose owner called close() in FIN-WAIT-2 at most this long.
  Duration orphan_fin_wait_2_timeout = Duration::seconds(60);

  // Derived values.
  std::uint16_t advertised_mss() const {
    const std::uint32_t m = mtu < 88 ? 88 : (mtu > 65535 ? 65535 : mtu);
    return static_cast<std::uint16_t>(m - 40);
  }
};

struct StackConfig {
  // Transparent passive mode (the proxy): a SYN for any address/port with no
  // matching connection or listener creates a pending connection and raises
  // StackEvent::new_syn; nothing is sent until accept_pending/refuse_pending.
  bool transparent = false;
  // A pending transparent SYN the owner never decided on is dropped after this.
  Duration pending_syn_timeout = Duration::seconds(75);
  // Options used for connections created by transparent mode.
  ConnOptions transparent_options{};
  // Ephemeral port range for connect() with local_port == 0 (RFC 6056 §3.3.1 style
  // random pick from the Rng).
  std::uint16_t ephemeral_low = 49152;
  std::uint16_t ephemeral_high = 65535;
  // RFC 5961 §7: at most this many challenge ACKs per second for the whole stack
  // (0 = unlimited).
  std::uint32_t challenge_ack_limit = 1000;
  // Upper bound on live connections (0 = unlimited); over it, new SYNs are dropped
  // and connect() returns Errc::limit.
  std::size_t max_connections = 0;
  // Initial send sequence numbers (RFC 9293 §3.4.1) for active opens and SYN-ACKs.
  // Empty: drawn from the stack's Rng. The daemon plugs in an RFC 6528 generator
  // (ISN = M + F(localip, localport, remoteip, remoteport, secretkey); see
  // stack/posix/randomness.h IsnGenerator::isn). `now` is the time of the connect()
  // or of the SYN's arrival; the tuple is seen from this stack (local = ours).
  std::function<std::uint32_t(Instant now, const FourTuple& tuple)> isn_source;
};

}  // namespace tapwire::tcp
