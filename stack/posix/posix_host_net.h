// PosixHostNet: host::HostNet over real non-blocking sockets, driven by EventLoop.
//
// Theory of operation
// - Handles are SlotTable ids (index, generation), each slot holding one fd. close()/abort()
//   remove the fd from epoll, close it and free the slot (bumping its generation) before
//   returning, so the fd count and
//   the table never disagree and a late event (already fetched by epoll, or queued for
//   delivery) for the old handle is dropped.
// - Every socket is registered once, edge-triggered, for read and write readiness. The
//   loop calls on_io(); that only records state and queues HostEvents. The queue is this
//   object's DeferredWork: the loop hands the events to the HostEventSink after the I/O
//   batch, never from inside a HostNet call.
// - readable/accept_ready: raised on a readiness edge while read interest is on. Each slot
//   keeps `maybe_readable` (set by an edge, cleared when recv/accept/recvfrom reports
//   would_block), so turning interest back on while data (or EOF) waits queues one
//   `readable`: no edge would come otherwise. Interest off is lazy: nothing changes until
//   an edge arrives for a handle with interest off; then EPOLLIN is removed
//   (EPOLL_CTL_MOD), and added back when interest turns on. So a full guest window
//   costs at most one wakeup, and toggling interest costs no syscall when no data came.
// - writable: raised once, on an EPOLLOUT edge after send/sendto returned would_block or a
//   short count (also right after `connected` if a send was attempted while connecting).
// - hangup: EPOLLERR on a connected stream (the peer's RST), whatever the read interest;
//   SO_ERROR is left unread so the next recv/send reports the reset (Errc::refused).
// - tcp_connect: connect() on a SOCK_NONBLOCK socket; EINPROGRESS completes on EPOLLOUT
//   (or EPOLLERR) with SO_ERROR 0 -> `connected`, else `refused` (error: the mapped errno).
//   A refusal reported synchronously by connect() is queued as `refused` too; fd-limit and
//   bad-address failures are returned by the call.
// - fd exhaustion: EMFILE/ENFILE from socket()/accept4() return Errc::limit and count
//   fd_limit_hits. A listener whose accept4() hits EMFILE leaves the connection in the
//   kernel queue; retrying at once would spin, so the listener's read interest is
//   disabled (EPOLLIN removed) for `accept_backoff` (a timerfd created at construction,
//   when an fd is still available), after which it is re-enabled and one accept_ready is
//   queued to retry. Counted in accept_backoffs (and each failure in fd_limit_hits).
// - ICMP: unprivileged ping sockets (SOCK_DGRAM, IPPROTO_ICMP). The kernel replaces the
//   echo identifier with the socket's own; the identifier the caller chose is remembered
//   per sequence number and restored on the reply. Where net.ipv4.ping_group_range
//   excludes our gid, icmp_open returns Errc::unsupported.
// - resolve: lookups are HostLookups handles (host_lookups.h: their own table, the top
//   index bit set, no fd, not in open_handles) answered by a ResolverPool of worker
//   threads started on the first lookup; `resolved` is queued like every other event.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "stack/base/time.h"
#include "stack/base/slot_table.h"
#include "stack/host/host_net.h"
#include "stack/posix/event_loop.h"
#include "stack/posix/host_lookups.h"
#include "stack/posix/unique_fd.h"

namespace tapwire::posix {

struct PosixHostNetConfig {
  Duration accept_backoff = Duration::millis(100);
  // The host resolver (resolve()): worker count, queue bound; `servers` for tests only.
  ResolverPoolOptions resolver;
};

// One open socket, for diagnostics (`tapwire ctl diagnostics`).
struct HostSocketInfo {
  host::Handle handle;
  const char* kind = "";  // "tcp", "tcp-connecting", "tcp-failed", "tcp-listener", "udp", "icmp"
  int fd = -1;
  host::Endpoint local;
  std::optional<host::Endpoint> peer;  // connected TCP only
  bool read_interest = true;
  bool waiting_writable = false;
  bool in_accept_backoff = false;
};

struct PosixHostNetExtraCounters {
  std::uint64_t accept_backoffs = 0;   // listeners paused after EMFILE/ENFILE on accept
  std::uint64_t events_queued = 0;
  std::uint64_t stale_events = 0;      // queued events dropped because the handle closed
  std::uint64_t icmp_non_replies = 0;  // datagrams on a ping socket that were not echo replies
};

class PosixHostNet final : public host::HostNet, public IoHandler, public DeferredWork {
 public:
  // `loop` must outlive this object.
  explicit PosixHostNet(EventLoop& loop, PosixHostNetConfig config = {});
  ~PosixHostNet() override;  // closes every socket still open
  PosixHostNet(const PosixHostNet&) = delete;
  PosixHostNet& operator=(const PosixHostNet&) = delete;

