#include "stack/posix/daemon/daemon.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "stack/base/log.h"
#include "stack/base/rng.h"
#include "stack/pcap/pcap.h"
#include "stack/posix/clock.h"
#include "stack/posix/daemon/control_server.h"
#include "stack/posix/daemon/forward_control.h"
#include "stack/posix/daemon/lease_file.h"
#include "stack/posix/daemon/resolv_conf.h"
#include "stack/posix/event_loop.h"
#include "stack/posix/fd_limit.h"
#include "stack/posix/posix_host_net.h"
#include "stack/posix/qemu_stream.h"
#include "stack/posix/randomness.h"
#include "stack/posix/signal_watcher.h"
#include "stack/posix/tap.h"
#include "stack/posix/vfkit.h"
#include "stack/posix/vmnet.h"
#include "stack/proxy/config_json.h"
#include "stack/proxy/proxy.h"

namespace tapwire::daemon {

namespace {

using nlohmann::json;

constexpr Duration kResolvConfPoll = Duration::seconds(2);
constexpr const char* kControlCommands = "stats, diagnostics, forwards, expose, unexpose";

// Log lines on stderr: "2026-11-30T04:20:00.123Z info  daemon: message".
class StderrLogSink final : public LogSink {
 public:
  void write(LogLevel level, std::string_view component, std::string_view message) override {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    tm utc{};
    ::gmtime_r(&ts.tv_sec, &utc);
    char stamp[80];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ts.tv_nsec / 1'000'000);
    std::string_view lvl = to_string(level);
    std::fprintf(stderr, "%s %-5.*s %.*s: %.*s\n", stamp, static_cast<int>(lvl.size()), lvl.data(),
                 static_cast<int>(component.size()), component.data(), static_cast<int>(message.size()),
                 message.data());
  }
};

// The FrameLink the proxy writes to: the transport, with every committed frame captured.
class CaptureLink final : public host::FrameLink {
 public:
  CaptureLink(posix::EventLoop& loop, pcap::PcapWriter* capture) : loop_(loop), capture_(capture) {}
  void set_transport(posix::VmTransport* transport) { transport_ = transport; }

  // Without a transport (between a vfkit peer leaving and the socket being bound
  // again) the link reports itself full.
  MutBytes egress(std::size_t len) override {
    lent_ = transport_ != nullptr ? transport_->egress(len) : MutBytes{};
    return lent_;
  }
  void commit(std::size_t len) override {
    if (transport_ == nullptr) return;
    if (capture_ != nullptr && len <= lent_.size()) {
      (void)capture_->write(loop_.now(), Bytes(lent_.data(), len));
    }
    lent_ = {};
    transport_->commit(len);
  }
  void flush() override {
    if (transport_ != nullptr) transport_->flush();
  }

 private:
  posix::EventLoop& loop_;
  pcap::PcapWriter* capture_;
  posix::VmTransport* transport_ = nullptr;
  MutBytes lent_;
};

json transport_counters_json(const posix::TransportCounters& c) {
  return json{{"frames_in", c.frames_in},           {"bytes_in", c.bytes_in},
              {"frames_out", c.frames_out},         {"bytes_out", c.bytes_out},
              {"dropped_in", c.dropped_in},         {"dropped_out", c.dropped_out},
              {"dropped_no_peer", c.dropped_no_peer}, {"link_full", c.link_full},
              {"connections", c.connections},       {"protocol_errors", c.protocol_errors}};
}

// The DNS service's state for `tapwire ctl`: mode, queries in flight, each upstream's
// health, and the host resolver's lookups (host mode).
json dns_json(const proxy::DnsStatus& status, const posix::PosixHostNet& host, bool from_resolv_conf) {
  const posix::HostLookupCounters& lookups = host.lookup_counters();
  const posix::ResolverPoolCounters pool = host.resolver_counters();
  json out = proxy::to_json(status);
  out["upstreams_from"] = from_resolv_conf ? std::string(kResolvConfPath) : std::string("configuration");
  out["host_resolver"] = {{"open", host.lookups_open()}, {"started", lookups.started},
                          {"answered", lookups.answered}, {"discarded", lookups.discarded},
                          {"limit_hits", lookups.limit_hits}, {"config_reloads", pool.reinits}};
  return out;
}

class Daemon final : public posix::FrameReceiver {
 public:
  explicit Daemon(const DaemonOptions& options) : options_(options), log_(sink_, "daemon", options.log_level) {}
  int run();

