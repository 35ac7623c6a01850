// SimHostNet: host::HostNet on a sim::World. It models the host's network stack (the
// proxy's sockets, fd accounting, listeners) and the world behind it (remote servers
// with behaviours, host-side clients, UDP peers, ping targets).
//
// Theory of operation.
// - Sockets. Every handle is a SlotTable id (index, generation); freed slots are reused
//   oldest first. close()/abort() free the slot at once (generation bumped, so the old handle is stale: Errc::not_found) and every
//   event already queued for it is dropped when it comes due. TCP byte streams live in
//   a TcpFabric (tcp_fabric.h): finite buffers, latency, FIN, RST.
// - Handshake timing, with L the one-way latency of the remote address: the SYN reaches
//   the server after L (a server accepts at once; a proxy listener queues it, or refuses
//   it when `backlog` connections are already waiting), the initiator learns the answer
//   (connected or refused) after 2L. `blackhole` never answers. An address:port with no
//   server and no address-wide default refuses, with the config's default_latency.
// - Events are World events scheduled at the instant something happens (never
//   delivered inside a HostNet call) and handed to the HostEventSink:
//     readable     edge-style, at most one per "edge": the edge is armed initially and
//                  re-armed whenever recv/udp_recv_from/icmp_echo_recv finds the queue
//                  empty (would_block or EOF) or empties it. With read interest off,
//                  nothing is raised; turning it on while data, EOF or an error is
//                  waiting raises `readable` (at the current instant, as an event).
//                  Listeners raise `accept_ready` by the same rule (re-armed when
//                  tcp_accept finds or leaves the queue empty).
//     writable     once, after send() returned would_block or a short count, when at
//                  least half the send buffer is free again (or on connect completion).
//     hangup       when the peer's RST arrives, whatever the read interest; recv and
//                  send then fail with Errc::refused ("connection reset by peer").
//     connected / refused (error Errc::refused) for tcp_connect. After `refused` (or
//                  `hangup`) the handle stays open, and counted, until the core closes it.
//   send() while still connecting returns would_block (`writable` follows `connected`).
//   A socket accepted with bytes already waiting raises `readable` right after accept.
// - fds. Every open handle holds one fd; tcp_connect, tcp_listen, tcp_accept, udp_open
//   and icmp_open fail with Errc::limit (counted in fd_limit_hits) when open fds plus
//   lingering ones reach fd_limit. With close_delay > 0, a closed socket's fd lingers
//   (still counted) for that long, though its handle is invalid at once (vpnkit#214).
//   A failed accept leaves the connection queued, as EMFILE from accept(2) does.
// - Servers and clients on the far side are not fds of this host's proxy process and
//   are not counted.
// - UDP: datagrams to a UDP server arrive after L; `echo` sends each back (arriving
//   another L later); a datagram to an address with nothing listening is dropped
//   (counted). Sends never block. A socket queues at most udp_rcvbuf bytes of
//   datagrams; more are dropped (counted). Host UDP peers (udp_peer_open) can exchange
//   datagrams with the proxy's UDP sockets.
// - ICMP: icmp_echo_send to an address that answers (see sim_host_config.h) queues the
//   reply after 2L; others are dropped silently.
// - DNS (sim_host_dns.cpp): a DNS server (sim_dns_server.h) at an endpoint answers
//   UDP datagrams sent there (it is checked before ordinary UDP servers) and accepts
//   TCP connections (after proxy listeners, before ordinary TCP servers), with its own
//   latency. The host resolver (sim_resolver.h) answers resolve(): a lookup handle is
//   no socket: it comes from a table of its own whose indexes start at
//   kLookupIndexBase, so it never equals a socket handle; it holds no fd and is not in
//   open_handles; its `resolved` event comes `delay` after resolve() (dropped when the
//   handle was closed first). At most kMaxLookups handles may be open (started and not
//   yet closed, answered or not); one more is Errc::limit. Without set_resolver every
//   lookup answers SERVFAIL after zero delay, as a host without a working resolver.
// - Determinism: the randomness (the first ephemeral port, and each DNS server's drops)
//   comes from world.rng("host") and world.rng("host.dns <ip:port>"); there is no clock
//   but the World's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sim/core/world.h"
#include "sim/host/sim_dns_server.h"
#include "sim/host/sim_host_config.h"
#include "sim/host/sim_resolver.h"
#include "sim/host/tcp_apps.h"
#include "sim/host/tcp_fabric.h"
#include "stack/base/rng.h"
#include "stack/base/slot_table.h"
#include "stack/host/host_net.h"