  void set_event_sink(host::HostEventSink* sink) override { sink_ = sink; }

  Result<host::Handle> tcp_connect(host::Endpoint remote) override;
  Result<host::Handle> tcp_listen(host::Endpoint local, int backlog) override;
  Result<host::Handle> tcp_accept(host::Handle listener, host::Endpoint* peer) override;
  Result<std::size_t> send(host::Handle h, Bytes data) override;
  Result<std::size_t> recv(host::Handle h, MutBytes out) override;
  Status shutdown_write(host::Handle h) override;
  Status close(host::Handle h) override;
  Status abort(host::Handle h) override;
  void set_read_interest(host::Handle h, bool on) override;
  Result<host::Endpoint> local_endpoint(host::Handle h) const override;

  Result<host::Handle> udp_open(host::Endpoint local) override;
  Result<std::size_t> udp_send_to(host::Handle h, host::Endpoint to, Bytes datagram) override;
  Result<std::size_t> udp_recv_from(host::Handle h, MutBytes out, host::Endpoint* from,
                                    std::size_t* full_len) override;

  Result<host::Handle> icmp_open() override;
  Result<std::size_t> icmp_echo_send(host::Handle h, wire::Ipv4Addr to, std::uint16_t id, std::uint16_t seq,
                                     Bytes payload) override;
  Result<std::size_t> icmp_echo_recv(host::Handle h, MutBytes payload, wire::Ipv4Addr* from, std::uint16_t* id,
                                     std::uint16_t* seq) override;

  Result<host::Handle> resolve(const wire::DnsName& name, std::uint16_t qtype) override;
  Result<host::ResolverAnswer> resolve_result(host::Handle h) override;
  host::HostNetCounters counters() const override { return counters_; }
  const PosixHostNetExtraCounters& extra_counters() const { return extra_; }
  // Host resolver lookups: open handles and counters (diagnostics).
  std::size_t lookups_open() const { return lookups_.size(); }
  const HostLookupCounters& lookup_counters() const { return lookups_.counters(); }
  ResolverPoolCounters resolver_counters() const { return lookups_.pool_counters(); }

  // Closes every socket and cancels every lookup now (clean shutdown on SIGTERM/SIGINT);
  // queued events are dropped.
  void close_all();
  // Every open socket, for diagnostics.
  std::vector<HostSocketInfo> sockets() const;
  // The fd behind a handle (-1 when stale); for diagnostics and tests only.
  int fd_of(host::Handle h) const;
  // Peer address of a connected TCP handle (diagnostics).
  Result<host::Endpoint> peer_endpoint(host::Handle h) const;

  // EventLoop plumbing.
  void on_io(Instant now, std::uint64_t tag, std::uint32_t events) override;
  bool has_deferred() const override { return !queue_.empty(); }
  void run_deferred(Instant now) override;

 private:
  enum class Kind : std::uint8_t { tcp_connecting, tcp_stream, tcp_failed, tcp_listener, udp, icmp };
  struct Slot {
    int fd = -1;
    Kind kind = Kind::udp;
    Registration reg;
    bool read_interest = true;
    bool epollin_armed = true;   // EPOLLIN currently part of the epoll interest
    bool maybe_readable = false; // an edge came and no would_block was seen since
    bool want_write = false;     // a send hit would_block or was short
    bool hangup_raised = false;
    bool in_backoff = false;     // listener paused after EMFILE on accept
  };

  Slot* slot(host::Handle h);
  const Slot* slot(host::Handle h) const;
  Result<host::Handle> adopt(UniqueFd fd, Kind kind, Interest interest);
  Status release(host::Handle h, bool reset);
  void queue(host::Handle h, host::HostEventKind kind, Errc error = Errc::invalid_state);
  void queue_readable_if_interested(host::Handle h, Slot& s);
  void note_fd_error(int err);
  void on_backoff_timer();

  EventLoop& loop_;
  PosixHostNetConfig config_;
  host::HostEventSink* sink_ = nullptr;
  SlotTable<Slot, host::Handle> slots_;
  std::vector<host::HostEvent> queue_;
  std::vector<host::HostEvent> delivering_;
  std::vector<std::uint32_t> backoff_listeners_;
  UniqueFd backoff_timer_;
  Registration backoff_reg_;
  std::vector<std::uint8_t> icmp_scratch_;
  // Per ICMP slot index: echo sequence -> the identifier the caller chose.
  std::unordered_map<std::uint32_t, std::unordered_map<std::uint16_t, std::uint16_t>> icmp_ids_;
  host::HostNetCounters counters_;
  PosixHostNetExtraCounters extra_;
  HostLookups lookups_;  // last: destroyed (its threads joined) first
};

}  // namespace tapwire::posix
