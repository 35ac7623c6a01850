// HostNet: the proxy core's only way to reach host sockets (docs/architecture.md §Host
// and link contracts).
//
// Two implementations honour this contract exactly: PosixHostNet (stack/posix, real
// non-blocking sockets driven by epoll) and SimHostNet (sim/host, simulated servers on
// the virtual clock). One conformance suite (tests/unit/host) runs against both.
//
// Contract
// - Results, never exceptions. Errc::would_block is normal; short reads and writes
//   are normal.
// - Handles are (index, generation) pairs, never raw fds. A handle that was closed is
//   stale: every call on it returns Errc::not_found and events for it are never
//   delivered afterwards, so a late event cannot hit a reused slot.
// - Events are never delivered from inside a call. They are queued and handed to the
//   HostEventSink by the driver (epoll wakeup, or the simulator's event queue), so the
//   core is never re-entered while it is mid-operation.
// - Readiness is edge-style. `readable` is raised when data (or EOF, or an error)
//   arrives while read interest is on; the core then reads until would_block, or until
//   it has nowhere to put the bytes, in which case it stops and reads again later on
//   its own (when the guest's window opens) without waiting for a new event. `writable`
//   is raised once after a send returned would_block (or short), when space appears.
// - Read interest is per handle (on by default). With it off, no `readable` events are
//   raised for that handle, so a full guest window never spins the loop.
// - close() frees the handle (and, for real sockets, the fd) synchronously before it
//   returns: the connection table and the fd count never disagree (vpnkit#214). Its
//   error, if any, is reported but the handle is gone all the same.
// - Host resolver lookups (resolve) are handles too, but hold no fd and are not
//   counted in open_handles: the answer arrives as a `resolved` event; close() before
//   it cancels the lookup (no event follows).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/base/slot_table.h"
#include "stack/base/time.h"
#include "stack/wire/addr.h"
#include "stack/wire/dns.h"

namespace tapwire::host {

struct Handle {
  std::uint32_t index = UINT32_MAX;
  std::uint32_t generation = 0;

  bool valid() const { return index != UINT32_MAX; }
  bool operator==(const Handle&) const = default;
};

struct Endpoint {
  wire::Ipv4Addr addr;
  std::uint16_t port = 0;

  std::string to_string() const { return addr.to_string() + ":" + std::to_string(port); }
  bool operator==(const Endpoint&) const = default;
};

enum class HostEventKind {
  connected,     // a tcp_connect completed
  refused,       // a tcp_connect failed (error says why: refused, limit, ...)
  accept_ready,  // a listener has at least one connection to accept
  readable,      // data, EOF or an error can be read (edge)
  writable,      // send space appeared after would_block (edge)
  hangup,        // the peer reset the connection; the next recv reports the error
  resolved,      // a resolve() lookup finished; resolve_result() has the answer
};

std::string_view to_string(HostEventKind kind);

struct HostEvent {
  HostEventKind kind;
  Handle handle;
  Errc error = Errc::invalid_state;  // meaningful for refused/hangup
};

class HostEventSink {
 public:
  virtual ~HostEventSink() = default;
  virtual void on_host_event(Instant now, const HostEvent& event) = 0;
};

// What the host's own resolver said about one (name, type, class IN) question: its
// rcode and the answer-section records in the order it reported them. That order is
// not trusted: a host resolver may repeat records or report a CNAME chain backwards
// (vpnkit#216); the proxy orders and de-duplicates (stack/proxy/dns_host_answer.h).
struct ResolverAnswer {
  std::uint8_t rcode = wire::dns_rcode::NOERROR;  // NOERROR, NXDOMAIN, SERVFAIL, ...
  std::vector<wire::DnsRecord> records;
};

// Counters every implementation keeps; reported in stats and used by leak checks.
struct HostNetCounters {
  std::uint64_t open_handles = 0;  // sockets currently open (listeners included)
  std::uint64_t tcp_connects = 0;
  std::uint64_t tcp_accepts = 0;
  std::uint64_t udp_opens = 0;
  std::uint64_t fd_limit_hits = 0;  // EMFILE/ENFILE or the simulated fd limit
  std::uint64_t close_errors = 0;   // close()/abort() that reported an error (handle freed anyway)
};

class HostNet {
 public:
  virtual ~HostNet() = default;

