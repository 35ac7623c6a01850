#include "stack/posix/posix_host_net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack/posix/errno_map.h"

namespace tapwire::posix {
namespace {

using host::Endpoint;
using host::Handle;
using host::HostEventKind;

constexpr std::uint64_t kBackoffTag = UINT64_MAX;
constexpr std::size_t kMaxIcmpIdsRemembered = 4096;


sockaddr_in to_sockaddr(Endpoint e) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(e.port);
  sa.sin_addr.s_addr = htonl(e.addr.value);
  return sa;
}

Endpoint from_sockaddr(const sockaddr_in& sa) {
  return Endpoint{wire::Ipv4Addr{ntohl(sa.sin_addr.s_addr)}, ntohs(sa.sin_port)};
}

void set_int_option(int fd, int level, int name, int value) {
  ::setsockopt(fd, level, name, &value, sizeof value);
}

Error stale() { return make_error(Errc::not_found, "posix host: stale handle"); }

}  // namespace

PosixHostNet::PosixHostNet(EventLoop& loop, PosixHostNetConfig config)
    : loop_(loop),
      config_(config),
      lookups_(loop, config.resolver, [this](Handle h) { queue(h, HostEventKind::resolved); }) {
  backoff_timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (backoff_timer_) {
    auto reg = loop_.add(backoff_timer_.get(), Interest{true, false}, this, kBackoffTag);
    if (reg) backoff_reg_ = *reg;
  }
  icmp_scratch_.resize(65536);
  loop_.add_deferred(this);
}

PosixHostNet::~PosixHostNet() {
  close_all();
  loop_.remove(backoff_reg_);
  loop_.remove_deferred(this);
}

PosixHostNet::Slot* PosixHostNet::slot(Handle h) { return slots_.find(h); }

const PosixHostNet::Slot* PosixHostNet::slot(Handle h) const { return slots_.find(h); }

int PosixHostNet::fd_of(Handle h) const {
  const Slot* s = slot(h);
  return s ? s->fd : -1;
}

void PosixHostNet::note_fd_error(int err) {
  if (is_fd_limit_errno(err)) ++counters_.fd_limit_hits;
}

Result<Handle> PosixHostNet::adopt(UniqueFd fd, Kind kind, Interest interest) {
  // The loop's tag names the slot the socket will take; it is taken only on success.
  const Handle h = slots_.next_id();
  auto reg = loop_.add(fd.get(), interest, this, slot_key(h));
  if (!reg) return reg.error();
  Slot s;
  s.fd = fd.release();
  s.kind = kind;
  s.reg = *reg;
  s.epollin_armed = interest.read;
  slots_.emplace(s);
  ++counters_.open_handles;
  return h;
}

