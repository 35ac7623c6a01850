// DNS in scenario files: the host's DNS servers and resolver model, the dns_query
// action, the `dns` and `dns_server` conditions and at_end `strict_check`.
//
// Records are record lines (stack/wire/dns_text.h: "a.test CNAME b.test", "d.test A
// 1.1.1.1 60"), each parsed here so that an error names its own JSON path. Answers in
// expectations are [name, type, ttl, rdata] as wire::to_text(record) prints them; the
// type is normalised to its mnemonic ("a" -> "A") so the comparison is on meaning, the
// name is kept as written (0x20 case is part of what a test checks).
#include <algorithm>
#include <cctype>

#include "sim/guest/dns_answer.h"
#include "sim/scenario/load_context.h"

namespace tapwire::sim::load {
namespace {

// A list of record lines; each must parse.
void read_records(JsonReader& r, const JsonNode& n, std::vector<std::string>& out) {
  r.read_list(n, out, [](JsonReader& reader, const JsonNode& item, std::string& line) {
    reader.read(item, line);
    if (reader.failed()) return;
    if (auto parsed = wire::parse_record_line(line); !parsed.ok()) reader.fail(item.path, parsed.error());
  });
}

void read_qtype(JsonReader& r, const JsonNode& n, std::uint16_t& out) {
  std::string text;
  r.read(n, text);
  if (r.failed()) return;
  auto t = parse_qtype(text);
  if (!t.ok()) return r.fail(n.path, std::string(t.error().reason) + ", got " + JsonReader::describe(*n));
  out = *t;
}

void read_name(JsonReader& r, const JsonNode& n, std::string& out) {
  r.read(n, out);
  if (r.failed()) return;
  if (auto name = wire::DnsName::parse_text(out); !name.ok())
    r.fail(n.path, std::string(name.error().reason) + ", got " + JsonReader::describe(*n));
}

// [name, type, ttl, rdata] -> text form (type normalised) and, with `record`, the record.
void read_record_text(JsonReader& r, const JsonNode& n, wire::DnsRecordText& out, wire::DnsRecord* record) {
  if (r.failed()) return;
  if (!n->is_array() || n->size() != 4 || !(*n)[0].is_string() || !(*n)[1].is_string() || !(*n)[3].is_string()) {
    return r.fail(n.path, "expected a record like [\"a.test\", \"CNAME\", 60, \"b.test\"] (name, type, ttl, rdata), got " +
                              JsonReader::describe(*n));
  }
  wire::DnsRecordText t;
  t.name = (*n)[0].get<std::string>();
  std::uint16_t type = 0;
  read_qtype(r, r.element(n, 1), type);
  r.read_int(r.element(n, 2), 0, 0x7fffffff, t.ttl);
  t.rdata = (*n)[3].get<std::string>();
  if (r.failed()) return;
  t.type = wire::dns_type_text(type);
  // The record the line stands for: checks the rdata is presentation format for the type.
  auto parsed = wire::parse_record_line(t.name + " " + t.type + " " + t.rdata + " " + std::to_string(t.ttl));
  if (!parsed.ok()) return r.fail(n.path, parsed.error());
  if (record) *record = parsed.value();
  out = std::move(t);
}

void read_record_texts(JsonReader& r, const JsonNode& n, DnsRecordTexts& out,
                       std::vector<wire::DnsRecord>* records = nullptr) {
  if (!r.array(n)) return;
  DnsRecordTexts texts;
  std::vector<wire::DnsRecord> parsed;
  for (std::size_t i = 0; i < n->size() && !r.failed(); ++i) {
    wire::DnsRecordText t;
    wire::DnsRecord rec;
    read_record_text(r, r.element(n, i), t, &rec);
    texts.push_back(std::move(t));
    parsed.push_back(std::move(rec));
  }
  if (r.failed()) return;
  out = std::move(texts);
  if (records) *records = std::move(parsed);
}

void read_dns_server(JsonReader& r, const JsonNode& n, DnsServerSpec& out) {
  if (!r.object(n, {"address", "records", "order", "delay", "latency", "drop", "servfail", "truncate", "rcode", "note"}))
    return;
  DnsServerSpec s;
  if (auto a = r.required(n, "address")) {
    Endpoint e;
    read_endpoint(r, *a, e);
    s.at = host::Endpoint{e.ip, e.port};
  }
  if (auto m = r.member(n, "records")) read_records(r, *m, s.records);
  if (auto m = r.member(n, "order")) {
    static constexpr DnsAnswerOrder kOrders[] = {DnsAnswerOrder::as_listed, DnsAnswerOrder::reversed,
                                                 DnsAnswerOrder::rotate};
    if (auto i = r.read_enum(*m, {"as_listed", "reversed", "rotate"})) s.order = kOrders[*i];
  }
  r.field(n, "delay", s.delay);
  if (auto m = r.member(n, "latency")) r.read(*m, s.latency.emplace());
  if (auto m = r.member(n, "drop")) r.read_number(*m, 0.0, 1.0, s.drop);
  r.field(n, "servfail", s.servfail);
  r.field(n, "truncate", s.truncate);
  if (auto m = r.member(n, "rcode")) read_dns_rcode(r, *m, s.rcode.emplace());
  if (auto note = r.member(n, "note")) {
    std::string ignored;
    r.read(*note, ignored);
  }
  if (!r.failed() && s.servfail && s.rcode) r.fail(n.member_path("rcode"), "\"rcode\" contradicts \"servfail\": true");
  if (!r.failed()) out = std::move(s);
}

// Registers a query's id (see load_actions.cpp register_id) when it has one.
void read_query_id(LoadContext& ctx, const JsonNode& n, std::string& out) {
  if (auto id = ctx.reader.member(n, "id")) {
    ctx.reader.read(*id, out);
    if (!ctx.reader.failed() && out.empty()) ctx.reader.fail(id->path, "an id must not be empty");
    if (!ctx.reader.failed()) register_id(ctx, out, "dns_query", id->path);
  }
}

// The keys of one question (the action itself, or one element of `pipeline`).
void read_question(JsonReader& r, const JsonNode& n, DnsQueryOptions& q, bool pipelined) {
  if (auto m = r.required(n, "name")) read_name(r, *m, q.name);
  if (auto m = r.member(n, "qtype")) read_qtype(r, *m, q.qtype);
  r.field(n, "strict", q.strict);
  if (auto m = r.member(n, "query_id")) r.read_int(*m, 0, 65535, q.id.emplace());
  r.field(n, "randomize_case", q.randomize_case);
  if (auto m = r.member(n, "edns")) r.read_int(*m, 512, 65535, q.edns.emplace());
  if (auto m = r.member(n, "timeout")) {
    r.read(*m, q.timeout);
    if (!r.failed() && q.timeout <= Duration::zero()) r.fail(m->path, "must be longer than 0s");
  }
  if (pipelined) return;
  r.field(n, "tcp", q.tcp);
  r.field_int(n, "retries", 0, 16, q.retries);
  r.field(n, "tcp_fallback", q.tcp_fallback);
  if (auto m = r.member(n, "server")) r.read(*m, q.server.emplace());
  if (auto m = r.member(n, "port")) r.read_int(*m, 1, 65535, q.port);
}

}  // namespace

// rcode names as the guest's stub prints them ("NOERROR", ..., "RCODE6"), or 0..15.
void read_dns_rcode(JsonReader& r, const JsonNode& n, std::uint8_t& out) {
  if (r.failed()) return;
  if (n->is_number()) {
    r.read_int(n, 0, 15, out);
    return;
  }
  std::vector<std::string> names;
  for (std::uint8_t i = 0; i < 16; ++i) names.push_back(rcode_name(i));
  if (n->is_string()) {
    std::string text = n->get<std::string>();
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
    for (std::uint8_t i = 0; i < 16; ++i) {
      if (names[i] == text) {
        out = i;
        return;
      }
    }
  }
  std::string message = "expected an rcode (NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, RCODE<n>) or 0-15, got " +
                        JsonReader::describe(*n);
  if (n->is_string()) {
    if (auto near = config::did_you_mean(n->get<std::string>(), std::vector<std::string_view>(names.begin(), names.end())))
      message += " (did you mean \"" + std::string(*near) + "\"?)";
  }
  r.fail(n.path, std::move(message));
}

void read_host_dns(JsonReader& r, const JsonNode& host, HostConfig& out) {
  if (auto servers = r.member(host, "dns_servers"); servers && r.array(*servers)) {
    for (std::size_t i = 0; i < (*servers)->size() && !r.failed(); ++i) {
      JsonNode s = r.element(*servers, i);
      DnsServerSpec spec;
      read_dns_server(r, s, spec);
      if (r.failed()) break;
      for (const DnsServerSpec& other : out.dns_servers) {
        if (other.at == spec.at)
          r.fail(s.member_path("address"), "another DNS server already listens on " + spec.at.to_string());
      }
      for (const ServerSpec& other : out.servers) {
        if (other.ip == spec.at.addr && other.port == spec.at.port)
          r.fail(s.member_path("address"), "a server of `servers` already listens on " + spec.at.to_string());
      }
      out.dns_servers.push_back(std::move(spec));
    }
  }
  if (auto m = r.member(host, "resolver"); m && r.object(*m, {"records", "quirk", "ttl_drift", "delay", "rcode", "note"})) {
    ResolverSpec spec;
    if (auto rec = r.member(*m, "records")) read_records(r, *rec, spec.records);
    if (auto q = r.member(*m, "quirk")) {
      static constexpr ResolverQuirk kQuirks[] = {ResolverQuirk::none, ResolverQuirk::chain_reversed,
                                                  ResolverQuirk::old_macos};
      if (auto i = r.read_enum(*q, {"none", "chain_reversed", "old_macos"})) spec.quirk = kQuirks[*i];
    }
    r.field(*m, "ttl_drift", spec.ttl_drift);
    r.field(*m, "delay", spec.delay);
    if (auto rc = r.member(*m, "rcode")) read_dns_rcode(r, *rc, spec.rcode.emplace());
    if (auto note = r.member(*m, "note")) {
      std::string ignored;
      r.read(*note, ignored);
    }
    if (!r.failed()) out.resolver = std::move(spec);
  }
}

void read_dns_query_action(LoadContext& ctx, const JsonNode& n, DnsQueryAction& out) {
  JsonReader& r = ctx.reader;
  if (!r.object(n, {"at", "do", "id", "note", "name", "qtype", "tcp", "strict", "query_id", "randomize_case", "edns",
                    "timeout", "retries", "tcp_fallback", "server", "port", "pipeline"})) {
    return;
  }
  DnsQueryAction a;
  if (auto p = r.member(n, "pipeline")) {
    // One TCP connection: the questions' own keys only, each named by its own id.
    for (std::string_view key : {"id", "name", "qtype", "tcp", "strict", "query_id", "randomize_case", "edns",
                                 "timeout", "retries", "tcp_fallback"}) {
      if (r.member(n, key) && !r.failed()) {
        r.fail(n.member_path(key), "\"" + std::string(key) +
                                       "\" belongs inside each element of \"pipeline\" (a pipelined dns_query is "
                                       "one TCP connection; its queries are named by their own ids)");
      }
    }
    a.pipelined = true;
    if (!r.array(*p)) return;
    if (!r.failed() && (*p)->size() < 2) return r.fail(p->path, "a pipeline needs at least 2 queries");
    std::optional<wire::Ipv4Addr> server;
    std::uint16_t port = kDnsPort;
    if (auto m = r.member(n, "server")) r.read(*m, server.emplace());
    if (auto m = r.member(n, "port")) r.read_int(*m, 1, 65535, port);
    for (std::size_t i = 0; i < (*p)->size() && !r.failed(); ++i) {
      JsonNode e = r.element(*p, i);
      if (!r.object(e, {"id", "name", "qtype", "strict", "query_id", "randomize_case", "edns", "timeout"})) return;
      DnsQuerySpec q;
      read_query_id(ctx, e, q.id);
      read_question(r, e, q.options, true);
      q.options.server = server;
      q.options.port = port;
      q.options.tcp = true;
      a.queries.push_back(std::move(q));
    }
  } else {
    DnsQuerySpec q;
    read_question(r, n, q.options, false);
    a.queries.push_back(std::move(q));
  }
  if (!r.failed()) out = std::move(a);
}

std::optional<Condition> read_dns_condition(LoadContext& ctx, const JsonNode& n, std::string_view subject,
                                            const std::vector<std::string_view>& extra) {
  JsonReader& r = ctx.reader;
  auto keys = [&](std::vector<std::string_view> own) {
    own.insert(own.end(), extra.begin(), extra.end());
    return own;
  };
  Condition c;
  c.json_path = n.path;
  if (subject == "dns_server") {
    DnsServerCondition k;
    if (!r.object(n, keys({"dns_server", "queries_udp", "queries_tcp", "answered", "dropped", "truncated",
                           "tcp_connections", "online"}))) {
      return std::nullopt;
    }
    read_endpoint(r, *r.member(n, "dns_server"), k.dns_server);
    read_optional_comparison(r, n, "queries_udp", k.queries_udp);
    read_optional_comparison(r, n, "queries_tcp", k.queries_tcp);
    read_optional_comparison(r, n, "answered", k.answered);
    read_optional_comparison(r, n, "dropped", k.dropped);
    read_optional_comparison(r, n, "truncated", k.truncated);
    read_optional_comparison(r, n, "tcp_connections", k.tcp_connections);
    if (auto m = r.member(n, "online")) r.read(*m, k.online.emplace());
    c.body = std::move(k);
    return c;
  }
  DnsCondition k;
  if (!r.object(n, keys({"dns_query", "done", "timed_out", "rcode", "answers", "answer_count", "truncated",
                         "fell_back_to_tcp", "rejected", "flags", "query_id", "question_echoed", "transport",
                         "answered_within", "udp_sends"}))) {
    return std::nullopt;
  }
  read_reference(ctx, n, "dns_query", RefKind::dns, k.dns);
  for (auto [key, field] : {std::pair{"done", &k.done}, std::pair{"timed_out", &k.timed_out},
                            std::pair{"truncated", &k.truncated}, std::pair{"fell_back_to_tcp", &k.fell_back_to_tcp},
                            std::pair{"question_echoed", &k.question_echoed}}) {
    if (auto m = r.member(n, key)) r.read(*m, field->emplace());
  }
  if (auto m = r.member(n, "rcode")) read_dns_rcode(r, *m, k.rcode.emplace());
  if (auto m = r.member(n, "answers")) read_record_texts(r, *m, k.answers.emplace());
  read_optional_comparison(r, n, "answer_count", k.answer_count);
  read_optional_comparison(r, n, "udp_sends", k.udp_sends);
  if (auto m = r.member(n, "rejected")) {
    if ((*m)->is_null()) k.not_rejected = true;
    else if ((*m)->is_boolean() && !(*m)->get<bool>()) k.not_rejected = true;
    else if ((*m)->is_boolean()) k.rejected = "";
    else if ((*m)->is_string()) k.rejected = (*m)->get<std::string>();
    else r.fail(m->path, "expected null or false (not rejected), true (rejected) or a piece of the reason, got " +
                             JsonReader::describe(**m));
  }
  if (auto m = r.member(n, "flags"); m && r.object(*m, {"qr", "aa", "tc", "rd", "ra", "ad", "cd"})) {
    for (const auto& [flag, value] : (*m)->items()) {
      bool v = false;
      r.read(JsonNode{&value, m->member_path(flag)}, v);
      k.flags.emplace_back(flag, v);
    }
  }
  if (auto m = r.member(n, "query_id")) r.read_int(*m, 0, 65535, k.query_id.emplace());
  if (auto m = r.member(n, "transport")) {
    if (auto i = r.read_enum(*m, {"udp", "tcp"})) k.transport = *i == 0 ? DnsTransport::udp : DnsTransport::tcp;
  }
  if (auto m = r.member(n, "answered_within")) r.read(*m, k.answered_within.emplace());
  c.body = std::move(k);
  return c;
}

void read_strict_checks(JsonReader& r, const JsonNode& n, std::vector<StrictCheckExpectation>& out) {
  if (!r.array(n)) return;
  for (std::size_t i = 0; i < n->size() && !r.failed(); ++i) {
    JsonNode e = r.element(n, i);
    if (!r.object(e, {"qname", "qtype", "answers", "rejected", "note"})) return;
    StrictCheckExpectation s;
    if (auto m = r.required(e, "qname")) read_name(r, *m, s.qname);
    if (auto m = r.member(e, "qtype")) read_qtype(r, *m, s.qtype);
    if (auto m = r.required(e, "answers")) read_record_texts(r, *m, s.answers, &s.records);
    if (auto m = r.required(e, "rejected")) r.read(*m, s.rejected);
    if (auto note = r.member(e, "note")) {
      std::string ignored;
      r.read(*note, ignored);
    }
    if (!r.failed()) out.push_back(std::move(s));
  }
}

}  // namespace tapwire::sim::load