namespace tapwire::sim {

enum class SimSocketKind { tcp, listener, udp, icmp };
std::string_view to_string(SimSocketKind kind);

struct SimSocketInfo {
  host::Handle handle;
  SimSocketKind kind = SimSocketKind::tcp;
  host::Endpoint local;
  host::Endpoint remote;
  std::string state;  // tcp: TcpFabric::state_string; "listening", "bound", "open"
  std::uint64_t bytes_in = 0;   // returned by recv / udp_recv_from / icmp_echo_recv
  std::uint64_t bytes_out = 0;  // accepted by send / udp_send_to / icmp_echo_send
  bool read_interest = true;
};

// Counters beyond HostNetCounters, for stats and tests.
struct SimHostStats {
  std::uint64_t events_delivered = 0;
  std::uint64_t events_dropped_stale = 0;  // due for a handle closed in the meantime
  std::uint64_t events_dropped_no_sink = 0;
  std::uint64_t udp_dropped_no_server = 0;
  std::uint64_t udp_dropped_rcvbuf = 0;
  std::uint64_t icmp_echo_unanswered = 0;
  std::uint64_t backlog_refusals = 0;
  std::uint64_t tcp_refused = 0;  // connects answered with RST (server, listener or none)
  std::uint64_t lookups_started = 0;
};

class SimHostNet : public host::HostNet, private EndOwner {
 public:
  SimHostNet(World& world, SimHostConfig config = {});
  ~SimHostNet() override;
  SimHostNet(const SimHostNet&) = delete;
  SimHostNet& operator=(const SimHostNet&) = delete;

  // --- configuration of the remote world (any time) ---
  // Adds or replaces the server at spec.ip:spec.port (port 0: the address-wide default).
  void add_server(const ServerSpec& spec);
  // parse_server_spec + add_server; returns an error message on failure.
  std::optional<std::string> add_server(std::string_view behaviour, const HostParams& params);
  bool remove_server(host::Endpoint at, ServerProto proto = ServerProto::tcp);
  void set_ping(wire::Ipv4Addr addr, bool answers) { config_.ping[addr] = answers; }
  const SimHostConfig& config() const { return config_; }
  void set_fd_limit(std::uint64_t limit) { config_.fd_limit = limit; }
  void set_close_delay(Duration d) { config_.close_delay = d; }
  // Makes the nth close()/abort() of a socket from now on (1 = the next) report an
  // error, as close(2) failing with EIO: the handle and its fd are freed all the same
  // (Linux frees the descriptor whatever close returns). Counted in close_errors.
  void fail_close(std::uint64_t nth);

  // --- DNS (sim_host_dns.cpp) ---
  // Adds or replaces the DNS server at spec.at; an error message (and no change) when
  // the spec is invalid (sim_dns_server.h).
  std::optional<std::string> add_dns_server(DnsServerSpec spec);
  bool remove_dns_server(host::Endpoint at);
  const DnsServerStats* dns_server_stats(host::Endpoint at) const;
  // Sets the host resolver's model; an error message (and no change) when invalid.
  std::optional<std::string> set_resolver(ResolverSpec spec);
  void clear_resolver() { resolver_.reset(); }
  std::size_t open_lookups() const { return lookups_.size(); }
  static constexpr std::uint32_t kLookupIndexBase = 0x40000000;
  static constexpr std::size_t kMaxLookups = 256;

  // --- host::HostNet ---
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

  // --- host-side clients (port-forward tests, Python's sim.host.connect) ---
  // Connects from `from` (port 0: an ephemeral client port; default 127.0.0.1) to a
  // proxy listener at `to`, else to a server at `to`, else is refused. The client is
  // owned by SimHostNet and lives as long as it does.
  SimHostClient& host_connect(host::Endpoint to, std::optional<host::Endpoint> from = std::nullopt);
  SimHostClient* client(std::uint64_t id);
  std::size_t client_count() const { return clients_.size(); }

  // Host UDP peers: an endpoint on the host side that exchanges datagrams with the
  // proxy's UDP sockets. Datagrams the proxy sends to it are kept in order.
  struct UdpDatagram {
    host::Endpoint from;
    std::vector<std::uint8_t> data;
  };
  void udp_peer_open(host::Endpoint local);
  // Sends from a peer opened with udp_peer_open to `to` (a proxy UDP socket); arrives
  // after the default latency. False when `local` was never opened.
  bool udp_peer_send(host::Endpoint local, host::Endpoint to, Bytes datagram);
  const std::deque<UdpDatagram>* udp_peer_received(host::Endpoint local) const;

  // --- introspection ---
  std::vector<SimSocketInfo> sockets() const;  // open handles, in slot order
  std::size_t open_sockets() const { return static_cast<std::size_t>(counters_.open_handles); }
  std::uint64_t fds_in_use() const { return counters_.open_handles + lingering_fds_; }
  std::uint64_t lingering_fds() const { return lingering_fds_; }
  const ServerStats* server_stats(host::Endpoint at, ServerProto proto = ServerProto::tcp) const;
  const SimHostStats& stats() const { return stats_; }
  // Connections still alive in the fabric (including ones only servers hold).
  std::size_t fabric_connections() const { return fabric_.live_connections(); }
  std::size_t server_apps() const { return apps_.size(); }

