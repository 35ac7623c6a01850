// The seam between the DNS service and whatever answers the names it does not know
// itself (docs/architecture.md §DNS): the upstream forwarder (dns_forwarder.h) or the
// host's resolver (dns_host_resolver.h), one per mode.
//
// Contract
// - The service hands over a parsed query (exactly one question, opcode QUERY; the
//   resolver keeps it, no copy) with its raw bytes and a token. The resolver answers at once (start returns the reply)
//   or later, exactly once, through DnsAnswerSink::answer with the same token, from
//   poll() or from a host event, never from inside start().
// - A reply is a whole DNS message for the client: its id, its question bytes (letter
//   case included) and QR set; the service only fits it to the client's transport
//   (truncation for UDP) and sends it.
// - cancel(token) withdraws a query whose client went away; no answer follows.
// - The resolver owns its host handles and registers them in the FlowContext's
//   HandleOwners; leaks() reports what is left after shutdown().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/slot_table.h"
#include "stack/base/time.h"
#include "stack/host/host_net.h"
#include "stack/proxy/dns_reply.h"
#include "stack/proxy/dns_status.h"
#include "stack/wire/dns.h"

namespace tapwire::proxy {

using DnsQueryId = SlotId;

class DnsAnswerSink {
 public:
  virtual ~DnsAnswerSink() = default;
  virtual void answer(Instant now, DnsQueryId id, std::vector<std::uint8_t> reply) = 0;
};

class DnsResolver : public host::HostEventSink {
 public:
  ~DnsResolver() override = default;

  // The reply, when it is known at once; nothing when it will come through the sink.
  // `transport` is the client's: a TCP client can take a whole answer, so a truncated
  // upstream answer is worth asking again over TCP.
  virtual std::optional<std::vector<std::uint8_t>> start(Instant now, DnsQueryId id, wire::DnsMessage query,
                                                         Bytes raw, DnsTransport transport) = 0;
  virtual void cancel(DnsQueryId id) = 0;
  virtual void poll(Instant now) = 0;
  virtual std::optional<Instant> poll_at() const = 0;
  // Closes every host handle; queries in flight get no answer.
  virtual void shutdown() = 0;
  virtual void leaks(std::vector<std::string>& out) const = 0;
  // Upstream health (the forwarder); empty otherwise.
  virtual std::vector<DnsUpstreamStatus> upstream_status() const { return {}; }
  virtual void set_upstreams(std::vector<DnsUpstreamGroup>) {}
};

}  // namespace tapwire::proxy