Status PosixHostNet::release(Handle h, bool reset) {
  Slot* s = slot(h);
  if (s == nullptr) return Error{Errc::not_found, "posix: no such handle"};
  loop_.remove(s->reg);
  if (reset) {
    linger lg{1, 0};  // close() then sends RST and discards unsent data
    ::setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  // close(2) frees the descriptor even when it fails (Linux: EINTR and EIO included),
  // so the slot is released either way and the error only reported.
  const int rc = ::close(s->fd);
  const int err = rc == 0 ? 0 : errno;
  if (s->kind == Kind::icmp) icmp_ids_.erase(h.index);
  if (s->in_backoff)
    backoff_listeners_.erase(std::remove(backoff_listeners_.begin(), backoff_listeners_.end(), h.index),
                             backoff_listeners_.end());
  slots_.release(h);  // queued events for the old handle are now stale
  --counters_.open_handles;
  if (err != 0) {
    ++counters_.close_errors;
    return errno_error(err);
  }
  return {};
}

Status PosixHostNet::close(Handle h) {
  if (HostLookups::is_lookup(h)) {
    lookups_.cancel(h);
    return {};
  }
  return release(h, false);
}

void PosixHostNet::close_all() {
  slots_.for_each_live([&](Handle h, Slot&) { (void)release(h, false); });
  lookups_.cancel_all();
  queue_.clear();
}

std::vector<HostSocketInfo> PosixHostNet::sockets() const {
  std::vector<HostSocketInfo> out;
  slots_.for_each_live([&](Handle h, const Slot& s) {
    HostSocketInfo info;
    info.handle = h;
    info.fd = s.fd;
    info.read_interest = s.read_interest;
    info.waiting_writable = s.want_write;
    info.in_accept_backoff = s.in_backoff;
    switch (s.kind) {
      case Kind::tcp_connecting: info.kind = "tcp-connecting"; break;
      case Kind::tcp_stream: info.kind = "tcp"; break;
      case Kind::tcp_failed: info.kind = "tcp-failed"; break;
      case Kind::tcp_listener: info.kind = "tcp-listener"; break;
      case Kind::udp: info.kind = "udp"; break;
      case Kind::icmp: info.kind = "icmp"; break;
    }
    if (auto local = local_endpoint(info.handle)) info.local = *local;
    if (s.kind == Kind::tcp_stream)
      if (auto peer = peer_endpoint(info.handle)) info.peer = *peer;
    out.push_back(info);
  });
  return out;
}

Status PosixHostNet::abort(Handle h) {
  if (HostLookups::is_lookup(h)) {
    lookups_.cancel(h);
    return {};
  }
  return release(h, true);
}

void PosixHostNet::queue(Handle h, HostEventKind kind, Errc error) {
  queue_.push_back(host::HostEvent{kind, h, error});
  ++extra_.events_queued;
}

void PosixHostNet::queue_readable_if_interested(Handle h, Slot& s) {
  if (s.kind == Kind::tcp_listener) {
    if (s.read_interest && !s.in_backoff) queue(h, HostEventKind::accept_ready);
  } else if (s.read_interest) {
    queue(h, HostEventKind::readable);
  }
}

void PosixHostNet::run_deferred(Instant now) {
  // Swap so that events queued by the sink while we deliver wait for the next batch.
  delivering_.clear();
  delivering_.swap(queue_);
  for (const host::HostEvent& ev : delivering_) {
    if (slot(ev.handle) == nullptr && !lookups_.live(ev.handle)) {
      ++extra_.stale_events;
      continue;
    }
    if (sink_ != nullptr) sink_->on_host_event(now, ev);
  }
  delivering_.clear();
}

// --- readiness ---------------------------------------------------------------------

void PosixHostNet::on_io(Instant, std::uint64_t tag, std::uint32_t events) {
  if (tag == kBackoffTag) {
    on_backoff_timer();
    return;
  }
  const Handle h = slot_id_from_key<Handle>(tag);
  Slot* s = slot(h);
  if (s == nullptr) return;

  if (s->kind == Kind::tcp_connecting) {
    if ((events & (io::writable | io::error | io::hangup)) == 0) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      s->kind = Kind::tcp_failed;
      queue(h, HostEventKind::refused, errno_error(err).code);
      return;
    }
    s->kind = Kind::tcp_stream;
    queue(h, HostEventKind::connected);
    if (s->want_write) {
      s->want_write = false;
      queue(h, HostEventKind::writable);
    }
    // Fall through: data may have arrived together with the handshake's completion.
    events &= ~io::writable;
  }
  if (s->kind == Kind::tcp_failed) return;  // `refused` already said everything

  if (s->kind == Kind::tcp_stream && (events & io::error) && !s->hangup_raised) {
    s->hangup_raised = true;
    queue(h, HostEventKind::hangup, Errc::refused);
    return;
  }

  if (events & (io::readable | io::read_hangup | io::hangup | io::error)) {
    s->maybe_readable = true;
    if (s->in_backoff) return;  // the back-off timer raises accept_ready when it ends
    if (s->read_interest) {
      queue_readable_if_interested(h, *s);
    } else if (s->epollin_armed) {
      // Interest is off: stop further wakeups for this handle until it turns back on.
      s->epollin_armed = false;
      (void)loop_.modify(s->reg, Interest{false, s->kind != Kind::tcp_listener});
    }
  }
  if ((events & io::writable) && s->want_write) {
    s->want_write = false;
    queue(h, HostEventKind::writable);
  }
}

void PosixHostNet::set_read_interest(Handle h, bool on) {
  Slot* s = slot(h);
  if (s == nullptr || s->read_interest == on) return;
  s->read_interest = on;
  if (!on) return;  // lazy: EPOLLIN is removed only if an edge arrives meanwhile
  if (!s->epollin_armed) {
    s->epollin_armed = true;
    (void)loop_.modify(s->reg, Interest{true, s->kind != Kind::tcp_listener});
  }
  if (s->maybe_readable && s->kind != Kind::tcp_connecting) queue_readable_if_interested(h, *s);
}

