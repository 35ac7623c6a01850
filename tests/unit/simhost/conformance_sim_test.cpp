#define BOOST_TEST_MODULE conformance_sim
#include <boost/test/unit_test.hpp>

#include <memory>

#include "sim/core/world.h"
#include "sim/host/sim_host_net.h"
#include "tests/unit/host/conformance.h"

// The HostNet conformance suite (tests/unit/host/conformance.h) against SimHostNet.
// Remote servers sit at 203.0.113.0/24 with 1 ms one-way latency, so every case also
// crosses virtual time; listeners are on loopback.

namespace {

using tapwire::Duration;
using tapwire::host::Endpoint;
using tapwire::sim::ServerBehaviour;
using tapwire::sim::ServerProto;
using tapwire::sim::ServerSpec;
using tapwire::wire::Ipv4Addr;

class SimEnv : public tapwire::host::conformance::ConformanceEnv {
 public:
  SimEnv() : world_(42), net_(world_) { net_.set_event_sink(this); }

  tapwire::host::HostNet& net() override { return net_; }

  Endpoint start_echo_server() override { return add(ServerBehaviour::echo, 7, ServerProto::tcp, 0); }
  Endpoint start_sink_server(std::size_t rcvbuf) override {
    return add(ServerBehaviour::sink, 9, ServerProto::tcp, rcvbuf);
  }
  Endpoint closed_port() override { return Endpoint{Ipv4Addr::from_octets(203, 0, 113, 10), 1}; }
  Endpoint start_udp_echo() override { return add(ServerBehaviour::echo, 7, ServerProto::udp, 0); }

  bool run_until(const std::function<bool()>& done, Duration max) override {
    return world_.run_until(done, world_.now() + max);
  }
  Duration quiet() const override { return Duration::seconds(1); }
  bool can_limit_fds() const override { return true; }
  void set_fd_limit(std::uint64_t n) override { net_.set_fd_limit(n); }

 private:
  Endpoint add(ServerBehaviour b, std::uint16_t port, ServerProto proto, std::size_t rcvbuf) {
    ServerSpec spec;
    spec.ip = Ipv4Addr::from_octets(203, 0, 113, 10);
    spec.port = port;
    spec.proto = proto;
    spec.behaviour = b;
    spec.latency = Duration::millis(1);
    spec.rcvbuf = rcvbuf;
    net_.add_server(spec);
    return Endpoint{spec.ip, port};
  }

  tapwire::sim::World world_;
  tapwire::sim::SimHostNet net_;
};

std::unique_ptr<tapwire::host::conformance::ConformanceEnv> make_sim_env() { return std::make_unique<SimEnv>(); }

}  // namespace

TAPWIRE_HOSTNET_CONFORMANCE(make_sim_env)