  void on_frame(Instant now, Bytes frame) override {
    if (capture_) (void)capture_->write(now, frame);
    proxy_->on_frame(now, frame);
  }
  void on_link_up(Instant) override {
    TW_LOG(log_, info, "VM attached (%s)", std::string(to_string(options_.transport)).c_str());
  }
  void on_link_down(Instant, const char* reason) override {
    TW_LOG(log_, warn, "VM detached: %s", reason);
    if (options_.transport == TransportKind::vfkit_listen) relisten_ = true;
  }

 private:
  std::uint64_t raise_fd_limit();
  Result<std::unique_ptr<posix::VmTransport>> open_transport();
  std::string handle_control(std::string_view line);
  json stats_json() const;
  json diagnostics_json() const;
  void log_stats();
  void default_dns_upstreams();
  void reread_resolv_conf_if_changed(Instant now);
  void restore_leases();
  void save_leases_if_changed();
  void shutdown();

  DaemonOptions options_;
  StderrLogSink sink_;
  Logger log_;
  std::unique_ptr<posix::EventLoop> loop_;
  std::unique_ptr<posix::PosixHostNet> host_;
  std::unique_ptr<posix::VmTransport> transport_;
  std::unique_ptr<CaptureLink> link_;
  std::unique_ptr<proxy::Proxy> proxy_;
  std::optional<posix::IsnGenerator> isn_;
  std::unique_ptr<ControlServer> control_;
  std::optional<pcap::PcapWriter> capture_;
  // Set when the DNS upstreams are /etc/resolv.conf's: checked every kResolvConfPoll.
  std::optional<ResolvConfWatcher> resolv_conf_;
  Instant next_resolv_check_;
  Instant started_;
  std::uint64_t saved_lease_generation_ = 0;
  bool stop_ = false;
  bool relisten_ = false;
  int stop_signal_ = 0;
};

Result<std::unique_ptr<posix::VmTransport>> Daemon::open_transport() {
  posix::EventLoop& loop = *loop_;
  auto address = [&]() {
    posix::StreamAddress a;
    if (auto parsed = posix::StreamAddress::parse(options_.transport_path)) a = *parsed;
    else a.path = options_.transport_path;
    return a;
  };
  auto up = [](auto result) -> Result<std::unique_ptr<posix::VmTransport>> {
    if (!result) return result.error();
    return std::unique_ptr<posix::VmTransport>(std::move(result.value()));
  };
  switch (options_.transport) {
    case TransportKind::qemu_listen: return up(posix::QemuStreamTransport::listen(loop, address()));
    case TransportKind::qemu_connect: return up(posix::QemuStreamTransport::connect(loop, address()));
    case TransportKind::vmnet_listen: {
      posix::VmnetConfig config;
      config.mtu = static_cast<std::uint16_t>(options_.proxy.mtu > 65535 ? 65535 : options_.proxy.mtu);
      return up(posix::VmnetTransport::listen(loop, options_.transport_path, config));
    }
    case TransportKind::vfkit_listen: return up(posix::VfkitTransport::listen(loop, options_.transport_path));
    case TransportKind::tap: {
      posix::TapConfig config;
      config.ifname = options_.transport_path;
      config.netns_path = options_.netns_path;
      return up(posix::TapTransport::open(loop, config));
    }
    case TransportKind::none: break;
  }
  return Error{Errc::invalid_argument, "no transport"};
}

// RLIMIT_NOFILE soft -> hard; the limit in force (0: unknown), for the connection limit.
std::uint64_t Daemon::raise_fd_limit() {
  auto raised = posix::raise_fd_limit();
  if (raised) {
    TW_LOG(log_, info, "RLIMIT_NOFILE raised to %llu", static_cast<unsigned long long>(raised.value()));
    return raised.value();
  }
  TW_LOG(log_, warn, "cannot raise RLIMIT_NOFILE: %s", raised.error().reason);
  auto current = posix::fd_limit();
  return current ? current.value() : 0;
}

int Daemon::run() {
  ::signal(SIGPIPE, SIG_IGN);
  const std::uint64_t fd_limit = raise_fd_limit();

  auto seed = posix::seed_from_getrandom();
  if (!seed) {
    TW_LOG(log_, error, "getrandom failed: %s; refusing to start with a predictable seed", seed.error().reason);
    return 1;
  }
  Rng rng(seed.value());

  loop_ = std::make_unique<posix::EventLoop>();
  if (!loop_->ok()) {
    TW_LOG(log_, error, "cannot create the epoll loop");
    return 1;
  }
  posix::SignalWatcher signals(*loop_, {SIGTERM, SIGINT}, [this](int signo) {
    stop_ = true;
    stop_signal_ = signo;
  });
  if (!signals.status()) {
    TW_LOG(log_, error, "cannot watch SIGTERM/SIGINT: %s", signals.status().error().reason);
    return 1;
  }

  if (!options_.pcap_path.empty()) {
    auto writer = pcap::PcapWriter::open(options_.pcap_path);
    if (!writer) {
      TW_LOG(log_, error, "%s", writer.error().message.c_str());
      return 1;
    }
    capture_.emplace(std::move(writer.value()));
  }

  if (auto err = append_dns_hosts_file(options_.proxy.dns)) {
    TW_LOG(log_, error, "%s", err->c_str());
    return 2;
  }
  default_dns_upstreams();

  host_ = std::make_unique<posix::PosixHostNet>(*loop_);
  auto transport = open_transport();
  if (!transport) {
    TW_LOG(log_, error, "--%s %s: %s", std::string(to_string(options_.transport)).c_str(),
           options_.transport_path.c_str(), transport.error().reason);
    return 1;
  }
  transport_ = std::move(transport.value());
  link_ = std::make_unique<CaptureLink>(*loop_, capture_ ? &*capture_ : nullptr);
  link_->set_transport(transport_.get());
  proxy_ = std::make_unique<proxy::Proxy>(options_.proxy, *link_, *host_, rng,
                                          Logger(sink_, "proxy", options_.log_level));
  auto isn = posix::IsnGenerator::from_getrandom();
  if (!isn) {
    TW_LOG(log_, error, "getrandom: %s", isn.error().reason);
    return 1;
  }
  isn_.emplace(isn.value());
  proxy_->set_isn_source([this](Instant now, const tcp::FourTuple& t) {
    return isn_->isn(now, t.local.ip, t.local.port, t.remote.ip, t.remote.port);  // RFC 6528 §3
  });
  // The connection limit follows the fd limit (the proxy logs limit and reserve);
  // --max-connections overrides it.
  proxy_->set_fd_limit(fd_limit);
  restore_leases();
  host_->set_event_sink(proxy_.get());
  transport_->set_receiver(this);
  transport_->set_link_event_sink(proxy_.get());
  if (auto failed = open_startup_forwards(*proxy_, options_)) {
    for (const std::string& message : failed->messages) TW_LOG(log_, error, "%s", message.c_str());
    // Nothing stays bound: the forwards that did open close with the rest.
    proxy_->shutdown(posix::MonotonicClock::now());
    host_->close_all();
    return failed->exit_code;
  }

  if (!options_.control_path.empty()) {
    auto control = ControlServer::listen(*loop_, options_.control_path,
                                         [this](std::string_view line) { return handle_control(line); });
    if (!control) {
      TW_LOG(log_, error, "--control %s: %s", options_.control_path.c_str(), control.error().reason);
      return 1;
    }
    control_ = std::move(control.value());
  }

  started_ = posix::MonotonicClock::now();
  TW_LOG(log_, info, "serving %s on --%s %s (gateway %s, host alias %s)", options_.proxy.subnet.to_string().c_str(),
         std::string(to_string(options_.transport)).c_str(), options_.transport_path.c_str(),
         options_.proxy.gateway_ip.to_string().c_str(), options_.proxy.host_ip.to_string().c_str());

  std::optional<Instant> next_stats;
  if (options_.stats_interval > Duration::zero()) next_stats = started_ + options_.stats_interval;
  while (!stop_) {
    std::optional<Instant> deadline = proxy_->poll_at();
    if (next_stats && (!deadline || *next_stats < *deadline)) deadline = next_stats;
    if (resolv_conf_ && (!deadline || next_resolv_check_ < *deadline)) deadline = next_resolv_check_;
    auto ran = loop_->run_once(deadline);
    if (!ran) {
      TW_LOG(log_, error, "event loop failed: %s", ran.error().reason);
      break;
    }
    Instant now = loop_->now();
    proxy_->poll(now);
    save_leases_if_changed();
    reread_resolv_conf_if_changed(now);
    if (next_stats && now >= *next_stats) {
      log_stats();
      next_stats = now + options_.stats_interval;
    }
    if (relisten_ && !stop_) {
      relisten_ = false;
      // The old transport removes its socket file when destroyed: destroy it first.
      link_->set_transport(nullptr);
      transport_.reset();
      auto fresh = open_transport();
      if (!fresh) {
        TW_LOG(log_, error, "cannot listen again on %s: %s", options_.transport_path.c_str(), fresh.error().reason);
        break;
      }
      transport_ = std::move(fresh.value());
      link_->set_transport(transport_.get());
      transport_->set_receiver(this);
      transport_->set_link_event_sink(proxy_.get());
      proxy_->on_link_writable(loop_->now());  // the link refused frames while it was gone
    }
  }
  if (stop_signal_ != 0) TW_LOG(log_, info, "signal %d: shutting down", stop_signal_);
  shutdown();
  return stop_ ? 0 : 1;
}

// Forward mode without configured upstreams forwards to /etc/resolv.conf's name
// servers, and follows the file when it changes (resolv_conf.h).
void Daemon::default_dns_upstreams() {
  proxy::DnsConfig& dns = options_.proxy.dns;
  if (dns.mode == proxy::DnsMode::host) {
    TW_LOG(log_, info, "dns: host mode: names go to the host's resolver (%s)", kResolvConfPath);
    return;
  }
  if (dns.mode != proxy::DnsMode::forward || !dns.upstreams.empty()) return;
  resolv_conf_.emplace();
  ResolvConfServers servers = resolv_conf_->read();
  for (const std::string& note : servers.notes) TW_LOG(log_, info, "dns: %s: %s", kResolvConfPath, note.c_str());
  if (servers.groups.empty())
    TW_LOG(log_, warn, "dns: no IPv4 nameserver in %s: names beyond the built-in ones get SERVFAIL until it has one",
           kResolvConfPath);
  else
    TW_LOG(log_, info, "dns: forwarding to %s (from %s)", upstreams_text(servers.groups).c_str(), kResolvConfPath);
  dns.upstreams = std::move(servers.groups);
  next_resolv_check_ = posix::MonotonicClock::now() + kResolvConfPoll;
}

void Daemon::reread_resolv_conf_if_changed(Instant now) {
  if (!resolv_conf_ || now < next_resolv_check_) return;
  next_resolv_check_ = now + kResolvConfPoll;
  if (!resolv_conf_->changed()) return;
  ResolvConfServers servers = resolv_conf_->read();
  for (const std::string& note : servers.notes) TW_LOG(log_, info, "dns: %s: %s", kResolvConfPath, note.c_str());
  if (servers.groups == proxy_->config().dns.upstreams) return;
  TW_LOG(log_, info, "dns: %s changed: forwarding to %s", kResolvConfPath, upstreams_text(servers.groups).c_str());
  proxy_->set_dns_upstreams(std::move(servers.groups));
}

// The lease file: loaded once before the VM talks, rewritten whenever the DHCP
// server's lease table changes (docs/architecture.md §Determinism: the file I/O stays
// in the daemon; the server only offers a snapshot and a change counter).
void Daemon::restore_leases() {
  const std::string& path = options_.proxy.dhcp.lease_file;
  if (path.empty()) return;
  LeaseFileContents contents = load_lease_file(path);
  if (contents.warning) TW_LOG(log_, warn, "%s", contents.warning->c_str());
  proxy::DhcpServer& dhcp = proxy_->dhcp();
  dhcp.restore_leases(loop_->now(), contents.leases);
  saved_lease_generation_ = dhcp.lease_generation();
}

void Daemon::save_leases_if_changed() {
  const std::string& path = options_.proxy.dhcp.lease_file;
  if (path.empty() || !proxy_) return;
  const proxy::DhcpServer& dhcp = proxy_->dhcp();
  if (dhcp.lease_generation() == saved_lease_generation_) return;
  saved_lease_generation_ = dhcp.lease_generation();
  if (auto err = write_lease_file(path, dhcp.lease_snapshot())) TW_LOG(log_, warn, "%s", err->c_str());
}

void Daemon::shutdown() {
  Instant now = posix::MonotonicClock::now();
  proxy_->shutdown(now);  // RST to the guest's connections, host sockets closed
  proxy_->poll(now);      // emit what shutdown queued, one flush
  save_leases_if_changed();
  link_->flush();
  host_->close_all();
  control_.reset();  // closes clients, removes the socket file
  if (capture_) {
    auto frames = capture_->frames_written();
    if (auto st = capture_->close(); !st) TW_LOG(log_, error, "%s", st.error().message.c_str());
    else TW_LOG(log_, info, "capture %s: %llu frames", options_.pcap_path.c_str(),
                static_cast<unsigned long long>(frames));
  }
  log_stats();
  proxy_.reset();
  transport_.reset();  // closes (and for listeners, removes) the VM socket
  host_.reset();
}

json Daemon::stats_json() const {
  json counters = json::object();
  for (const auto& [name, value] : proxy_->stats()) counters[name] = value;
  const auto& loop = loop_->counters();
  const auto& extra = host_->extra_counters();
  return json{
      {"uptime_s", (loop_->now() - started_).secs()},
      {"counters", counters},
      {"transport",
       {{"kind", std::string(to_string(options_.transport))},
        {"path", options_.transport_path},
        {"attached", transport_ != nullptr && transport_->attached()},
        {"last_error", transport_ != nullptr ? transport_->last_error() : "relistening"},
        {"counters", transport_ != nullptr ? transport_counters_json(transport_->counters()) : json::object()}}},
      {"host", {{"accept_backoffs", extra.accept_backoffs}, {"events_queued", extra.events_queued},
                {"stale_events", extra.stale_events}, {"icmp_non_replies", extra.icmp_non_replies},
                {"open_sockets", host_->sockets().size()}}},
      {"dns", dns_json(proxy_->dns_status(), *host_, resolv_conf_.has_value())},
      {"loop", {{"waits", loop.waits}, {"empty_wakeups", loop.empty_wakeups}, {"events", loop.events},
                {"stale_events", loop.stale_events}, {"registrations", loop_->registrations()}}},
  };
}

json Daemon::diagnostics_json() const {
  json sockets = json::array();
  for (const posix::HostSocketInfo& s : host_->sockets()) {
    json row{{"handle", std::to_string(s.handle.index) + "/" + std::to_string(s.handle.generation)},
             {"kind", s.kind},
             {"fd", s.fd},
             {"local", s.local.to_string()},
             {"read_interest", s.read_interest},
             {"waiting_writable", s.waiting_writable},
             {"in_accept_backoff", s.in_accept_backoff}};
    row["peer"] = s.peer ? json(s.peer->to_string()) : json(nullptr);
    sockets.push_back(std::move(row));
  }
  json out = stats_json();
  json snapshot = proxy::to_json(proxy_->snapshot());
  out["connection_limit"] = std::move(snapshot["connection_limit"]);
  out["forwards"] = std::move(snapshot["forwards"]);
  out["flows"] = std::move(snapshot["flows"]);
  out["own_sockets"] = std::move(snapshot["own_sockets"]);
  out["host_sockets"] = std::move(sockets);
  out["leaks"] = proxy_->leaks();
  out["config"] = proxy::proxy_config_to_json(proxy_->config());
  return out;
}

std::string Daemon::handle_control(std::string_view line) {
  json request = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) return json{{"error", "bad JSON: expected one object per line"}}.dump();
  if (!request.is_object()) return json{{"error", "expected a JSON object like {\"cmd\": \"stats\"}"}}.dump();
  auto cmd = request.find("cmd");
  if (cmd == request.end() || !cmd->is_string()) {
    return json{{"error", std::string("missing \"cmd\" (a string): one of ") + kControlCommands}}.dump();
  }
  const std::string& name = cmd->get_ref<const std::string&>();
  if (name == "stats") return stats_json().dump();
  if (name == "diagnostics") return diagnostics_json().dump();
  for (std::string_view forward_cmd : kForwardCommands) {
    if (name == forward_cmd) return forward_request(*proxy_, name, request).dump();
  }
  return json{{"error", "unknown command \"" + name + "\": one of " + kControlCommands}}.dump();
}

void Daemon::log_stats() {
  if (!log_.enabled(LogLevel::info) || !transport_) return;
  std::string line;
  for (const auto& [name, value] : proxy_->stats()) {
    if (value == 0) continue;
    if (!line.empty()) line += ' ';
    line += name + "=" + std::to_string(value);
  }
  const auto& t = transport_->counters();
  TW_LOG(log_, info, "stats: frames in %llu out %llu; %s", static_cast<unsigned long long>(t.frames_in),
         static_cast<unsigned long long>(t.frames_out), line.c_str());
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
  Daemon daemon(options);
  return daemon.run();
}

}  // namespace tapwire::daemon