void PosixHostNet::on_backoff_timer() {
  std::uint64_t expirations;
  while (::read(backoff_timer_.get(), &expirations, sizeof expirations) > 0) {
  }
  std::vector<std::uint32_t> due;
  due.swap(backoff_listeners_);
  for (std::uint32_t index : due) {
    if (!slots_.live(index)) continue;
    Slot& s = slots_.at(index);
    if (s.kind != Kind::tcp_listener || !s.in_backoff) continue;
    s.in_backoff = false;
    if (!s.read_interest) continue;  // set_read_interest(true) re-arms and re-raises
    if (!s.epollin_armed) {
      s.epollin_armed = true;
      (void)loop_.modify(s.reg, Interest{true, false});
    }
    // The connection that hit EMFILE is still queued in the kernel: retry once.
    queue(slots_.id_at(index), HostEventKind::accept_ready);
  }
}

// --- TCP -----------------------------------------------------------------------------

Result<Handle> PosixHostNet::tcp_connect(Endpoint remote) {
  if (remote.port == 0 || remote.addr.is_unspecified())
    return make_error(Errc::invalid_argument, "posix host: cannot connect to that address");
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    note_fd_error(errno);
    return errno_error(errno);
  }
  set_int_option(fd.get(), IPPROTO_TCP, TCP_NODELAY, 1);
  const sockaddr_in sa = to_sockaddr(remote);
  Kind kind = Kind::tcp_connecting;
  int connect_err = 0;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) {
    kind = Kind::tcp_stream;
  } else if (errno != EINPROGRESS) {
    connect_err = errno;
    const Error e = errno_error(connect_err);
    if (e.code != Errc::refused) return e;  // bad address, no ports, ...: immediate failure
    kind = Kind::tcp_failed;
  }
  TW_TRY(Handle h, adopt(std::move(fd), kind, Interest{true, true}));
  ++counters_.tcp_connects;
  if (kind == Kind::tcp_stream) queue(h, HostEventKind::connected);
  if (kind == Kind::tcp_failed) queue(h, HostEventKind::refused, Errc::refused);
  return h;
}

Result<Handle> PosixHostNet::tcp_listen(Endpoint local, int backlog) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    note_fd_error(errno);
    return errno_error(errno);
  }
  set_int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
  set_int_option(fd.get(), IPPROTO_TCP, TCP_NODELAY, 1);
  const sockaddr_in sa = to_sockaddr(local);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) return errno_error(errno);
  if (::listen(fd.get(), backlog > 0 ? backlog : SOMAXCONN) != 0) return errno_error(errno);
  return adopt(std::move(fd), Kind::tcp_listener, Interest{true, false});
}

Result<Handle> PosixHostNet::tcp_accept(Handle listener, Endpoint* peer) {
  Slot* s = slot(listener);
  if (s == nullptr) return stale();
  if (s->kind != Kind::tcp_listener) return make_error(Errc::invalid_argument, "posix host: not a listener");
  sockaddr_in sa{};
  int fd = -1;
  for (;;) {
    socklen_t len = sizeof sa;
    fd = ::accept4(s->fd, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) break;
    const int err = errno;
    // A connection that died in the queue: try the next one.
    if (err == ECONNABORTED || err == EPROTO || err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      s->maybe_readable = false;
      return make_error(Errc::would_block, "posix host: no pending connection");
    }
    if (is_fd_limit_errno(err)) {
      ++counters_.fd_limit_hits;
      if (!s->in_backoff && backoff_timer_) {
        s->in_backoff = true;
        ++extra_.accept_backoffs;
        // No wakeups at all for this listener until the back-off ends.
        if (s->epollin_armed) {
          s->epollin_armed = false;
          (void)loop_.modify(s->reg, Interest{false, false});
        }
        backoff_listeners_.push_back(listener.index);
        itimerspec its{};
        const std::int64_t ns = std::max<std::int64_t>(config_.accept_backoff.ns(), 1);
        its.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
        its.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
        // A timer already armed for another listener keeps its (earlier) expiry.
        itimerspec current{};
        ::timerfd_gettime(backoff_timer_.get(), &current);
        if (current.it_value.tv_sec == 0 && current.it_value.tv_nsec == 0)
          ::timerfd_settime(backoff_timer_.get(), 0, &its, nullptr);
      }
    }
    return errno_error(err);
  }
  UniqueFd owned(fd);
  set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  TW_TRY(Handle h, adopt(std::move(owned), Kind::tcp_stream, Interest{true, true}));
  ++counters_.tcp_accepts;
  if (peer != nullptr) *peer = from_sockaddr(sa);
  return h;
}