  // The sink receives every event; set once by the driver before use.
  virtual void set_event_sink(HostEventSink* sink) = 0;

  // --- TCP ---
  // Starts a non-blocking connect. The result arrives as `connected` or `refused`.
  // Immediate failures (fd limit, invalid address) are returned here.
  virtual Result<Handle> tcp_connect(Endpoint remote) = 0;
  // Listens on `local` (port 0: any; the bound endpoint is returned by local_endpoint).
  virtual Result<Handle> tcp_listen(Endpoint local, int backlog) = 0;
  // Accepts one pending connection; would_block when none. `peer` is filled when given.
  virtual Result<Handle> tcp_accept(Handle listener, Endpoint* peer) = 0;
  virtual Result<std::size_t> send(Handle h, Bytes data) = 0;
  // 0 bytes means EOF (the peer shut down its write side).
  virtual Result<std::size_t> recv(Handle h, MutBytes out) = 0;
  virtual Status shutdown_write(Handle h) = 0;
  // Closes gracefully (pending data is still sent by the host stack). The handle is
  // freed whatever happens; an error (close(2) failing with EIO, say) is reported so
  // the caller can log and count it, never so it can retry (the fd is gone either way).
  virtual Status close(Handle h) = 0;
  // Closes with a reset (SO_LINGER 0): the peer sees RST. Freed like close().
  virtual Status abort(Handle h) = 0;
  virtual void set_read_interest(Handle h, bool on) = 0;
  virtual Result<Endpoint> local_endpoint(Handle h) const = 0;

  // --- UDP ---
  // Opens a socket bound to `local` (addr any and port 0 for an ephemeral one).
  virtual Result<Handle> udp_open(Endpoint local) = 0;
  virtual Result<std::size_t> udp_send_to(Handle h, Endpoint to, Bytes datagram) = 0;
  // One datagram per call; truncated to out.size() (the full length is returned in *full_len).
  virtual Result<std::size_t> udp_recv_from(Handle h, MutBytes out, Endpoint* from, std::size_t* full_len) = 0;

  // --- ICMP echo (unprivileged ping sockets where the host allows them) ---
  virtual Result<Handle> icmp_open() = 0;
  // Sends an echo request with the given identifier/sequence and payload.
  virtual Result<std::size_t> icmp_echo_send(Handle h, wire::Ipv4Addr to, std::uint16_t id, std::uint16_t seq,
                                             Bytes payload) = 0;
  // Receives one echo reply: fills id/seq/from and copies the payload.
  virtual Result<std::size_t> icmp_echo_recv(Handle h, MutBytes payload, wire::Ipv4Addr* from, std::uint16_t* id,
                                             std::uint16_t* seq) = 0;

  // --- The host's resolver (the DNS service's "host" mode) ---
  // Starts an asynchronous lookup of `name` (type `qtype`, class IN) through the host's
  // own resolver configuration. The answer arrives as a `resolved` event on the returned
  // handle; read it once with resolve_result, then close the handle. Errors: Errc::limit
  // when too many lookups are already pending.
  virtual Result<Handle> resolve(const wire::DnsName& name, std::uint16_t qtype) = 0;
  // The answer of a finished lookup (Errc::would_block while it is still running). A
  // resolver that failed or timed out is reported as rcode SERVFAIL, not as an error.
  virtual Result<ResolverAnswer> resolve_result(Handle h) = 0;

  virtual HostNetCounters counters() const = 0;
};

}  // namespace tapwire::host

template <>
struct std::hash<tapwire::host::Handle> {
  std::size_t operator()(const tapwire::host::Handle& h) const noexcept {
    return std::hash<std::uint64_t>{}(tapwire::slot_key(h));
  }
};
