// What the proxy's flow handlers (TcpForwarder, UdpNat, IcmpEcho) and gateway
// services share: the one flow table, the one link gate, the owners of the host
// handles that are not flows, and the references every one of them needs. The Proxy
// builds one FlowContext and hands it to each component (docs/architecture.md §Flows).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "stack/base/log.h"
#include "stack/base/result.h"
#include "stack/base/time.h"
#include "stack/base/timer_heap.h"
#include "stack/host/host_net.h"
#include "stack/net/interface.h"
#include "stack/proxy/config.h"
#include "stack/proxy/connection_limit.h"
#include "stack/proxy/flow_table.h"
#include "stack/proxy/policy.h"
#include "stack/proxy/stats.h"
#include "stack/tcp/stack.h"

namespace tapwire::proxy {

// The one place that knows whether the link toward the guest is full
// (docs/architecture.md §Host and link contracts). Whoever meets `link_full` from the
// interface or the link marks it; while it is full no component reads a host socket;
// the Proxy clears it when the link reports writable and then lets each component
// resume, in a fixed order, until it fills again.
class LinkGate {
 public:
  bool full() const { return full_; }
  void mark_full() { full_ = true; }
  void clear() { full_ = false; }

 private:
  bool full_ = false;
};

// Flows owed a host read once the link drains, in the order they were parked.
class OwedReads {
 public:
  // Parks `flow` (once: Flow::owed_read says whether it is already queued).
  void add(Flow& flow) {
    if (flow.owed_read) return;
    flow.owed_read = true;
    queue_.push_back(flow.id);
  }
  // Calls read(flow) for each parked flow still alive, in order, while `gate` stays
  // open; flows parked again meanwhile go to the back and wait for the next drain.
  template <class Read>
  void resume(FlowTable& flows, const LinkGate& gate, Read&& read) {
    std::size_t i = 0;
    for (; i < queue_.size() && !gate.full(); ++i) {
      Flow* flow = flows.find(queue_[i]);
      if (flow == nullptr || !flow->owed_read) continue;  // gone meanwhile
      flow->owed_read = false;
      read(*flow);
    }
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  // The datagram handlers' form: parked with the host socket's read interest off (a
  // readable socket must not keep waking the loop while the link is full), and
  // resumed with it back on.
  void park_reader(Flow& flow, host::HostNet& host) {
    if (flow.owed_read) return;
    add(flow);
    host.set_read_interest(flow.host().handle, false);
  }
  template <class Read>
  void resume_readers(FlowTable& flows, const LinkGate& gate, host::HostNet& host, Read&& read) {
    resume(flows, gate, [&](Flow& flow) {
      host.set_read_interest(flow.host().handle, true);
      read(flow);
    });
  }
  void clear() { queue_.clear(); }
  std::size_t size() const { return queue_.size(); }

 private:
  std::vector<FlowId> queue_;
};

// Host handles the proxy owns that are not flows (a gateway service's upstream
// socket, a port forward's listener): who receives their events, and what they are
// for. Leak checks count these as expected.
class HandleOwners {
 public:
  void add(host::Handle handle, host::HostEventSink& owner, std::string what) {
    owners_[handle] = Owner{&owner, std::move(what)};
  }
  void remove(host::Handle handle) { owners_.erase(handle); }
  host::HostEventSink* find(host::Handle handle) const {
    const auto it = owners_.find(handle);
    return it == owners_.end() ? nullptr : it->second.sink;
  }
  std::size_t size() const { return owners_.size(); }
  std::vector<host::Handle> handles() const {
    std::vector<host::Handle> out;
    for (const auto& [handle, owner] : owners_) out.push_back(handle);
    return out;
  }
  // "udp/53 upstream socket" lines, for diagnostics.
  std::vector<std::string> describe() const {
    std::vector<std::string> out;
    for (const auto& [handle, owner] : owners_) out.push_back(owner.what);
    return out;
  }

 private:
  struct Owner {
    host::HostEventSink* sink = nullptr;
    std::string what;
  };
  std::unordered_map<host::Handle, Owner> owners_;
};

struct FlowContext {
  const ProxyConfig& config;
  const Policy& policy;
  net::NetInterface& iface;
  tcp::TcpStack& tcp;
  host::HostNet& host;
  FlowTable& flows;
  HandleOwners& handles;
  ProxyStats& stats;
  LinkGate& link;
  ConnectionLimit& limit;
};

// Closes a flow's host socket (FlowTable::close_handle) and logs a close error: the
// slot is released all the same (vpnkit#214: a failed close must not leak the slot).
void close_flow_handle(FlowContext& ctx, const Logger& log, Flow& flow, bool reset);
// The one connection-limit check of every flow opener (connection_limit.h): true
// when the proxy already holds the limit's host sockets; the drop `why` is counted
// and the warning logged at most once per 30 s ("new <refused> are refused").
bool over_connection_limit(FlowContext& ctx, const Logger& log, Instant now, Drop why, const char* refused);
// Logs `closed` when it is an error, naming `what` was being closed.
void report_close_error(const Logger& log, const Status& closed, std::string_view what);

// What the Proxy asks of each protocol's flow handler.
class FlowHandler {
 public:
  virtual ~FlowHandler() = default;
  // An event for the host handle of one of this protocol's flows.
  virtual void on_host_event(Instant now, Flow& flow, const host::HostEvent& event) = 0;
  // The link drained: resume the host reads owed (the gate is open on entry).
  virtual void on_link_writable(Instant now) = 0;
  // Runs the timers due (each handler keeps its flows' deadlines in `timers_`).
  virtual void poll(Instant now) = 0;
  std::optional<Instant> poll_at() const { return timers_.next_deadline(); }
  // Ends every flow of the protocol (shutdown): host handles closed, guests reset.
  virtual void close_all(Instant now) = 0;
  // Timers held; one per live flow at most (leak checks).
  std::size_t timer_count() const { return timers_.size(); }

 protected:
  TimerHeap<FlowId> timers_;  // at most one deadline per flow of the protocol
};

}  // namespace tapwire::proxy
