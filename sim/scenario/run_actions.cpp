// Performing scenario actions on the running world (see scenario.h for what each
// action means). Each runs inside a World event at its `at`; repeated parts (ping
// count, udp_send count) schedule further events. An action that cannot be performed
// (no address yet, a port in use, an unknown file) records an error on its record and
// in RunState::action_errors, which fails the run with that reason.
#include <algorithm>
#include <vector>

#include "sim/core/pattern.h"
#include "sim/scenario/run_state.h"
#include "stack/pcap/pcap.h"
#include "stack/wire/classify.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

namespace tapwire::sim {

void fail_action(RunState& st, const std::string& id, const std::string& message) {
  const std::string text = id + " (" + to_string(st.world.now()) + "): " + message;
  if (ActionRecord* rec = st.record(id)) rec->error = message;
  st.action_errors.push_back(text);
}

namespace {

void fail(RunState& st, const std::string& id, const std::string& message) { fail_action(st, id, message); }

std::vector<std::uint8_t> payload_bytes(const Payload& p) {
  std::vector<std::uint8_t> out;
  if (p.kind == Payload::Kind::text) {
    out.assign(p.text.begin(), p.text.end());
  } else if (p.kind == Payload::Kind::pattern) {
    out.resize(p.size);
    fill_pattern(0, MutBytes(out.data(), out.size()));
  }
  return out;
}

GuestThen guest_then(ThenStep t) {
  switch (t) {
    case ThenStep::none: return GuestThen::none;
    case ThenStep::half_close: return GuestThen::half_close;
    case ThenStep::close: return GuestThen::close;
    case ThenStep::reset: return GuestThen::reset;
  }
  return GuestThen::none;
}

void end_guest_connection(GuestConnection& c, ThenStep how) {
  switch (how) {
    case ThenStep::none: break;
    case ThenStep::half_close: c.shutdown(); break;
    case ThenStep::close: c.close(); break;
    case ThenStep::reset: c.reset(); break;
  }
}

void end_host_client(HostBridge& host, std::uint64_t id, ThenStep how) {
  switch (how) {
    case ThenStep::none: break;
    case ThenStep::half_close: host.client_shutdown(id); break;
    case ThenStep::close: host.client_close(id); break;
    case ThenStep::reset: host.client_reset(id); break;
  }
}

// The frames of a built packet: one, or its fragments (RFC 791 §3.2: offsets in
// 8-byte units, MF on all but the last).
std::vector<std::vector<std::uint8_t>> build_frames(RunState& st, const BuiltPacket& b) {
  const wire::Ipv4Addr src = b.src.value_or(st.guest.ip().value_or(wire::Ipv4Addr{}));
  const std::vector<std::uint8_t> data = payload_bytes(b.payload);
  const Bytes payload(data.data(), data.size());

  std::vector<std::uint8_t> l4;
  std::uint8_t proto = 0;
  switch (b.proto) {
    case BuildProto::tcp: {
      wire::TcpRepr seg;
      seg.src_port = b.sport;
      seg.dst_port = b.dport;
      seg.seq = b.seq;
      seg.ack = b.ack;
      seg.flags = b.flags;
      seg.window = b.window;
      seg.options.mss = b.mss;
      seg.options.window_scale = b.wscale;
      seg.options.sack_permitted = b.sack_permitted;
      if (b.timestamps) seg.options.timestamps = wire::TcpTimestamps{1, 0};
      seg.payload = payload;
      l4.resize(seg.buffer_len());
      seg.emit(MutBytes(l4.data(), l4.size()), src, b.dst);
      proto = wire::ip_proto::tcp;
      break;
    }
    case BuildProto::udp: {
      wire::UdpRepr u;
      u.src_port = b.sport;
      u.dst_port = b.dport;
      u.payload = payload;
      l4.resize(u.buffer_len());
      u.emit(MutBytes(l4.data(), l4.size()), src, b.dst);
      proto = wire::ip_proto::udp;
      break;
    }
    case BuildProto::icmp: {
      // An echo request; sport/dport give its identifier and sequence number.
      wire::IcmpRepr echo = wire::IcmpRepr::echo_request(b.sport, b.dport, payload);
      l4.resize(echo.buffer_len());
      echo.emit(MutBytes(l4.data(), l4.size()));
      proto = wire::ip_proto::icmp;
      break;
    }
  }

  std::vector<std::pair<std::size_t, std::size_t>> pieces;  // (offset, length)
  const std::size_t chunk = b.fragment_size;
  if (chunk == 0 || l4.size() <= chunk) {
    pieces.emplace_back(0, l4.size());
  } else {
    for (std::size_t off = 0; off < l4.size(); off += chunk) pieces.emplace_back(off, std::min(chunk, l4.size() - off));
  }
  std::vector<std::vector<std::uint8_t>> frames;
  for (const auto& [off, len] : pieces) {
    wire::Ipv4Repr ip;
    ip.src = src;
    ip.dst = b.dst;
    ip.protocol = proto;
    ip.ttl = b.ttl;
    ip.ident = b.ip_id;
    ip.dont_frag = b.df;
    ip.frag_offset = static_cast<std::uint32_t>(off);
    ip.more_frags = off + len < l4.size();
    ip.payload_len = len;
    std::vector<std::uint8_t> frame(wire::kEthernetHeaderLen + ip.buffer_len());
    wire::EthernetRepr eth;
    eth.dst = st.scenario.proxy.gateway_mac;
    eth.src = st.scenario.vm.mac;
    eth.ethertype = wire::kEthertypeIpv4;
    MutBytes rest = eth.emit_header(MutBytes(frame.data(), frame.size()));
    MutBytes ip_payload = ip.emit_header(rest);
    std::copy(l4.begin() + static_cast<std::ptrdiff_t>(off), l4.begin() + static_cast<std::ptrdiff_t>(off + len),
              ip_payload.begin());
    frames.push_back(std::move(frame));
  }
  if (b.fragment_order == FragmentOrder::reverse) std::reverse(frames.begin(), frames.end());
  return frames;
}

void do_ping(RunState& st, const PingAction& a, const std::string& id) {
  ActionRecord* rec = st.record(id);
  rec->ping_count = a.count;
  for (std::uint32_t k = 0; k < a.count; ++k) {
    auto send = [&st, a, id] {
      if (!st.guest.ip()) {
        fail(st, id, "ping " + a.dst.to_string() + ": the VM has no address yet");
        return;
      }
      st.record(id)->pings.push_back(st.guest.ping(a.dst, a.size));
    };
    if (k == 0) {
      send();
    } else {
      st.world.schedule_in(Duration::nanos(a.interval.ns() * k), send);
    }
  }
}

void do_udp_send(RunState& st, const UdpSendAction& a, const std::string& id) {
  ActionRecord* rec = st.record(id);
  std::uint16_t port = a.src_port;
  if (port == 0) {
    Result<std::uint16_t> ephemeral = st.guest.udp_bind_ephemeral();
    if (!ephemeral.ok()) {
      fail(st, id, std::string("udp_bind: ") + ephemeral.error().reason);
      return;
    }
    port = *ephemeral;
    st.udp_ports[port] = id;
  } else if (!st.udp_ports.count(port)) {
    Status bound = st.guest.udp_bind(port);
    if (!bound.ok()) {
      fail(st, id, "udp_bind(" + std::to_string(port) + "): " + bound.error().reason);
      return;
    }
    st.udp_ports[port] = id;
  }
  rec->udp_port = port;
  rec->udp_pattern = a.send.kind == Payload::Kind::pattern;
  auto data = std::make_shared<std::vector<std::uint8_t>>(payload_bytes(a.send));
  for (std::uint32_t k = 0; k < a.count; ++k) {
    auto send = [&st, a, id, port, data] {
      net::SendResult r = st.guest.udp_send(port, a.dst.ip, a.dst.port, Bytes(data->data(), data->size()), a.df);
      if (!net::taken(r) && r != net::SendResult::too_big)
        fail(st, id, "udp_send to " + a.dst.to_string() + ": " + std::string(net::to_string(r)));
    };
    if (k == 0) {
      send();
    } else {
      st.world.schedule_in(Duration::nanos(a.interval.ns() * k), send);
    }
  }
}

void do_tcp_close(RunState& st, const TcpCloseAction& a, const std::string& id) {
  ActionRecord* target = st.record(a.target);
  if (target == nullptr) {
    fail(st, id, "tcp_close: no action \"" + a.target + "\"");
    return;
  }
  if (target->conn) {
    if (GuestConnection* c = st.guest.connection(*target->conn)) end_guest_connection(*c, a.how);
  } else if (target->listener) {
    for (std::uint32_t conn : st.guest.accepted(*target->listener))
      if (GuestConnection* c = st.guest.connection(conn)) end_guest_connection(*c, a.how);
    if (a.how == ThenStep::close || a.how == ThenStep::reset) (void)st.guest.tcp_unlisten(*target->listener);
  } else if (target->client) {
    end_host_client(st.host, *target->client, a.how);
  } else {
    fail(st, id, "tcp_close: \"" + a.target + "\" made no connection");
  }
}

void do_inject_pcap(RunState& st, const InjectPcapAction& a, const std::string& id) {
  auto reader = pcap::PcapReader::open(a.file);
  if (!reader.ok()) {
    fail(st, id, reader.error().message);
    return;
  }
  std::optional<Instant> first;
  for (;;) {
    auto rec = reader->next();
    if (!rec.ok()) {
      fail(st, id, rec.error().message);
      return;
    }
    if (!rec.value()) break;
    const pcap::PcapRecord& r = *rec.value();
    // Only the guest's frames: anything the gateway sent is the proxy's to produce.
    const wire::FrameClass frame_class = wire::classify_frame(r.data);
    if (frame_class.ethernet && frame_class.src_mac == st.scenario.proxy.gateway_mac) continue;
    if (!first) first = r.ts;
    auto frame = std::make_shared<std::vector<std::uint8_t>>(r.data.begin(), r.data.end());
    st.world.schedule_in(r.ts - *first, [&st, frame] { st.guest.inject(Bytes(frame->data(), frame->size())); });
  }
}

}  // namespace

void perform_action(RunState& st, const Action& action, const std::string& id) {
  ActionRecord* rec = st.record(id);
  rec->started = true;
  std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, DhcpAction>) {
          st.guest.start_dhcp();
        } else if constexpr (std::is_same_v<T, PingAction>) {
          do_ping(st, a, id);
        } else if constexpr (std::is_same_v<T, TcpConnectAction>) {
          GuestClientScript script;
          if (a.send.kind == Payload::Kind::text) {
            script.text = a.send.text;
          } else {
            script.pattern_bytes = a.send.size;
          }
          script.expect_echo = a.expect_echo;
          script.then = guest_then(a.then);
          auto conn = st.guest.tcp_connect(a.dst.ip, a.dst.port, script, a.src_port);
          if (!conn.ok()) {
            fail(st, id, "tcp_connect " + a.dst.to_string() + ": " + conn.error().reason);
          } else {
            rec->conn = conn.value()->id();
          }
        } else if constexpr (std::is_same_v<T, TcpListenAction>) {
          GuestServerMode mode = GuestServerMode::record;
          switch (a.behaviour) {
            case ServerBehaviour::echo: mode = GuestServerMode::echo; break;
            case ServerBehaviour::sink: mode = GuestServerMode::sink; break;
            case ServerBehaviour::source: mode = GuestServerMode::source; break;
            case ServerBehaviour::accept_then_close: mode = GuestServerMode::accept_then_close; break;
            default: break;
          }
          auto l = st.guest.tcp_listen(a.port, mode, a.bytes);
          if (!l.ok()) {
            fail(st, id, "tcp_listen " + std::to_string(a.port) + ": " + l.error().reason);
          } else {
            rec->listener = l.value();
          }
        } else if constexpr (std::is_same_v<T, HostConnectAction>) {
          const std::uint64_t client = st.host.client_connect(a.dst.ip, a.dst.port);
          rec->client = client;
          if (a.send.kind == Payload::Kind::text) {
            st.host.client_send_text(client, a.send.text);
          } else if (a.send.kind == Payload::Kind::pattern) {
            st.host.client_send_pattern(client, a.send.size);
          }
          if (a.expect_echo) {
            st.host_scripts.push_back(HostClientScript{client, a.send.length(), a.then, false});
          } else {
            end_host_client(st.host, client, a.then);
          }
        } else if constexpr (std::is_same_v<T, UdpSendAction>) {
          do_udp_send(st, a, id);
        } else if constexpr (std::is_same_v<T, TcpCloseAction>) {
          do_tcp_close(st, a, id);
        } else if constexpr (std::is_same_v<T, InjectAction>) {
          std::vector<std::vector<std::uint8_t>> frames;
          if (a.build) {
            frames = build_frames(st, *a.build);
          } else {
            frames.push_back(a.frame);
          }
          for (std::uint32_t k = 0; k < a.count; ++k)
            for (const auto& f : frames) st.guest.inject(Bytes(f.data(), f.size()));
        } else if constexpr (std::is_same_v<T, InjectPcapAction>) {
          do_inject_pcap(st, a, id);
        } else if constexpr (std::is_same_v<T, FloodAction>) {
          GuestFloodSpec spec;
          spec.kind = a.kind == FloodKind::tcp ? GuestFloodKind::tcp : GuestFloodKind::udp;
          spec.dst = a.dst.ip;
          spec.port = a.dst.port;
          spec.count = a.count;
          spec.interval = a.interval;
          spec.bytes = a.size;
          spec.abandon = a.kind == FloodKind::tcp;
          rec->flood = st.guest.flood(spec);
        } else if constexpr (std::is_same_v<T, LinkAction>) {
          LinkParams to_guest = st.link.params(Direction::to_guest);
          LinkParams to_proxy = st.link.params(Direction::to_proxy);
          a.change.apply(to_guest, to_proxy);
          st.link.set_params(Direction::to_guest, to_guest);
          st.link.set_params(Direction::to_proxy, to_proxy);
        } else if constexpr (std::is_same_v<T, PartitionAction>) {
          if (!a.dir) {
            st.link.partition();
          } else if (!st.partition_rules.count(*a.dir)) {
            // One direction: a rule dropping every frame of it until `heal`.
            LinkRule rule;
            rule.match.dir = *a.dir;
            rule.action = RuleAction::drop;
            rule.every = true;
            st.partition_rules[*a.dir] = st.link.add_rule(rule);
          }
        } else if constexpr (std::is_same_v<T, HealAction>) {
          for (Direction d : kDirections) {
            if (a.dir && *a.dir != d) continue;
            auto it = st.partition_rules.find(d);
            if (it != st.partition_rules.end()) {
              st.link.remove_rule(it->second);
              st.partition_rules.erase(it);
            }
          }
          if (!a.dir) st.link.heal();
        } else if constexpr (std::is_same_v<T, LinkRuleAction>) {
          st.link.add_rule(a.rule);
        } else if constexpr (std::is_same_v<T, ServerStartAction>) {
          st.host.add_server(a.server);
        } else if constexpr (std::is_same_v<T, DnsQueryAction>) {
          perform_dns_query(st, a, id);
        } else if constexpr (std::is_same_v<T, ServerStopAction>) {
          if (!st.host.remove_server(a.proto == ServerProto::udp, a.listen.ip, a.listen.port))
            fail(st, id, "server_stop: no server at " + a.listen.to_string());
        }
      },
      action.body);
}

}  // namespace tapwire::sim
