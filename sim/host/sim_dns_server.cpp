// SimDnsServer: the simulated upstream DNS server and its TCP app. See sim_dns_server.h.
#include "sim/host/sim_dns_server.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace tapwire::sim {

using wire::DnsMessage;

namespace {

constexpr std::uint16_t kServerUdpSize = 1232;  // what the server advertises in its OPT
constexpr std::size_t kTcpMessageMax = 65535;   // RFC 1035 §4.2.2: two-octet length

// One accepted TCP connection: reads framed queries, writes framed answers in order,
// each `delay` after its query was read.
class DnsTcpApp : public TcpServerApp {
 public:
  DnsTcpApp(World& world, TcpFabric& fabric, EndRef end, ServerStats& stats, SimDnsServer& server)
      : TcpServerApp(world, fabric, end, stats, nullptr, 0), server_(server) {}

 protected:
  void service() override {
    std::array<std::uint8_t, 4096> buf;
    for (std::size_t n; (n = read(buf.data(), buf.size())) > 0;) in_.insert(in_.end(), buf.data(), buf.data() + n);
    std::size_t used = 0;
    while (!broken_) {
      const auto msg = wire::dns_tcp_next(Bytes(in_.data(), in_.size()), used);
      if (!msg) break;
      auto reply = server_.on_tcp_query(*msg);
      if (!reply) {
        broken_ = true;
        break;
      }
      ++waiting_;
      std::weak_ptr<int> life = life_;
      world_.schedule_in(server_.spec().delay, [this, life, reply = std::move(*reply)] {
        if (life.expired() || finished_) return;
        --waiting_;
        wire::dns_tcp_append(out_, Bytes(reply.data(), reply.size()));
        service();
      });
    }
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(used));
    if (!out_.empty()) {
      const std::size_t w = write(out_.data(), out_.size());  // the rest waits for tx_space
      out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(w));
    }
    if ((broken_ || peer_eof()) && waiting_ == 0 && out_.empty()) close();
  }

 private:
  SimDnsServer& server_;
  std::vector<std::uint8_t> in_;
  std::vector<std::uint8_t> out_;
  std::size_t waiting_ = 0;  // answers scheduled, not yet queued
  bool broken_ = false;
};

}  // namespace

std::string_view to_string(DnsAnswerOrder order) {
  switch (order) {
    case DnsAnswerOrder::as_listed: return "as_listed";
    case DnsAnswerOrder::reversed: return "reversed";
    case DnsAnswerOrder::rotate: return "rotate";
  }
  return "?";
}

std::optional<DnsAnswerOrder> parse_dns_answer_order(std::string_view text) {
  for (auto o : {DnsAnswerOrder::as_listed, DnsAnswerOrder::reversed, DnsAnswerOrder::rotate})
    if (text == to_string(o)) return o;
  return std::nullopt;
}

Result<std::unique_ptr<SimDnsServer>, std::string> SimDnsServer::create(DnsServerSpec spec, Rng rng) {
  const std::string where = "dns server " + spec.at.to_string() + ": ";
  if (spec.at.port == 0) return where + "port 0";
  if (!(spec.drop >= 0.0 && spec.drop <= 1.0)) return where + "drop must be a probability between 0 and 1";
  if (spec.rcode && *spec.rcode > 15) return where + "rcode must be 0..15";
  if (spec.delay < Duration::zero() || (spec.latency && *spec.latency < Duration::zero()))
    return where + "negative delay or latency";
  auto zone = DnsZone::parse(spec.records);
  if (!zone.ok()) return where + zone.error();
  return std::unique_ptr<SimDnsServer>(new SimDnsServer(std::move(spec), std::move(*zone), rng));
}

SimDnsServer::SimDnsServer(DnsServerSpec spec, DnsZone zone, Rng rng)
    : spec_(std::move(spec)), zone_(std::move(zone)), rng_(rng) {
  conn_stats_.spec.ip = spec_.at.addr;
  conn_stats_.spec.port = spec_.at.port;
}