Result<std::size_t> PosixHostNet::send(Handle h, Bytes data) {
  Slot* s = slot(h);
  if (s == nullptr) return stale();
  if (s->kind != Kind::tcp_stream && s->kind != Kind::tcp_connecting && s->kind != Kind::tcp_failed)
    return make_error(Errc::invalid_argument, "posix host: not a TCP stream");
  if (s->kind == Kind::tcp_connecting) {
    s->want_write = true;
    return make_error(Errc::would_block, "posix host: connection not established yet");
  }
  if (s->kind == Kind::tcp_failed) return make_error(Errc::refused, "posix host: the connect failed");
  if (data.empty()) return std::size_t{0};
  const ssize_t n = ::send(s->fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0) {
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) s->want_write = true;
    return errno_error(err);
  }
  if (static_cast<std::size_t>(n) < data.size()) s->want_write = true;
  return static_cast<std::size_t>(n);
}

Result<std::size_t> PosixHostNet::recv(Handle h, MutBytes out) {
  Slot* s = slot(h);
  if (s == nullptr) return stale();
  if (s->kind != Kind::tcp_stream && s->kind != Kind::tcp_connecting && s->kind != Kind::tcp_failed)
    return make_error(Errc::invalid_argument, "posix host: not a TCP stream");
  if (out.empty()) return make_error(Errc::invalid_argument, "posix host: empty receive buffer");
  if (s->kind == Kind::tcp_connecting) return make_error(Errc::would_block, "posix host: not connected yet");
  if (s->kind == Kind::tcp_failed) return make_error(Errc::refused, "posix host: the connect failed");
  const ssize_t n = ::recv(s->fd, out.data(), out.size(), MSG_DONTWAIT);
  if (n < 0) {
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) s->maybe_readable = false;
    return errno_error(err);
  }
  return static_cast<std::size_t>(n);
}

Status PosixHostNet::shutdown_write(Handle h) {
  Slot* s = slot(h);
  if (s == nullptr) return stale();
  if (s->kind != Kind::tcp_stream) return make_error(Errc::invalid_argument, "posix host: not a connected TCP stream");
  if (::shutdown(s->fd, SHUT_WR) != 0) return errno_error(errno);
  return {};
}

Result<Endpoint> PosixHostNet::local_endpoint(Handle h) const {
  const Slot* s = slot(h);
  if (s == nullptr) return stale();
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(s->fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return errno_error(errno);
  return from_sockaddr(sa);
}

Result<Endpoint> PosixHostNet::peer_endpoint(Handle h) const {
  const Slot* s = slot(h);
  if (s == nullptr) return stale();
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getpeername(s->fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return errno_error(errno);
  return from_sockaddr(sa);
}

// --- UDP -------------------------------------------------------------------------------

Result<Handle> PosixHostNet::udp_open(Endpoint local) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    note_fd_error(errno);
    return errno_error(errno);
  }
  const sockaddr_in sa = to_sockaddr(local);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) return errno_error(errno);
  TW_TRY(Handle h, adopt(std::move(fd), Kind::udp, Interest{true, true}));
  ++counters_.udp_opens;
  return h;
}

Result<std::size_t> PosixHostNet::udp_send_to(Handle h, Endpoint to, Bytes datagram) {
  Slot* s = slot(h);
  if (s == nullptr) return stale();
  if (s->kind != Kind::udp) return make_error(Errc::invalid_argument, "posix host: not a UDP socket");
  if (to.port == 0 || to.addr.is_unspecified())
    return make_error(Errc::invalid_argument, "posix host: bad destination");
  const sockaddr_in sa = to_sockaddr(to);
  const ssize_t n = ::sendto(s->fd, datagram.data(), datagram.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                             reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  if (n < 0) {
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) s->want_write = true;
    return errno_error(err);
  }
  return static_cast<std::size_t>(n);
}

Result<std::size_t> PosixHostNet::udp_recv_from(Handle h, MutBytes out, Endpoint* from, std::size_t* full_len) {
  Slot* s = slot(h);
  if (s == nullptr) return stale();
  if (s->kind != Kind::udp) return make_error(Errc::invalid_argument, "posix host: not a UDP socket");
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  for (;;) {
    // MSG_TRUNC: the return value is the datagram's full length even when cut short.
    const ssize_t n = ::recvfrom(s->fd, out.data(), out.size(), MSG_DONTWAIT | MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&sa), &len);
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      // A queued ICMP error (port unreachable for an earlier datagram) is not a datagram.
      if (err == ECONNREFUSED) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) s->maybe_readable = false;
      return errno_error(err);
    }
    if (from != nullptr) *from = from_sockaddr(sa);
    if (full_len != nullptr) *full_len = static_cast<std::size_t>(n);
    return std::min(static_cast<std::size_t>(n), out.size());
  }
}

