// ConnectionLimit: the one cap on the host sockets the proxy holds for flows
// (docs/architecture.md §Port forwarding: one connection limit).
//
// Theory of operation
// - What counts: every host socket a flow holds, whichever side opened the flow: a
//   guest connect's outbound socket, a connection accepted on a forward's listener,
//   a UDP NAT socket, an ICMP echo socket. That number is FlowTable::open_handles().
//   Listeners and the proxy's own sockets (DNS upstreams) do not count: they come
//   from a reserve of min(32, fd limit / 4) descriptors that flows can never take,
//   so DNS and new forwards keep working while TCP sits at its cap (vpnkit#214 had
//   one constant for everything, and "Too many open files" hit whatever came next).
// - The limit: `max_connections` when configured; otherwise the host's fd limit minus
//   the reserve (RLIMIT_NOFILE in the daemon, the simulated host's fd_limit in the
//   simulator), re-derived whenever the driver reports a new fd limit. 0 = none.
// - Over the limit: the caller refuses (an outbound SYN gets RST, an accepted
//   connection is closed at once, a datagram flow is not opened) and counts its own
//   drop; over_limit() decides, and says when the warning is due: at most once per
//   30 s of the clock (kLimitWarningInterval), so a flood cannot fill the log.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "stack/base/time.h"

namespace tapwire::proxy {

// Interval between two "connection limit reached" warnings (as VPNKit).
inline constexpr Duration kLimitWarningInterval = Duration::seconds(30);

class ConnectionLimit {
 public:
  static constexpr std::uint64_t kMaxReserve = 32;
  // Descriptors kept back for listeners and the proxy's own sockets.
  static std::uint64_t reserve_for(std::uint64_t fd_limit) { return std::min(kMaxReserve, fd_limit / 4); }

  // `configured`: max_connections (0 = derive); `fd_limit`: the host's (0 = unknown or
  // unlimited). With neither there is no limit.
  void set(std::uint32_t configured, std::uint64_t fd_limit) {
    configured_ = configured;
    fd_limit_ = fd_limit;
    reserve_ = reserve_for(fd_limit);
    limit_ = configured != 0 ? configured : (fd_limit == 0 ? 0 : std::max<std::uint64_t>(fd_limit - reserve_, 1));
  }
  void set_fd_limit(std::uint64_t fd_limit) { set(configured_, fd_limit); }

  std::uint64_t limit() const { return limit_; }  // 0: none
  std::uint64_t reserve() const { return reserve_; }
  std::uint64_t fd_limit() const { return fd_limit_; }
  bool derived() const { return configured_ == 0; }

  // True when `in_use` host sockets already reach the limit. Sets *warn when the
  // rate-limited warning is due now (the caller logs it).
  bool over_limit(Instant now, std::uint64_t in_use, bool* warn) {
    *warn = false;
    if (limit_ == 0 || in_use < limit_) return false;
    *warn = warning_due(now);
    return true;
  }
  // The shared rate limit of every "no more connections" warning (the limit above,
  // and the host's own fd limit met by a connect or an accept): true at most once
  // per kLimitWarningInterval.
  bool warning_due(Instant now) {
    if (last_warning_ && now - *last_warning_ < kLimitWarningInterval) return false;
    last_warning_ = now;
    ++warnings_;
    return true;
  }
  // Warnings logged so far (rate limited).
  std::uint64_t warnings() const { return warnings_; }

 private:
  std::uint32_t configured_ = 0;
  std::uint64_t fd_limit_ = 0;
  std::uint64_t reserve_ = 0;
  std::uint64_t limit_ = 0;
  std::optional<Instant> last_warning_;
  std::uint64_t warnings_ = 0;
};

}  // namespace tapwire::proxy
