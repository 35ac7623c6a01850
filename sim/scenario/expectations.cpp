// Evaluating scenario conditions and at_end checks against a running world. Every
// verdict carries what was observed, so a report line says why, not only that.
#include <cmath>
#include <sstream>

#include "sim/guest/dns_answer.h"
#include "sim/scenario/run_state.h"

namespace tapwire::sim {

namespace {

std::string num(std::uint64_t v) { return std::to_string(v); }

// "sent 5 (want >= 1)"; appends a problem to `why` when the comparison fails.
bool check(const std::optional<Comparison>& cmp, const char* what, std::uint64_t value, std::string& observed) {
  if (!cmp) return true;
  const bool ok = cmp->holds(static_cast<double>(value));
  if (!observed.empty()) observed += ", ";
  observed += std::string(what) + " " + num(value);
  if (!ok) observed += " (want " + cmp->to_string() + ")";
  return ok;
}

std::string_view error_name(ConnError e) {
  switch (e) {
    case ConnError::none: return "none";
    case ConnError::refused: return "refused";
    case ConnError::reset: return "reset";
    case ConnError::timeout: return "timeout";
  }
  return "?";
}

ConnError conn_error(tcp::CloseReason r) {
  switch (r) {
    case tcp::CloseReason::refused:
    case tcp::CloseReason::owner_refused: return ConnError::refused;
    case tcp::CloseReason::reset: return ConnError::reset;
    case tcp::CloseReason::timeout:
    case tcp::CloseReason::pending_timeout: return ConnError::timeout;
    default: return ConnError::none;
  }
}

std::string_view icmp_error_name(IcmpErrorKind k) {
  switch (k) {
    case IcmpErrorKind::none: return "none";
    case IcmpErrorKind::port_unreachable: return "port_unreachable";
    case IcmpErrorKind::frag_needed: return "frag_needed";
    case IcmpErrorKind::host_unreachable: return "host_unreachable";
  }
  return "?";
}

std::string describe_match(const FrameMatch& m, std::optional<std::size_t> max_len) {
  std::string out;
  auto add = [&out](const std::string& s) {
    if (!out.empty()) out += ' ';
    out += s;
  };
  if (m.dir) add(std::string(to_string(*m.dir)));
  if (m.proto) {
    static constexpr const char* kProtos[] = {"tcp", "udp", "icmp", "arp", "ipv4"};
    add(kProtos[static_cast<std::size_t>(*m.proto)]);
  }
  if (m.flags) {
    static constexpr char kLetters[] = "FSRPAUEC";
    std::string f = m.flags->exact ? "=" : "";
    for (int i = 0; i < 8; ++i)
      if (m.flags->flags & (1u << i)) f += kLetters[i];
    add("flags " + f);
  }
  if (m.src) add("src " + m.src->to_string());
  if (m.dst) add("dst " + m.dst->to_string());
  if (m.sport) add("sport " + num(*m.sport));
  if (m.dport) add("dport " + num(*m.dport));
  if (m.min_len) add("len >= " + num(*m.min_len));
  if (max_len) add("len <= " + num(*max_len));
  return out.empty() ? "any frame" : out;
}

struct ConnView {
  bool found = false;
  std::string missing;
  std::string state;
  ConnError error = ConnError::none;
  std::uint64_t sent = 0, received = 0;
};

std::string host_client_state(const HostClientFigures& f) {
  if (f.state == "connecting") return "SYN-SENT";
  if (f.state == "established") return "ESTABLISHED";
  if (f.state == "eof") return "CLOSE-WAIT";
  if (f.state == "shut_wr") return "FIN-WAIT-2";
  return "CLOSED";
}

ConnView conn_view(RunState& st, const std::string& id) {
  ConnView v;
  ActionRecord* rec = st.record(id);
  if (rec == nullptr) {
    v.missing = "no action \"" + id + "\"";
    return v;
  }
  if (rec->conn) {
    const GuestConnection* c = st.guest.connection(*rec->conn);
    if (c == nullptr) {
      v.missing = "connection gone";
      return v;
    }
    v.found = true;
    v.state = std::string(c->state());
    v.error = conn_error(c->close_reason());
    v.sent = c->bytes_sent();
    v.received = c->bytes_received();
  } else if (rec->listener) {
    v.found = true;
    v.state = "LISTEN";
    for (std::uint32_t id2 : st.guest.accepted(*rec->listener)) {
      const GuestConnection* c = st.guest.connection(id2);
      if (c == nullptr) continue;
      if (v.state == "LISTEN") {
        v.state = std::string(c->state());
        v.error = conn_error(c->close_reason());
      }
      v.sent += c->bytes_sent();
      v.received += c->bytes_received();
    }
  } else if (rec->client) {
    HostClientFigures f = st.host.client(*rec->client);
    v.found = true;
    v.state = host_client_state(f);
    v.error = f.refused ? ConnError::refused : f.reset ? ConnError::reset : ConnError::none;
    v.sent = f.sent;
    v.received = f.received;
  } else {
    v.missing = rec->started ? "made no connection" + (rec->error ? " (" + *rec->error + ")" : std::string())
                             : "not started yet";
  }
  return v;
}

Verdict eval_conn(RunState& st, const ConnCondition& c) {
  ConnView v = conn_view(st, c.conn);
  if (!v.found) return {false, v.missing};
  Verdict out{true, ""};
  if (c.state) {
    out.observed = "state " + v.state;
    if (v.state != *c.state) {
      out.passed = false;
      out.observed += " (want " + *c.state + ")";
    }
  }
  if (c.error) {
    if (!out.observed.empty()) out.observed += ", ";
    out.observed += "error " + std::string(error_name(v.error));
    if (v.error != *c.error) {
      out.passed = false;
      out.observed += " (want " + std::string(error_name(*c.error)) + ")";
    }
  }
  out.passed &= check(c.sent, "sent", v.sent, out.observed);
  out.passed &= check(c.received, "received", v.received, out.observed);
  return out;
}

Verdict eval_ping(RunState& st, const PingCondition& c) {
  ActionRecord* rec = st.record(c.ping);
  if (rec == nullptr) return {false, "no action \"" + c.ping + "\""};
  std::uint64_t replies = 0;
  for (std::uint32_t p : rec->pings) replies += st.guest.ping_result(p).ok ? 1 : 0;
  Verdict out{true, ""};
  if (c.ok) {
    const bool ok = replies > 0;
    out.observed = std::string("ok ") + (ok ? "true" : "false");
    if (ok != *c.ok) out.passed = false;
  }
  out.passed &= check(c.replies, "replies", replies, out.observed);
  if (c.replies == std::nullopt && !c.ok) out.observed = "replies " + num(replies);
  return out;
}

Verdict eval_dhcp(RunState& st, const DhcpCondition& c) {
  const Lease& l = st.guest.lease();
  const bool bound = l.ip.has_value();
  Verdict out{true, ""};
  std::string& o = out.observed;
  auto note = [&o](const std::string& s) {
    if (!o.empty()) o += ", ";
    o += s;
  };
  if (c.bound) {
    note(std::string("bound ") + (bound ? "true" : "false"));
    if (bound != *c.bound) out.passed = false;
  }
  if (c.ip) {
    note("ip " + (l.ip ? l.ip->to_string() : std::string("none")));
    if (l.ip != c.ip) out.passed = false;
  }
  if (c.router) {
    note("router " + (l.gateway ? l.gateway->to_string() : std::string("none")));
    if (l.gateway != c.router) out.passed = false;
  }
  if (c.mtu) {
    // The VM's interface MTU (what it uses, which depends on dhcp_mtu).
    note("mtu " + num(st.guest.mtu()));
    if (st.guest.mtu() != *c.mtu) out.passed = false;
  }
  if (c.lease_time) {
    note("lease_time " + num(l.lease_seconds) + "s");
    if (Duration::seconds(l.lease_seconds) != *c.lease_time) out.passed = false;
  }
  if (c.domain) {
    note("domain " + l.domain.value_or("none"));
    if (l.domain.value_or("") != *c.domain) out.passed = false;
  }
  if (c.dns) {
    std::string list;
    for (const auto& a : l.dns) list += (list.empty() ? "" : ",") + a.to_string();
    note("dns [" + list + "]");
    if (l.dns != *c.dns) out.passed = false;
  }
  if (o.empty()) note(std::string("bound ") + (bound ? "true" : "false"));
  return out;
}

Verdict eval_udp(RunState& st, const UdpCondition& c) {
  ActionRecord* rec = st.record(c.udp);
  if (rec == nullptr) return {false, "no action \"" + c.udp + "\""};
  if (!rec->udp_port) return {false, rec->started ? "no socket" : "not started yet"};
  Verdict out{true, ""};
  out.passed &= check(c.replies, "replies", rec->udp_replies, out.observed);
  out.passed &= check(c.reply_bytes, "reply_bytes", rec->udp_reply_bytes, out.observed);
  if (c.icmp_error) {
    IcmpErrorKind seen = IcmpErrorKind::none;
    const auto& errors = st.watches.icmp_errors_by_udp_port();
    auto it = errors.find(*rec->udp_port);
    if (it != errors.end()) {
      switch (it->second.code) {
        case wire::icmp_unreach::port: seen = IcmpErrorKind::port_unreachable; break;
        case wire::icmp_unreach::frag_needed: seen = IcmpErrorKind::frag_needed; break;
        default: seen = IcmpErrorKind::host_unreachable; break;
      }
    }
    if (!out.observed.empty()) out.observed += ", ";
    out.observed += "icmp_error " + std::string(icmp_error_name(seen));
    if (seen == IcmpErrorKind::frag_needed) out.observed += " (mtu " + num(it->second.next_hop_mtu) + ")";
    if (seen != *c.icmp_error) {
      out.passed = false;
      out.observed += " (want " + std::string(icmp_error_name(*c.icmp_error)) + ")";
    }
  }
  if (c.dns_rcode) {
    // The latest reply read as a DNS response (RFC 1035 §4.1.1: QR, then RCODE in the
    // low bits of the fourth octet).
    const std::vector<std::uint8_t>& m = rec->udp_last_reply;
    const bool dns = m.size() >= 12 && (m[2] & 0x80) != 0;
    const std::uint8_t rcode = dns ? static_cast<std::uint8_t>(m[3] & 0x0f) : 0;
    if (!out.observed.empty()) out.observed += ", ";
    out.observed += "dns_rcode " + (dns ? rcode_name(rcode) : std::string("none (no DNS reply)"));
    if (!dns || rcode != *c.dns_rcode) {
      out.passed = false;
      out.observed += " (want " + rcode_name(*c.dns_rcode) + ")";
    }
  }
  // Replies to pattern datagrams (an echo) must be the pattern, byte for byte.
  if (rec->udp_pattern && rec->udp_reply_mismatch) {
    out.passed = false;
    out.observed += ", reply byte " + num(*rec->udp_reply_mismatch) + " is not the pattern";
  }
  return out;
}

Verdict eval_stat(RunState& st, const StatCondition& c) {
  auto v = st.stat(c.stat);
  if (!v) return {false, "no counter named \"" + c.stat + "\""};
  const bool ok = c.compare.holds(static_cast<double>(*v));
  return {ok, c.stat + " = " + num(*v) + (ok ? "" : " (want " + c.compare.to_string() + ")")};
}

Verdict eval_frames(RunState& st, const FrameCondition& c) {
  auto it = st.frame_watches.find(&c);
  if (it == st.frame_watches.end()) return {false, "frame condition not registered (runner bug)"};
  const std::uint64_t n = st.watches.count(it->second);
  const bool ok = c.count.holds(static_cast<double>(n));
  return {ok, num(n) + " frames" + (ok ? "" : " (want " + c.count.to_string() + ")")};
}

Verdict eval_server(RunState& st, const ServerCondition& c) {
  const bool udp = c.proto == ServerProto::udp;
  auto f = st.host.server(udp, c.server.ip, c.server.port);
  if (!f) return {false, "no server at " + c.server.to_string()};
  Verdict out{true, ""};
  out.passed &= check(c.accepted, "accepted", udp ? f->datagrams_received : f->accepted, out.observed);
  out.passed &= check(c.open, "open", f->open, out.observed);
  out.passed &= check(c.received, "received", f->received, out.observed);
  out.passed &= check(c.sent, "sent", f->sent, out.observed);
  return out;
}

}  // namespace

std::string describe_frame(Direction dir, const FrameInfo& info) {
  std::ostringstream o;
  o << to_string(dir) << " len " << info.len;
  if (!info.ipv4) {
    o << (info.ethertype == 0x0806 ? " arp" : " non-ipv4");
    return o.str();
  }
  const char* proto = info.ip_proto == 6 ? "tcp" : info.ip_proto == 17 ? "udp" : info.ip_proto == 1 ? "icmp" : "ip";
  o << ' ' << proto << ' ' << info.src.to_string();
  if (info.has_ports) o << ':' << info.sport;
  o << " > " << info.dst.to_string();
  if (info.has_ports) o << ':' << info.dport;
  if (info.tcp) {
    static constexpr char kLetters[] = "FSRPAUEC";
    o << " [";
    for (int i = 0; i < 8; ++i)
      if (info.tcp_flags & (1u << i)) o << kLetters[i];
    o << ']';
  }
  return o.str();
}

std::string describe(const Condition& c) {
  std::string out = std::visit(
      [](const auto& b) -> std::string {
        using T = std::decay_t<decltype(b)>;
        std::string s;
        auto cmp = [&s](const char* what, const std::optional<Comparison>& x) {
          if (x) s += std::string(", ") + what + " " + x->to_string();
        };
        if constexpr (std::is_same_v<T, ConnCondition>) {
          s = "conn " + b.conn;
          if (b.state) s += ", state == " + *b.state;
          if (b.error) s += ", error == " + std::string(error_name(*b.error));
          cmp("sent", b.sent);
          cmp("received", b.received);
        } else if constexpr (std::is_same_v<T, PingCondition>) {
          s = "ping " + b.ping;
          if (b.ok) s += std::string(", ok == ") + (*b.ok ? "true" : "false");
          cmp("replies", b.replies);
        } else if constexpr (std::is_same_v<T, DhcpCondition>) {
          s = "dhcp " + b.dhcp;
          if (b.bound) s += std::string(", bound == ") + (*b.bound ? "true" : "false");
          if (b.ip) s += ", ip == " + b.ip->to_string();
          if (b.router) s += ", router == " + b.router->to_string();
          if (b.mtu) s += ", mtu == " + num(*b.mtu);
          if (b.lease_time) s += ", lease_time == " + to_string(*b.lease_time);
          if (b.domain) s += ", domain == " + *b.domain;
          if (b.dns) s += ", dns == [" + std::to_string(b.dns->size()) + " addresses]";
        } else if constexpr (std::is_same_v<T, UdpCondition>) {
          s = "udp " + b.udp;
          cmp("replies", b.replies);
          cmp("reply_bytes", b.reply_bytes);
          if (b.icmp_error) s += ", icmp_error == " + std::string(icmp_error_name(*b.icmp_error));
          if (b.dns_rcode) s += ", dns_rcode == " + rcode_name(*b.dns_rcode);
        } else if constexpr (std::is_same_v<T, StatCondition>) {
          s = "counter " + b.stat + " " + b.compare.to_string();
        } else if constexpr (std::is_same_v<T, FrameCondition>) {
          s = "frames [" + describe_match(b.match, b.max_len) + "] count " + b.count.to_string();
        } else if constexpr (std::is_same_v<T, ServerCondition>) {
          s = std::string("server ") + (b.proto == ServerProto::udp ? "udp " : "") + b.server.to_string();
          cmp("accepted", b.accepted);
          cmp("open", b.open);
          cmp("received", b.received);
          cmp("sent", b.sent);
        } else if constexpr (std::is_same_v<T, DnsCondition>) {
          s = describe_dns(b);
        } else if constexpr (std::is_same_v<T, DnsServerCondition>) {
          s = describe_dns_server(b);
        }
        return s;
      },
      c.body);
  if (!c.note.empty()) out += " (" + c.note + ")";
  return out;
}

Verdict evaluate(RunState& st, const Condition& c) {
  return std::visit(
      [&st](const auto& b) -> Verdict {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, ConnCondition>) return eval_conn(st, b);
        if constexpr (std::is_same_v<T, PingCondition>) return eval_ping(st, b);
        if constexpr (std::is_same_v<T, DhcpCondition>) return eval_dhcp(st, b);
        if constexpr (std::is_same_v<T, UdpCondition>) return eval_udp(st, b);
        if constexpr (std::is_same_v<T, StatCondition>) return eval_stat(st, b);
        if constexpr (std::is_same_v<T, FrameCondition>) return eval_frames(st, b);
        if constexpr (std::is_same_v<T, ServerCondition>) return eval_server(st, b);
        if constexpr (std::is_same_v<T, DnsCondition>) return eval_dns(st, b);
        if constexpr (std::is_same_v<T, DnsServerCondition>) return eval_dns_server(st, b);
        return Verdict{};
      },
      c.body);
}

}  // namespace tapwire::sim
