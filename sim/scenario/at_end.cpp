// The at_end checks of a scenario other than its plain conditions: no_leaks, counters,
// byte-exact streams, the largest frame per direction and packetdrill-style frame
// counts.
#include "sim/scenario/run_state.h"
#include "stack/proxy/policy.h"

namespace tapwire::sim {

namespace {

std::string num(std::uint64_t v) { return std::to_string(v); }

const Action* find_action(const Scenario& s, const std::string& id) {
  for (const Action& a : s.actions)
    if (a.id == id) return &a;
  return nullptr;
}

ExpectationResult check_stream(RunState& st, const StreamExpectation& s) {
  ExpectationResult r;
  r.kind = "at_end";
  r.description = "stream " + s.id;
  if (s.sent) r.description += ", sent == " + num(*s.sent);
  if (s.received) r.description += ", received == " + num(*s.received);
  if (s.exact) r.description += ", byte-exact";
  ActionRecord* rec = st.record(s.id);
  if (rec == nullptr) {
    r.reason = "no action \"" + s.id + "\"";
    return r;
  }
  std::uint64_t sent = 0, received = 0;
  std::optional<std::string> inexact;
  if (rec->conn) {
    const GuestConnection* c = st.guest.connection(*rec->conn);
    if (c == nullptr) {
      r.reason = "connection gone";
      return r;
    }
    sent = c->bytes_sent();
    received = c->bytes_received();
    if (c->script().expect_echo) {
      if (auto bad = c->first_echo_mismatch()) inexact = "echo differs from what was sent at byte " + num(*bad);
    } else if (c->script().text.empty() && received > 0) {
      if (auto bad = c->first_pattern_mismatch()) inexact = "received byte " + num(*bad) + " is not the pattern";
    }
    // The far end's view of what we sent: a host server records what it received.
    const Action* a = find_action(st.scenario, s.id);
    const auto* tc = a ? std::get_if<TcpConnectAction>(&a->body) : nullptr;
    if (!inexact && tc && tc->send.kind == Payload::Kind::pattern) {
      if (auto f = st.host.server(false, proxy::host_side_of(st.scenario.proxy.host_ip, tc->dst.ip), tc->dst.port))
        if (f->first_pattern_mismatch)
          inexact = "the server received byte " + num(*f->first_pattern_mismatch) + " wrong";
    }
  } else if (rec->listener) {
    for (std::uint32_t id : st.guest.accepted(*rec->listener)) {
      const GuestConnection* c = st.guest.connection(id);
      if (c == nullptr) continue;
      sent += c->bytes_sent();
      received += c->bytes_received();
      if (!inexact)
        if (auto bad = c->first_pattern_mismatch())
          inexact = "connection " + num(id) + " received byte " + num(*bad) + " not the pattern";
    }
  } else if (rec->client) {
    HostClientFigures f = st.host.client(*rec->client);
    sent = f.sent;
    received = f.received;
    if (received > 0 && f.first_pattern_mismatch)
      inexact = "received byte " + num(*f.first_pattern_mismatch) + " is not the pattern";
  } else {
    r.reason = "made no connection";
    return r;
  }
  r.passed = true;
  r.reason = "sent " + num(sent) + ", received " + num(received);
  if (s.sent && sent != *s.sent) r.passed = false;
  if (s.received && received != *s.received) r.passed = false;
  if (s.exact && inexact) {
    r.passed = false;
    r.reason += ", " + *inexact;
  }
  return r;
}

}  // namespace

// Everything left behind (TestBed::leaks()): proxy flows/handles/timers, proxy host
// sockets other than listeners, and the guest's live connections, apps, floods and
// queued injections. TIME-WAIT records, DHCP leases, ARP entries and the runner's own
// bound UDP sockets and listeners are not leaks.
std::vector<std::string> collect_leaks(RunState& st) { return st.bed.leaks(); }

void evaluate_at_end(RunState& st, std::vector<ExpectationResult>& out) {
  const AtEndExpectations& e = st.scenario.expect.at_end;
  // Checked in every run, whatever the scenario says (the MTU rule of
  // docs/architecture.md §Network behaviour).
  {
    const std::size_t limit = st.scenario.proxy.mtu + 14;
    const std::size_t largest = st.capture.largest(Direction::to_guest);
    out.push_back({"invariant", "no frame from the proxy above MTU + 14 (" + num(limit) + " bytes)", largest <= limit,
                   "largest " + num(largest) + " bytes"});
  }
  if (e.no_leaks) {
    std::vector<std::string> leaks = collect_leaks(st);
    ExpectationResult r{"at_end", "no leaks (flows, host sockets, timers, guest connections)", leaks.empty(), ""};
    if (leaks.empty()) {
      r.reason = "nothing left";
    } else {
      for (std::size_t i = 0; i < leaks.size() && i < 8; ++i) r.reason += (i ? "; " : "") + leaks[i];
      if (leaks.size() > 8) r.reason += "; and " + num(leaks.size() - 8) + " more";
    }
    out.push_back(std::move(r));
  }
  for (const StatCondition& c : e.counters) {
    Condition wrapped{c, "", ""};
    Verdict v = evaluate(st, wrapped);
    out.push_back({"at_end", describe(wrapped), v.passed, v.observed});
  }
  for (const StreamExpectation& s : e.streams) out.push_back(check_stream(st, s));
  for (Direction d : kDirections) {
    const std::optional<std::size_t>& limit = d == Direction::to_guest ? e.max_frame_to_guest : e.max_frame_to_proxy;
    if (!limit) continue;
    const std::size_t largest = st.capture.largest(d);
    out.push_back({"at_end", "largest frame " + std::string(to_string(d)) + " <= " + num(*limit), largest <= *limit,
                   "largest " + num(largest) + " bytes"});
  }
  for (const FrameCondition& f : e.frames) {
    Condition wrapped{f, "", ""};
    // The watch was registered for the original; evaluate through it.
    auto it = st.frame_watches.find(&f);
    const std::uint64_t n = it == st.frame_watches.end() ? 0 : st.watches.count(it->second);
    const bool ok = f.count.holds(static_cast<double>(n));
    out.push_back({"at_end", describe(wrapped), ok, num(n) + " frames" + (ok ? "" : " (want " + f.count.to_string() + ")")});
  }
  for (const StrictCheckExpectation& s : e.strict_checks) out.push_back(check_strict(s));
}

}  // namespace tapwire::sim