 private:
  struct Slot;
  struct ServerEntry;
  struct Lookup {  // one resolve() handle
    host::ResolverAnswer answer;
    bool done = false;  // the answer is due: resolve_result gives it
  };
  void on_end_event(std::uint64_t tag, EndEvent event) override;

  Slot* slot(host::Handle h);
  const Slot* slot(host::Handle h) const;
  Result<std::uint32_t> alloc_slot(SimSocketKind kind);
  void free_slot(std::uint32_t index);
  bool fd_available();
  host::Handle handle_of(std::uint32_t index) const;
  std::uint16_t ephemeral_port(std::set<std::uint16_t>& used);
  wire::Ipv4Addr local_addr_for(wire::Ipv4Addr remote) const;
  // Queues `event` for `h`, delivered at now unless the handle is gone by then.
  void post(host::Handle h, host::HostEventKind kind, Errc error = Errc::invalid_state);
  void raise_readable(std::uint32_t index);
  void later(Duration delay, std::function<void()> fn);
  // Counts one socket close and reports the error fail_close() planted for it, if any.
  Status close_outcome();

  // Finds who answers a SYN to `to`: a proxy listener (slot index), a server, or nothing.
  ServerEntry* tcp_server_at(host::Endpoint to);
  std::optional<std::uint32_t> listener_at(host::Endpoint to) const;
  Duration latency_to(host::Endpoint to) const;
  // Starts a connection from an end configured by `initiator` to `to`; returns the
  // connection id. Shared by tcp_connect and host_connect.
  std::uint64_t open_connection(host::Endpoint to, const TcpFabric::EndConfig& initiator);
  void syn_arrives(std::uint64_t conn, host::Endpoint to, host::Endpoint from);
  bool answers_ping(wire::Ipv4Addr addr) const;
  void udp_deliver(host::Endpoint to, host::Endpoint from, std::vector<std::uint8_t> data);
  // Gives an accepted connection's end to a server app and completes the handshake.
  void start_app(std::uint64_t conn, EndRef acceptor, std::unique_ptr<TcpServerApp> app);
  SimDnsServer* dns_server_at(host::Endpoint at) const;
  // A datagram from the proxy's socket at `from` to the DNS server at `to`.
  void dns_udp_query(host::Endpoint from, host::Endpoint to, std::vector<std::uint8_t> data);
  Lookup* lookup(host::Handle h);
  bool close_lookup(host::Handle h);

  World& world_;
  SimHostConfig config_;
  TcpFabric fabric_;
  host::HostEventSink* sink_ = nullptr;
  SlotTable<Slot, host::Handle, SlotReuse::oldest_first> slots_;
  host::HostNetCounters counters_;
  SimHostStats stats_;
  std::uint64_t lingering_fds_ = 0;
  std::uint64_t closes_ = 0;                   // socket closes and aborts so far
  std::set<std::uint64_t> failing_closes_;     // close numbers that report an error
  std::set<std::uint16_t> tcp_ports_;
  std::set<std::uint16_t> udp_ports_;
  std::uint16_t next_port_ = 0;
  std::uint16_t next_client_port_ = 40000;
  std::uint64_t next_client_id_ = 1;
  Rng rng_;
  std::multimap<std::uint16_t, std::uint32_t> listeners_;  // port -> listener slot
  std::map<std::uint16_t, std::uint32_t> udp_bound_;       // port -> udp slot
  std::vector<std::unique_ptr<ServerEntry>> retired_servers_;  // replaced, kept for live apps
  std::map<std::pair<std::uint32_t, std::uint16_t>, std::unique_ptr<ServerEntry>> tcp_servers_;  // port 0: default
  std::map<std::pair<std::uint32_t, std::uint16_t>, std::unique_ptr<ServerEntry>> udp_servers_;
  std::map<std::uint64_t, std::unique_ptr<TcpServerApp>> apps_;  // by fabric connection id
  std::vector<std::unique_ptr<SimHostClient>> clients_;
  std::map<std::pair<std::uint32_t, std::uint16_t>, std::deque<UdpDatagram>> udp_peers_;
  std::map<std::pair<std::uint32_t, std::uint16_t>, std::unique_ptr<SimDnsServer>> dns_servers_;
  std::vector<std::unique_ptr<SimDnsServer>> retired_dns_servers_;  // replaced, kept for live apps
  std::optional<SimResolver> resolver_;
  SlotTable<Lookup, host::Handle, SlotReuse::oldest_first> lookups_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

}  // namespace tapwire::sim
