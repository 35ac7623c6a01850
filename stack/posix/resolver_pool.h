// ResolverPool: the host's own resolver (the DNS service's "host" mode) on a few worker
// threads, so a slow lookup never blocks the event loop (docs/architecture.md §DNS).
//
// Theory of operation
// - stack/posix is the only place threads exist. The pool owns a fixed set of workers
//   (2 by default) and a bounded queue: submit() fails with Errc::limit when
//   `max_pending` lookups (queued or running) are already waiting.
// - Each worker owns its `struct __res_state` (res_ninit reads /etc/resolv.conf and
//   RES_OPTIONS) and runs res_nquery(name, class IN, qtype), which blocks for at most
//   the resolver's own timeout x attempts. Before each lookup the worker stats the
//   configuration file (device, inode, size, mtime) and re-runs res_ninit when it
//   changed: glibc re-reads it only for the implicit global state, never for ours.
// - Options::servers, when given, replace the configured name servers after every
//   res_ninit (res.nsaddr_list / res.nscount). Tests use it to point the pool at a
//   server on 127.0.0.1; the daemon never sets it (host mode uses the host's
//   configuration only).
// - The reply is turned into a host::ResolverAnswer by answer_from_reply() (below): the
//   rcode and the answer-section records in wire order. res_nquery returns -1 for
//   NXDOMAIN and NODATA but has still copied the reply into the buffer, so the buffer
//   is parsed whenever the resolver says a server answered, and the CNAME chain in
//   front of an NXDOMAIN is kept.
// - Completions go to a list under the mutex and bump an eventfd; the owner registers
//   notify_fd() with its EventLoop and calls take_completed() when it is readable. A
//   completion carries the caller's 64-bit tag; the pool never interprets it.
// - cancel(tag) removes a lookup that has not started. One already running cannot be
//   interrupted: its completion still arrives and the owner drops it (PosixHostNet's
//   tags are generation-checked handles, so a late answer cannot reach a reused slot).
// - The destructor stops the workers, drops what is queued and joins them; a worker in
//   the middle of res_nquery finishes that lookup first.
#pragma once

#include <netinet/in.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/host/host_net.h"
#include "stack/posix/unique_fd.h"
#include "stack/wire/dns.h"

namespace tapwire::posix {

struct ResolverPoolOptions {
  std::size_t threads = 2;
  std::size_t max_pending = 256;  // queued + running lookups; more: Errc::limit
  // Name servers to use instead of the configuration's (at most MAXNS = 3 are used).
  std::vector<sockaddr_in> servers;
  // The configuration file whose changes make the workers re-run res_ninit.
  std::string resolv_conf = "/etc/resolv.conf";
};

struct ResolverCompletion {
  std::uint64_t tag = 0;
  host::ResolverAnswer answer;
};

struct ResolverPoolCounters {
  std::uint64_t submitted = 0;
  std::uint64_t completed = 0;
  std::uint64_t cancelled = 0;     // removed from the queue before a worker took them
  std::uint64_t limit_hits = 0;    // submit() refused: max_pending reached
  std::uint64_t reinits = 0;       // res_ninit re-run after the configuration changed
};

class ResolverPool {
 public:
  using Options = ResolverPoolOptions;

  // Creates the eventfd and starts the workers.
  static Result<std::unique_ptr<ResolverPool>> start(Options options);
  ~ResolverPool();  // stops and joins the workers
  ResolverPool(const ResolverPool&) = delete;
  ResolverPool& operator=(const ResolverPool&) = delete;

  // Queues a lookup of (name, IN, qtype). Errc::limit when max_pending are waiting.
  Status submit(std::uint64_t tag, const wire::DnsName& name, std::uint16_t qtype);
  // Drops a lookup that no worker has taken yet (true); false when it is running or done.
  bool cancel(std::uint64_t tag);
  // Readable (edge) when completions are waiting.
  int notify_fd() const { return notify_.get(); }
  // Moves the finished lookups to `out` (appended) and clears the notification.
  void take_completed(std::vector<ResolverCompletion>& out);
  // Lookups queued or running.
  std::size_t pending() const;
  ResolverPoolCounters counters() const;

 private:
  struct Job {
    std::uint64_t tag = 0;
    std::string name;  // presentation format for res_nquery
    std::uint16_t qtype = 0;
  };
  explicit ResolverPool(Options options) : options_(std::move(options)) {}
  void worker();

  Options options_;
  UniqueFd notify_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  std::vector<ResolverCompletion> done_;
  std::size_t pending_ = 0;  // queue_ + running
  bool stopping_ = false;
  ResolverPoolCounters counters_;
  std::vector<std::thread> workers_;
};

// The answer res_nquery gave: `length` is its return value, `reply` the answer buffer
// (parsed when a server replied even if length is -1), `herrno` the state's
// res_h_errno. HOST_NOT_FOUND -> NXDOMAIN; NO_DATA -> NOERROR with no records (plus any
// CNAMEs the reply carried); anything else, or a reply that does not parse -> SERVFAIL.
host::ResolverAnswer answer_from_reply(int length, Bytes reply, int herrno);

}  // namespace tapwire::posix
