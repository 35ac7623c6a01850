// The `tapwire` daemon: one VM transport, PosixHostNet and the proxy core on an epoll
// loop (docs/architecture.md §The poll-driven core), with an optional pcap capture and control socket.
//
// Theory of operation
// - Start-up: RLIMIT_NOFILE soft -> hard (logged), handed to Proxy::set_fd_limit (the
//   connection limit is the fd limit less a reserve unless --max-connections is given),
//   the Rng seeded from getrandom, the transport opened (a tap inside --netns), the
//   configured port forwards bound (forward_control.h), the control socket bound. Any
//   failure is logged and ends the process with exit code 1 (2 for a forward the
//   configuration got wrong), with nothing left bound.
// - Wiring: the transport hands frames from the VM to FrameTap (captured, then
//   Proxy::on_frame); the proxy sends frames through CaptureLink, a FrameLink in front of
//   the transport that captures each committed frame; PosixHostNet's events and the
//   transport's writable edges go straight to the Proxy (HostEventSink, LinkEventSink).
// - DNS: dns.hosts_file's entries are appended to dns.hosts before the proxy is built
//   (a bad file: exit code 2). Forward mode without upstreams uses /etc/resolv.conf's
//   name servers and re-reads the file when its stamp changes (checked every 2 s on the
//   loop's deadline; resolv_conf.h), handing the new list to Proxy::set_dns_upstreams.
//   Host mode's lookups run on PosixHostNet's resolver threads (resolver_pool.h).
// - DHCP leases (with dhcp.lease_file): loaded before the VM talks (a corrupt file is a
//   warning and an empty table), rewritten atomically after any poll that changed them.
// - The loop: `loop.run_once(min(proxy.poll_at(), next stats log)); proxy.poll(now)`.
//   Readiness handlers and the deferred queues run inside run_once; poll() runs once
//   per wakeup batch.
// - vfkit: a connected datagram socket only hears one peer, so when the VM goes away
//   the transport is replaced by a fresh listening one (between two loop turns, never
//   from inside the transport's own callback).
// - Shutdown (SIGTERM/SIGINT): the proxy resets the guest's connections and closes its
//   host sockets, the transport flushes, every remaining host socket is closed, the
//   capture is flushed and closed, the control socket file removed; exit code 0.
// ISNs: RFC 6528 (posix::IsnGenerator keyed from getrandom), plugged into the proxy's
// TcpStack through set_isn_source; everything else random comes from the Rng seeded
// from getrandom.
#pragma once

#include "stack/posix/daemon/cli.h"

namespace tapwire::daemon {

// Runs until SIGTERM/SIGINT; returns the process exit code (0 clean, 1 failure, 2 a
// configured forward that can never be bound).
int run_daemon(const DaemonOptions& options);

}  // namespace tapwire::daemon