// --- ICMP echo ----------------------------------------------------------------------------

Result<Handle> PosixHostNet::icmp_open() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP));
  if (!fd) {
    const int err = errno;
    note_fd_error(err);
    if (err == EACCES || err == EPERM)
      return make_error(Errc::unsupported,
                        "posix host: ping sockets not permitted (net.ipv4.ping_group_range excludes our group)");
    if (err == EPROTONOSUPPORT || err == EAFNOSUPPORT)
      return make_error(Errc::unsupported, "posix host: ping sockets not supported by this kernel");
    return errno_error(err);
  }
  TW_TRY(Handle h, adopt(std::move(fd), Kind::icmp, Interest{true, true}));
  icmp_ids_[h.index];
  return h;
}

Result<std::size_t> PosixHostNet::icmp_echo_send(Handle h, wire::Ipv4Addr to, std::uint16_t id, std::uint16_t seq,
                                                 Bytes payload) {
  Slot* s = slot(h);
  if (s == nullptr) return stale();
  if (s->kind != Kind::icmp) return make_error(Errc::invalid_argument, "posix host: not an ICMP socket");
  if (payload.size() + 8 > icmp_scratch_.size())
    return make_error(Errc::bad_length, "posix host: echo payload too long");
  // RFC 792 echo request; the kernel fills the checksum and the identifier.
  std::uint8_t* p = icmp_scratch_.data();
  p[0] = 8;
  p[1] = 0;
  store_be16(p + 2, 0);
  store_be16(p + 4, id);
  store_be16(p + 6, seq);
  if (!payload.empty()) std::memcpy(p + 8, payload.data(), payload.size());
  const sockaddr_in sa = to_sockaddr(Endpoint{to, 0});
  const ssize_t n = ::sendto(s->fd, p, payload.size() + 8, MSG_NOSIGNAL | MSG_DONTWAIT,
                             reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  if (n < 0) {
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) s->want_write = true;
    return errno_error(err);
  }
  auto& ids = icmp_ids_[h.index];
  if (ids.size() >= kMaxIcmpIdsRemembered) ids.clear();
  ids[seq] = id;
  return payload.size();
}

Result<std::size_t> PosixHostNet::icmp_echo_recv(Handle h, MutBytes payload, wire::Ipv4Addr* from,
                                                 std::uint16_t* id, std::uint16_t* seq) {
  Slot* s = slot(h);
  if (s == nullptr) return stale();
  if (s->kind != Kind::icmp) return make_error(Errc::invalid_argument, "posix host: not an ICMP socket");
  for (;;) {
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    const ssize_t n = ::recvfrom(s->fd, icmp_scratch_.data(), icmp_scratch_.size(), MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&sa), &len);
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) s->maybe_readable = false;
      return errno_error(err);
    }
    const std::uint8_t* p = icmp_scratch_.data();
    if (n < 8 || p[0] != 0) {  // not an echo reply
      ++extra_.icmp_non_replies;
      continue;
    }
    const std::uint16_t got_seq = load_be16(p + 6);
    std::uint16_t got_id = load_be16(p + 4);
    auto& ids = icmp_ids_[h.index];
    if (auto it = ids.find(got_seq); it != ids.end()) {
      got_id = it->second;
      ids.erase(it);
    }
    if (from != nullptr) *from = wire::Ipv4Addr{ntohl(sa.sin_addr.s_addr)};
    if (id != nullptr) *id = got_id;
    if (seq != nullptr) *seq = got_seq;
    const std::size_t body = static_cast<std::size_t>(n) - 8;
    const std::size_t copy = std::min(body, payload.size());
    if (copy > 0) std::memcpy(payload.data(), p + 8, copy);
    return copy;
  }
}

// --- host resolver --------------------------------------------------------------------

Result<Handle> PosixHostNet::resolve(const wire::DnsName& name, std::uint16_t qtype) {
  return lookups_.start(name, qtype);
}

Result<host::ResolverAnswer> PosixHostNet::resolve_result(Handle h) { return lookups_.result(h); }

}  // namespace tapwire::posix
