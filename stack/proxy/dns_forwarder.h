// DnsForwarder: the DNS service's resolver in "forward" mode (docs/architecture.md
// §DNS): each query goes to the configured upstream servers through ordinary host
// sockets, and the first usable answer is relayed to the client unchanged but for
// its id and question letters (dns_reply.h).
//
// Theory of operation (one query)
//   start ─► plan (zone or default groups; none: SERVFAIL at once) ─► one UDP socket
//   of its own (a fresh source port per query, and a fresh random id: an off-path
//   attacker must guess both, RFC 5452 §9) ─► group 0:
//     ask: send to the servers pick() names (all at once), deadline = now + timeout.
//     answer from an asked server, with our id and question:
//       SERVFAIL / REFUSED ─► that server failed; when every asked server has failed,
//                             the next group at once.
//       anything else (NOERROR, NXDOMAIN: answers, not failures) ─► the server is
//         healthy; with TC set and a TCP client ─► the same server over TCP (below);
//         otherwise relay it: done.
//     deadline ─► every asked server that has not answered failed; `attempts` sends
//       per group in all, then the next group; after the last group: SERVFAIL.
//   TCP (RFC 7766 §5): connect, send the 2-byte-framed query, read one framed reply;
//     any failure, or no reply before timeout x attempts, relays the truncated UDP
//     reply instead (the client sees TC=1, which is true).
//   Datagrams from elsewhere, with another id or another question are ignored and
//   counted (drop.dns_upstream_mismatch); unparsable ones too (drop.dns_upstream_malformed),
//   and the query keeps waiting for the real answer.
// The upstream sockets are the proxy's own (HandleOwners), counted by HostNet like
// any other and not subject to allow_outbound. Opening and closing them stays off a
// query's critical path: once the forwarder has been used it keeps sockets ready
// (topped up from poll: idle and busy ones make kSpareSockets, and one is always idle). A query takes one of them at random and has it to
// itself; when its answer has gone out the socket goes back to the pool, until it has
// served kSocketUses queries and is closed (a fresh one, with a fresh port, takes its
// place). So the source port changes every few queries and is one of several, on top
// of the random id per query (RFC 5452 §9.2 asks for both; a socket per query costs
// five system calls, a third of the whole path, measured in bench/RESULTS.md). A
// datagram reaching an idle socket is read and dropped.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "stack/base/log.h"
#include "stack/base/rng.h"
#include "stack/base/timer_heap.h"
#include "stack/proxy/dns_reply.h"
#include "stack/proxy/dns_resolver.h"
#include "stack/proxy/dns_upstreams.h"
#include "stack/proxy/flow_context.h"

namespace tapwire::proxy {

class DnsForwarder final : public DnsResolver {
 public:
  static constexpr std::size_t kSpareSockets = 4;
  static constexpr std::uint32_t kSocketUses = 16;

  DnsForwarder(FlowContext& ctx, DnsAnswerSink& sink, Rng rng, Logger logger);
  ~DnsForwarder() override;

  std::optional<std::vector<std::uint8_t>> start(Instant now, DnsQueryId id, wire::DnsMessage query,
                                                 Bytes raw, DnsTransport transport) override;
  void cancel(DnsQueryId id) override;
  void poll(Instant now) override;
  std::optional<Instant> poll_at() const override;
  void shutdown() override;
  void leaks(std::vector<std::string>& out) const override;
  std::vector<DnsUpstreamStatus> upstream_status() const override { return upstreams_.status(); }
  void set_upstreams(std::vector<DnsUpstreamGroup> groups) override { upstreams_.set_default(groups); }

  void on_host_event(Instant now, const host::HostEvent& event) override;

 private:
  struct Query;
  using Key = std::uint64_t;  // slot_key of the DnsQueryId

  // Sends to the servers of the current group; false when the group has none to ask.
  bool ask_group(Instant now, Query& q);
  // Moves to the next group with servers to ask, or answers SERVFAIL.
  void next_group(Instant now, Query& q);
  // One send to every asked server that has not failed; the deadline moves on.
  void send_round(Instant now, Query& q);
  void on_timeout(Instant now, Query& q);
  void read_udp(Instant now, Query& q);
  // A datagram from the server q.asked[slot].
  void on_udp_reply(Instant now, Query& q, std::size_t slot, Bytes reply);
  // A datagram or TCP reply that is not an answer to us: counted.
  void count_unusable(UpstreamReplyProblem problem);
  void start_tcp(Instant now, Query& q, std::uint32_t server, std::vector<std::uint8_t> truncated);
  void on_tcp_event(Instant now, Query& q, const host::HostEvent& event);
  void send_tcp(Instant now, Query& q);
  void read_tcp(Instant now, Query& q);
  void tcp_failed(Instant now, Query& q);
  // Hands `reply` to the sink and forgets the query.
  void finish(Instant now, Query& q, std::vector<std::uint8_t> reply);
  void servfail(Instant now, Query& q);
  void close_handle(host::Handle& h);
  struct Socket {
    host::Handle handle;
    std::uint32_t uses = 0;
  };
  // A socket for a new query: an idle one at random, else a fresh one.
  Result<Socket> take_socket();
  // Back to the pool after a query, or closed (worn out, or the pool is full).
  void return_socket(Query& q);
  std::size_t spare_target() const;
  void top_up_spares();
  void drain_spare(host::Handle h);
  void close_handles(Query& q);

  FlowContext& ctx_;
  DnsAnswerSink& sink_;
  Rng rng_;
  Logger log_;
  DnsUpstreams upstreams_;
  std::unordered_map<Key, std::unique_ptr<Query>> queries_;
  std::unordered_map<host::Handle, Key> by_handle_;
  TimerHeap<DnsQueryId> timers_;
  std::vector<std::uint8_t> rx_;  // one datagram
  std::vector<Socket> spares_;
  bool used_ = false;           // spares are kept once the first query came
  Instant now_ = Instant::epoch();
};

}  // namespace tapwire::proxy