std::optional<std::vector<std::uint8_t>> SimDnsServer::on_udp_query(Bytes query) {
  ++stats_.queries_udp;
  if (rng_.chance(spec_.drop)) {
    stats_.last_query.assign(query.begin(), query.end());
    ++stats_.dropped;
    return std::nullopt;
  }
  return respond(query, wire::kDnsUdpLimit);
}

std::optional<std::vector<std::uint8_t>> SimDnsServer::on_tcp_query(Bytes query) {
  ++stats_.queries_tcp;
  return respond(query, 0);
}

std::unique_ptr<TcpServerApp> SimDnsServer::accept_tcp(World& world, TcpFabric& fabric, EndRef end) {
  ++stats_.tcp_connections;
  ++conn_stats_.connections;
  ++conn_stats_.active;
  return std::make_unique<DnsTcpApp>(world, fabric, end, conn_stats_, *this);
}

std::optional<std::vector<std::uint8_t>> SimDnsServer::respond(Bytes query, std::size_t udp_limit) {
  stats_.last_query.assign(query.begin(), query.end());
  auto view = wire::DnsMessageView::check(query);
  if (!view.ok() || wire::DnsHeader::from_flags(view->id(), view->flags()).qr) {
    ++stats_.dropped;
    return std::nullopt;
  }
  auto parsed = DnsMessage::parse(*view);
  DnsMessage reply;
  if (!parsed.ok() || parsed->questions.size() != 1) {
    reply.header = wire::DnsHeader::from_flags(view->id(), view->flags());
    reply.header.qr = true;
    reply.header.ra = true;
    reply.header.aa = reply.header.tc = reply.header.z = reply.header.ad = false;
    reply.header.rcode = wire::dns_rcode::FORMERR;
    ++stats_.formerr;
    ++stats_.answered;
    return reply.encode();
  }
  reply = answer(*parsed);
  ++stats_.answered;
  if (udp_limit == 0) {
    auto bytes = reply.encode_limited(kTcpMessageMax);
    return bytes.ok() ? std::move(*bytes) : reply.encode();
  }
  if (auto edns = parsed->edns()) udp_limit = std::max<std::size_t>(udp_limit, edns->udp_payload_size);
  if (spec_.truncate) {
    reply.answers.clear();
    reply.authority.clear();
    reply.header.tc = true;
  }
  auto bytes = reply.encode_limited(udp_limit);
  std::vector<std::uint8_t> out = bytes.ok() ? std::move(*bytes) : reply.encode();
  if ((out[2] & 0x02) != 0) ++stats_.truncated;  // TC
  return out;
}

DnsMessage SimDnsServer::answer(const DnsMessage& query) {
  DnsMessage reply = DnsMessage::make_response(query);
  reply.header.ra = true;
  if (auto edns = query.edns()) {
    wire::DnsEdns ours;
    ours.udp_payload_size = kServerUdpSize;
    ours.flags = edns->flags & 0x8000;  // DO (RFC 3225 §3)
    reply.additional.push_back(ours.to_record());
  }
  if (query.header.opcode != wire::dns_opcode::QUERY) {
    reply.header.rcode = wire::dns_rcode::NOTIMP;
    return reply;
  }
  if (spec_.servfail || spec_.rcode) {
    reply.header.rcode = spec_.servfail ? wire::dns_rcode::SERVFAIL : *spec_.rcode;
    return reply;
  }
  DnsZoneAnswer found = zone_.answer(query.questions.front());
  reply.header.rcode = found.rcode;
  auto final_set = found.records.begin() + static_cast<std::ptrdiff_t>(found.chain_len);
  switch (spec_.order) {
    case DnsAnswerOrder::as_listed: break;
    case DnsAnswerOrder::reversed: std::reverse(final_set, found.records.end()); break;
    case DnsAnswerOrder::rotate: {
      auto size = static_cast<std::uint64_t>(found.records.end() - final_set);
      if (size > 1) std::rotate(final_set, final_set + static_cast<std::ptrdiff_t>(rotation_ % size), found.records.end());
      break;
    }
  }
  ++rotation_;
  reply.answers = std::move(found.records);
  return reply;
}

}  // namespace tapwire::sim
