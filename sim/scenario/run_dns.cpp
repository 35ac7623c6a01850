// DNS in a scenario run: performing dns_query actions through the guest's stub resolver
// (sim/guest/dns_stub.h), and judging the `dns` and `dns_server` conditions and the
// at_end strict checks. Every verdict says what was seen (rcode, answers as text, the
// rejection reason), so a failing report line shows the answer that was wrong.
#include "sim/guest/dns_answer.h"
#include "sim/host/sim_host_net.h"
#include "sim/scenario/run_state.h"
#include "stack/proxy/proxy.h"

namespace tapwire::sim {

namespace {

std::string record_text(const wire::DnsRecordText& t) {
  return "[" + t.name + " " + t.type + " " + std::to_string(t.ttl) + " " + t.rdata + "]";
}

std::string records_text(const DnsRecordTexts& records) {
  std::string out;
  for (const wire::DnsRecordText& t : records) out += (out.empty() ? "" : ", ") + record_text(t);
  return "[" + out + "]";
}

// Appends "what value" to `observed`, with "(want x)" and a failed verdict on mismatch.
void note(Verdict& v, const std::string& what, const std::string& seen, bool ok, const std::string& want) {
  if (!v.observed.empty()) v.observed += ", ";
  v.observed += what + " " + seen;
  if (!ok) {
    v.passed = false;
    v.observed += " (want " + want + ")";
  }
}

void note_bool(Verdict& v, const std::string& what, const std::optional<bool>& want, bool seen) {
  if (want) note(v, what, seen ? "true" : "false", seen == *want, *want ? "true" : "false");
}

void note_count(Verdict& v, const std::string& what, const std::optional<Comparison>& want, std::uint64_t seen) {
  if (want) note(v, what, std::to_string(seen), want->holds(static_cast<double>(seen)), want->to_string());
}

// Whether the reply's one question is the query's, byte for byte (0x20 case included).
bool question_echoed(const GuestDnsQuery& q) {
  auto reply = wire::DnsMessage::parse(Bytes(q.raw.data(), q.raw.size()));
  if (!reply.ok() || reply->questions.size() != 1) return false;
  const wire::DnsQuestion& echoed = reply->questions.front();
  return echoed.name.equals_exact(q.qname) && echoed.qtype == q.options.qtype && echoed.qclass == wire::dns_class::IN;
}

bool flag_of(const wire::DnsHeader& h, const std::string& name) {
  if (name == "qr") return h.qr;
  if (name == "aa") return h.aa;
  if (name == "tc") return h.tc;
  if (name == "rd") return h.rd;
  if (name == "ra") return h.ra;
  if (name == "ad") return h.ad;
  return h.cd;  // the loader admits "cd" as the only other name
}

}  // namespace

void perform_dns_query(RunState& st, const DnsQueryAction& a, const std::string& id) {
  if (!st.guest.ip()) {
    fail_action(st, id, "dns_query: the VM has no address yet");
    return;
  }
  std::vector<GuestDnsQueryPtr> made;
  if (a.pipelined) {
    std::vector<DnsQueryOptions> options;
    for (const DnsQuerySpec& q : a.queries) options.push_back(q.options);
    made = st.guest.dns_query_pipelined(options);
  } else {
    made.push_back(st.guest.dns_query(a.queries.front().options));
  }
  for (std::size_t i = 0; i < made.size() && i < a.queries.size(); ++i) {
    const std::string& name = a.pipelined ? a.queries[i].id : id;
    if (made[i]->error) fail_action(st, id, "dns_query " + made[i]->options.name + ": " + *made[i]->error);
    if (!name.empty()) st.dns_queries[name] = made[i];
  }
}

std::string describe_dns(const DnsCondition& c) {
  std::string s = "dns_query " + c.dns;
  auto b = [&s](const char* what, const std::optional<bool>& v) {
    if (v) s += std::string(", ") + what + " == " + (*v ? "true" : "false");
  };
  b("done", c.done);
  b("timed_out", c.timed_out);
  if (c.rcode) s += ", rcode == " + rcode_name(*c.rcode);
  if (c.answers) s += ", answers == " + records_text(*c.answers);
  if (c.answer_count) s += ", answer_count " + c.answer_count->to_string();
  b("truncated", c.truncated);
  b("fell_back_to_tcp", c.fell_back_to_tcp);
  if (c.not_rejected) s += ", not rejected";
  if (c.rejected) s += c.rejected->empty() ? ", rejected" : ", rejected for \"" + *c.rejected + "\"";
  for (const auto& [flag, value] : c.flags) s += ", " + flag + " == " + (value ? "1" : "0");
  if (c.query_id) s += ", id == " + std::to_string(*c.query_id);
  b("question_echoed", c.question_echoed);
  if (c.transport) s += ", transport == " + std::string(to_string(*c.transport));
  if (c.answered_within) s += ", answered within " + to_string(*c.answered_within);
  if (c.udp_sends) s += ", udp_sends " + c.udp_sends->to_string();
  return s;
}

std::string describe_dns_server(const DnsServerCondition& c) {
  std::string s = "dns_server " + c.dns_server.to_string();
  auto cmp = [&s](const char* what, const std::optional<Comparison>& x) {
    if (x) s += std::string(", ") + what + " " + x->to_string();
  };
  cmp("queries_udp", c.queries_udp);
  cmp("queries_tcp", c.queries_tcp);
  cmp("answered", c.answered);
  cmp("dropped", c.dropped);
  cmp("truncated", c.truncated);
  cmp("tcp_connections", c.tcp_connections);
  if (c.online) s += std::string(", online == ") + (*c.online ? "true" : "false");
  return s;
}

Verdict eval_dns(RunState& st, const DnsCondition& c) {
  auto it = st.dns_queries.find(c.dns);
  if (it == st.dns_queries.end()) return {false, "no query \"" + c.dns + "\" was made (not started yet?)"};
  const GuestDnsQuery& q = *it->second;
  Verdict v{true, ""};
  note_bool(v, "done", c.done, q.done);
  const bool asks_more = c.timed_out || c.rcode || c.answers || c.answer_count || c.truncated || c.fell_back_to_tcp ||
                         c.not_rejected || c.rejected || !c.flags.empty() || c.query_id || c.question_echoed ||
                         c.transport || c.answered_within || c.udp_sends;
  if (!q.done) {
    if (asks_more) note(v, "query", "not done", false, "done");
    return v;
  }
  if (q.error) note(v, "error", *q.error, !asks_more, "none");
  note_bool(v, "timed_out", c.timed_out, q.timed_out);
  if (asks_more && !c.timed_out && !q.answered()) note(v, "answer", q.timed_out ? "none (timed out)" : "none", false, "one");
  if (c.rcode) note(v, "rcode", q.rcode_name(), q.rcode == *c.rcode, rcode_name(*c.rcode));
  if (c.answers) {
    DnsRecordTexts seen;
    for (const wire::DnsRecord& r : q.answers) seen.push_back(wire::to_text(r));
    note(v, "answers", records_text(seen), seen == *c.answers, records_text(*c.answers));
  }
  note_count(v, "answer_count", c.answer_count, q.answers.size());
  note_bool(v, "truncated", c.truncated, q.truncated);
  note_bool(v, "fell_back_to_tcp", c.fell_back_to_tcp, q.fell_back_to_tcp);
  const std::string rejected = q.rejected ? "\"" + *q.rejected + "\"" : "no";
  if (c.not_rejected) note(v, "rejected", rejected, !q.rejected, "no");
  if (c.rejected) {
    const bool ok = q.rejected && q.rejected->find(*c.rejected) != std::string::npos;
    note(v, "rejected", rejected, ok, c.rejected->empty() ? "a rejection" : "a reason with \"" + *c.rejected + "\"");
  }
  const wire::DnsHeader header = wire::DnsHeader::from_flags(q.id, q.flags);
  for (const auto& [flag, want] : c.flags) {
    const bool seen = flag_of(header, flag);
    note(v, flag, seen ? "1" : "0", seen == want, want ? "1" : "0");
  }
  if (c.query_id) {
    const std::uint16_t seen = q.raw.size() >= 2 ? static_cast<std::uint16_t>(q.raw[0] << 8 | q.raw[1]) : 0;
    note(v, "id", std::to_string(seen), seen == *c.query_id && q.id == *c.query_id, std::to_string(*c.query_id));
  }
  note_bool(v, "question_echoed", c.question_echoed, question_echoed(q));
  if (c.transport) {
    note(v, "transport", std::string(to_string(q.transport_used)), q.transport_used == *c.transport,
         std::string(to_string(*c.transport)));
  }
  if (c.answered_within) {
    const bool answered = q.answered_at && q.sent_at;
    const Duration took = answered ? *q.answered_at - *q.sent_at : Duration::max();
    note(v, "answered after", answered ? to_string(took) : "never", answered && took <= *c.answered_within,
         "<= " + to_string(*c.answered_within));
  }
  note_count(v, "udp_sends", c.udp_sends, q.udp_sends);
  return v;
}

Verdict eval_dns_server(RunState& st, const DnsServerCondition& c) {
  const host::Endpoint at{c.dns_server.ip, c.dns_server.port};
  const DnsServerStats* s = st.bed.host().dns_server_stats(at);
  if (s == nullptr) return {false, "no DNS server at " + c.dns_server.to_string()};
  Verdict v{true, ""};
  note_count(v, "queries_udp", c.queries_udp, s->queries_udp);
  note_count(v, "queries_tcp", c.queries_tcp, s->queries_tcp);
  note_count(v, "answered", c.answered, s->answered);
  note_count(v, "dropped", c.dropped, s->dropped);
  note_count(v, "truncated", c.truncated, s->truncated);
  note_count(v, "tcp_connections", c.tcp_connections, s->tcp_connections);
  if (c.online) {
    std::optional<bool> online;
    for (const proxy::DnsUpstreamStatus& u : st.proxy.dns_status().upstreams) {
      if (u.server.ip == c.dns_server.ip && u.server.port == c.dns_server.port) online = u.online;
    }
    if (!online) note(v, "online", "not an upstream of the proxy", false, *c.online ? "true" : "false");
    else note_bool(v, "online", c.online, *online);
  }
  if (v.observed.empty()) v.observed = "exists";
  return v;
}

ExpectationResult check_strict(const StrictCheckExpectation& s) {
  ExpectationResult r;
  r.kind = "at_end";
  r.description = "strict check of " + s.qname + " " + qtype_name(s.qtype) + " " + records_text(s.answers) + ": " +
                  (s.rejected ? "rejected" : "accepted");
  auto qname = wire::DnsName::parse_text(s.qname);  // the loader checked it
  if (!qname.ok()) {
    r.reason = "bad name";
    return r;
  }
  const std::optional<std::string> why = strict_chain_check(*qname, s.qtype, s.records);
  r.passed = why.has_value() == s.rejected;
  r.reason = why ? "rejected: " + *why : "accepted";
  return r;
}

}  // namespace tapwire::sim
