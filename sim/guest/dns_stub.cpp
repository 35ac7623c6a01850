#include "sim/guest/dns_stub.h"

#include <algorithm>
#include <utility>

#include "sim/guest/guest_connection.h"
#include "sim/guest/guest_vm.h"
#include "stack/tcp/types.h"

namespace tapwire::sim {

namespace {

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

std::string_view to_string(DnsTransport t) {
  switch (t) {
    case DnsTransport::none: return "none";
    case DnsTransport::udp: return "udp";
    case DnsTransport::tcp: return "tcp";
  }
  return "?";
}

// ---------------------------------------------------------------------------------
// Asking

bool DnsStub::prepare(GuestDnsQuery& q, const std::vector<std::uint16_t>& taken_ids) {
  const DnsQueryOptions& o = q.options;
  auto name = wire::DnsName::parse_text(o.name);
  if (!name.ok()) {
    q.error = std::string("dns: bad name: ") + name.error().reason;
  } else if (!vm_.ip()) {
    q.error = "dns: the guest has no address";
  } else if (o.server) {
    q.server = *o.server;
  } else if (vm_.lease().done && !vm_.lease().dns.empty()) {
    q.server = vm_.lease().dns.front();
  } else if (vm_.interface().config().gateway) {
    q.server = *vm_.interface().config().gateway;
  } else {
    q.error = "dns: no server (no DNS server in the lease, no gateway)";
  }
  if (q.error) {
    q.done = true;
    ++counters_.failed;
    return false;
  }
  if (o.id) {
    q.id = *o.id;
  } else {
    do q.id = rng_.next_u16();
    while (std::find(taken_ids.begin(), taken_ids.end(), q.id) != taken_ids.end());
  }
  q.qname = *name;
  if (o.randomize_case) {
    // The 0x20 bits (draft-vixie-dnsext-dns0x20): each letter's case from one draw.
    std::vector<std::string> labels = name->labels();
    for (std::string& label : labels)
      for (char& c : label)
        if (is_letter(c)) c = static_cast<char>((rng_.next_u64() & 1) != 0 ? (c | 0x20) : (c & ~0x20));
    q.qname = *wire::DnsName::from_labels(labels);  // same lengths: cannot fail
  }
  wire::DnsMessage msg = wire::DnsMessage::make_query(q.id, q.qname, o.qtype);
  if (o.edns) {
    wire::DnsEdns edns;
    edns.udp_payload_size = *o.edns;
    msg.additional.push_back(edns.to_record());
  }
  q.question = msg.encode();
  return true;
}

DnsStub::Active& DnsStub::add(GuestDnsQueryPtr q) {
  active_.push_back(std::make_unique<Active>());
  Active& a = *active_.back();
  a.q = std::move(q);
  return a;
}

GuestDnsQueryPtr DnsStub::query(Instant now, const DnsQueryOptions& options) {
  auto q = std::make_shared<GuestDnsQuery>();
  q->options = options;
  ++counters_.queries;
  if (!prepare(*q, {})) return q;
  Active& a = add(q);
  if (options.tcp) {
    open_channel(now, {&a});
    return q;
  }
  auto port = vm_.udp_bind_ephemeral();
  if (!port.ok()) {
    fail(a, "dns: no free udp port");
    return q;
  }
  a.udp_port = *port;
  a.udp_due = true;
  a.udp_left = options.retries;
  return q;
}

std::vector<GuestDnsQueryPtr> DnsStub::query_pipelined(Instant now, const std::vector<DnsQueryOptions>& options) {
  std::vector<GuestDnsQueryPtr> out;
  std::vector<Active*> members;
  std::vector<std::uint16_t> ids;
  for (const DnsQueryOptions& o : options) {
    auto q = std::make_shared<GuestDnsQuery>();
    q->options = o;
    q->pipelined = true;
      out.push_back(q);
    ++counters_.queries;
    if (!prepare(*q, ids)) continue;
    ids.push_back(q->id);
    members.push_back(&add(q));
  }
  if (!members.empty()) open_channel(now, std::move(members));
  return out;
}

void DnsStub::open_channel(Instant now, std::vector<Active*> members) {
  const GuestDnsQuery& first = *members.front()->q;
  auto conn = vm_.tcp_connect(first.server, first.options.port);
  if (!conn.ok()) {
    for (Active* a : members) fail(*a, std::string("dns: tcp connect: ") + conn.error().reason);
    return;
  }
  ++counters_.tcp_channels;
  channels_.push_back(std::make_unique<Channel>());
  Channel& ch = *channels_.back();
  ch.conn = *conn;
  std::vector<std::uint8_t> out;
  for (Active* a : members) {
    GuestDnsQuery& q = *a->q;
    wire::dns_tcp_append(out, Bytes(q.question.data(), q.question.size()));
    if (!q.sent_at) q.sent_at = now;
    a->deadline = now + q.options.timeout;
    a->channel = &ch;
  }
  ch.conn->send(Bytes(out.data(), out.size()));
  ch.members = std::move(members);
}

// ---------------------------------------------------------------------------------
// Replies

DnsStub::Verdict DnsStub::check_reply(const GuestDnsQuery& q, const wire::DnsMessage& m) {
  if (!m.header.qr) return Verdict::malformed;
  if (m.header.id != q.id) return Verdict::wrong_id;
  if (m.questions.size() != 1) return Verdict::wrong_question;
  const wire::DnsQuestion& asked = m.questions.front();
  if (!(asked.name == q.qname) || asked.qtype != q.options.qtype || asked.qclass != wire::dns_class::IN)
    return Verdict::wrong_question;
  return Verdict::accept;
}

void DnsStub::count_ignored(GuestDnsQuery* q, Verdict v) {
  switch (v) {
    case Verdict::malformed:
      ++counters_.ignored_malformed;
      if (q) ++q->ignored_malformed;
      break;
    case Verdict::wrong_id:
      ++counters_.ignored_wrong_id;
      if (q) ++q->ignored_wrong_id;
      break;
    case Verdict::wrong_question:
      ++counters_.ignored_wrong_question;
      if (q) ++q->ignored_wrong_question;
      break;
    case Verdict::accept:
      break;
  }
}

void DnsStub::take_reply(Instant now, Active& a, const wire::DnsMessage& m, Bytes raw, DnsTransport via) {
  GuestDnsQuery& q = *a.q;
  if (via == DnsTransport::udp && m.header.tc && q.options.tcp_fallback &&
      !(q.options.randomize_case && !m.questions.front().name.equals_exact(q.qname))) {
    q.fell_back_to_tcp = true;
    ++counters_.tcp_fallbacks;
    release_udp(a);
    open_channel(now, {&a});
    return;
  }
  q.rcode = m.header.rcode;
  q.flags = m.header.flags();
  q.truncated = m.header.tc;
  q.answers = m.answers;
  q.raw.assign(raw.begin(), raw.end());
  q.answered_at = now;
  q.transport_used = via;
  ++counters_.answered;
  if (q.options.randomize_case && !m.questions.front().name.equals_exact(q.qname)) {
    q.rejected = "question case not echoed";
  } else if (q.options.strict) {
    q.rejected = strict_chain_check(q.qname, q.options.qtype, q.answers);
  }
  if (q.rejected) ++counters_.rejected;
  finish(a);
}

// ---------------------------------------------------------------------------------
// Poll

void DnsStub::poll_udp(Instant now, Active& a) {
  GuestDnsQuery& q = *a.q;
  while (a.udp_port) {
    auto d = vm_.udp_recv(*a.udp_port);
    if (!d) break;
    if (d->src != q.server || d->src_port != q.options.port) {
      ++counters_.ignored_wrong_source;
      ++q.ignored_wrong_source;
      continue;
    }
    const Bytes data(d->data.data(), d->data.size());
    auto m = wire::DnsMessage::parse(data);
    const Verdict v = m.ok() ? check_reply(q, *m) : Verdict::malformed;
    if (v != Verdict::accept) {
      count_ignored(&q, v);
      continue;
    }
    take_reply(now, a, *m, data, DnsTransport::udp);
  }
  if (!a.udp_port || q.done) return;
  if (!a.udp_due && now >= a.deadline) {
    if (a.udp_left == 0) {
      q.timed_out = true;
      ++counters_.timed_out;
      finish(a);
      return;
    }
    --a.udp_left;
    a.udp_due = true;
  }
  if (!a.udp_due || vm_.port().blocked()) return;
  const auto r = vm_.udp_send(*a.udp_port, q.server, q.options.port, Bytes(q.question.data(), q.question.size()));
  if (r == net::SendResult::link_full) return;  // still due; the link's writable event polls us
  // Anything else counts as sent: a datagram the interface dropped is a lost datagram.
  a.udp_due = false;
  a.deadline = now + q.options.timeout;
  if (!q.sent_at) q.sent_at = now;
  ++q.udp_sends;
  ++counters_.udp_sent;
}

void DnsStub::poll_channel(Instant now, Channel& ch) {
  const std::vector<std::uint8_t> in = ch.conn->recv();
  ch.rx.insert(ch.rx.end(), in.begin(), in.end());
  GuestDnsQuery* only = ch.members.size() == 1 ? ch.members.front()->q.get() : nullptr;
  std::size_t at = 0;
  while (const auto message = wire::dns_tcp_next(Bytes(ch.rx.data(), ch.rx.size()), at)) {
    const Bytes data = *message;
    auto m = wire::DnsMessage::parse(data);
    if (!m.ok()) {
      count_ignored(only, Verdict::malformed);
      continue;
    }
    // Replies may come in any order (RFC 7766 §7): the closest open query decides.
    Verdict best = Verdict::malformed;
    Active* closest = nullptr;
    for (Active* a : ch.members) {
      if (a->q->done) continue;
      const Verdict v = check_reply(*a->q, *m);
      if (closest == nullptr || v > best) {
        best = v;
        closest = a;
      }
      if (v == Verdict::accept) break;
    }
    if (closest == nullptr) {
      count_ignored(only, Verdict::wrong_id);  // every query already done
    } else if (best == Verdict::accept) {
      take_reply(now, *closest, *m, data, DnsTransport::tcp);
    } else {
      count_ignored(best == Verdict::wrong_question ? closest->q.get() : only, best);
    }
  }
  ch.rx.erase(ch.rx.begin(), ch.rx.begin() + static_cast<std::ptrdiff_t>(at));
  const bool over = ch.conn->eof() || ch.conn->closed_at().has_value();
  for (Active* a : ch.members) {
    if (a->q->done) continue;
    if (over) {
      const tcp::CloseReason why = ch.conn->close_reason();
      fail(*a, why == tcp::CloseReason::none || why == tcp::CloseReason::normal
                   ? std::string("dns: tcp: the server closed before answering")
                   : "dns: tcp: " + std::string(tcp::to_string(why)));
    } else if (now >= a->deadline) {
      a->q->timed_out = true;
      ++counters_.timed_out;
      finish(*a);
    }
  }
}

void DnsStub::poll(Instant now) {
  for (std::size_t i = 0; i < active_.size(); ++i) {
    Active& a = *active_[i];
    if (!a.q->done && a.udp_port) poll_udp(now, a);
  }
  for (std::size_t i = 0; i < channels_.size(); ++i) poll_channel(now, *channels_[i]);
  // Channels whose queries are all done close: FIN once established, else an abort
  // (in SYN-SENT it sends nothing, RFC 9293 §3.10.5).
  std::erase_if(channels_, [](const std::unique_ptr<Channel>& ch) {
    for (Active* a : ch->members)
      if (!a->q->done) return false;
    if (!ch->conn->released()) {
      if (ch->conn->established()) ch->conn->close();
      else ch->conn->reset();
    }
    for (Active* a : ch->members) a->channel = nullptr;
    return true;
  });
  std::erase_if(active_, [](const std::unique_ptr<Active>& a) { return a->q->done && a->channel == nullptr; });
}

std::optional<Instant> DnsStub::poll_at(Instant now, bool link_room) const {
  std::optional<Instant> best;
  for (const auto& a : active_) {
    if (a->q->done) continue;  // swept on the next poll, nothing to wake for
    const Instant t = a->udp_due ? (link_room ? now : Instant::never()) : a->deadline;
    if (t != Instant::never() && (!best || t < *best)) best = t;
  }
  return best;
}

// ---------------------------------------------------------------------------------
// Endings

void DnsStub::release_udp(Active& a) {
  if (a.udp_port) vm_.udp_unbind(*a.udp_port);
  a.udp_port.reset();
  a.udp_due = false;
}

void DnsStub::finish(Active& a) {
  release_udp(a);
  a.q->done = true;
}

void DnsStub::fail(Active& a, std::string why) {
  a.q->error = std::move(why);
  ++counters_.failed;
  finish(a);
}

}  // namespace tapwire::sim
