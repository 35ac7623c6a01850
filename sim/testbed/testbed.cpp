#include "sim/testbed/testbed.h"

#include <stdexcept>
#include <utility>

#include "sim/core/node.h"

namespace tapwire::sim {

// The proxy as a World node.
class ProxyNode final : public Node {
 public:
  explicit ProxyNode(proxy::Proxy& proxy) : proxy_(proxy) {}
  void poll(Instant now) override { proxy_.poll(now); }
  std::optional<Instant> poll_at() const override { return proxy_.poll_at(); }
  std::string name() const override { return "proxy"; }

 private:
  proxy::Proxy& proxy_;
};

namespace {

TestBedOptions checked(TestBedOptions options) {
  if (auto problem = TestBed::check(options)) throw std::invalid_argument(*problem);
  return options;
}

}  // namespace

std::optional<std::string> TestBed::check(const TestBedOptions& options) {
  const proxy::ProxyConfig& p = options.proxy;
  if (auto problem = proxy::validate(p)) return "proxy." + problem->key + ": " + problem->message;
  for (std::size_t i = 0; i < options.dns_servers.size(); ++i) {
    auto server = SimDnsServer::create(options.dns_servers[i], Rng(0));
    if (!server.ok()) return "dns_servers[" + std::to_string(i) + "]: " + server.error();
  }
  if (options.resolver) {
    if (auto resolver = SimResolver::create(*options.resolver); !resolver.ok()) return "resolver: " + resolver.error();
  }
  if (!options.guest || !options.guest->ip) return std::nullopt;
  const wire::Ipv4Addr ip = *options.guest->ip;
  std::string why;
  if (!p.subnet.contains(ip)) why = "is outside the proxy subnet " + p.subnet.to_string();
  else if (ip == p.subnet.network || ip == p.subnet.broadcast()) why = "is not a host address of " + p.subnet.to_string();
  else if (ip == p.gateway_ip) why = "is the gateway's address";
  else if (ip == p.host_ip) why = "is the host alias address";
  if (why.empty()) return std::nullopt;
  return "guest.ip: " + ip.to_string() + " " + why;
}

TestBed::TestBed(TestBedOptions options)
    : options_(checked(std::move(options))), world_(options_.seed), link_(world_, "link") {
  link_.set_params(Direction::to_guest, options_.to_guest);
  link_.set_params(Direction::to_proxy, options_.to_proxy);
  capture_ = std::make_unique<FrameCapture>(link_, options_.capture);
  proxy_port_ = std::make_unique<FramePort>(world_, link_, Direction::to_guest, kProxyPortMaxInFlight);
  host_ = std::make_unique<SimHostNet>(world_, options_.host);
  for (const DnsServerSpec& spec : options_.dns_servers) (void)host_->add_dns_server(spec);  // check()ed
  if (options_.resolver) (void)host_->set_resolver(*options_.resolver);
  proxy_ = std::make_unique<proxy::Proxy>(options_.proxy, *proxy_port_, *host_, world_.rng("proxy"));
  // The connection limit derives from the simulated fd limit as the daemon's does from
  // RLIMIT_NOFILE (stack/proxy/connection_limit.h).
  proxy_->set_fd_limit(options_.host.fd_limit);
  host_->set_event_sink(proxy_.get());
  proxy_port_->set_event_sink(proxy_.get());
  link_.set_receiver(Direction::to_proxy, [p = proxy_.get()](Instant now, Bytes frame) { p->on_frame(now, frame); });
  proxy_node_ = std::make_unique<ProxyNode>(*proxy_);
  world_.add_node(*proxy_node_);
  if (options_.guest) guest_ = std::make_unique<GuestVm>(world_, link_, *options_.guest, Direction::to_proxy);
  // Forwards bind on the simulated host now; a bind the host refuses is a setup error.
  for (const auto& [index, error] : proxy_->open_configured_forwards()) {
    throw std::invalid_argument("proxy.port_forwards[" + std::to_string(index) + "]: " + error.message);
  }
}

void TestBed::set_fd_limit(std::uint64_t fd_limit) {
  host_->set_fd_limit(fd_limit);
  proxy_->set_fd_limit(fd_limit);
}

TestBed::~TestBed() {
  // See "Teardown" in the header.
  guest_.reset();
  on_frame_to_guest(nullptr);
  world_.remove_node(*proxy_node_);
  link_.set_receiver(Direction::to_proxy, nullptr);
  link_.set_receiver(Direction::to_guest, nullptr);
}

void TestBed::inject_to_proxy(Instant at, Bytes frame) {
  world_.schedule_at(at, [this, copy = std::vector<std::uint8_t>(frame.begin(), frame.end())] {
    link_.send(Direction::to_proxy, Bytes(copy.data(), copy.size()));
  });
}

void TestBed::on_frame_to_guest(FrameCallback callback) {
  if (to_guest_observer_) link_.remove_observer(*to_guest_observer_);
  to_guest_observer_.reset();
  if (!callback) return;
  to_guest_observer_ = link_.on_delivery([cb = std::move(callback)](Instant now, Direction dir, Bytes frame) {
    if (dir == Direction::to_guest) cb(now, frame);
  });
}

bool TestBed::wait_for(std::string_view what, const std::function<bool()>& done, Duration timeout,
                       std::string* why) {
  return world_.wait_for(what, done, world_.now() + timeout, why);
}

}  // namespace tapwire::sim
