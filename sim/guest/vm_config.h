// GuestVmConfig: how the simulated VM is set up (the `vm` keys of scenarios/README.md).
//
// sim/scenario/scenario.h has the scenario file's model of the same keys
// (sim::VmConfig, VmTcpOptions, DhcpMtuPolicy). sim/guest cannot include it (the
// scenario library depends on this one, not the other way round), so the guest has its
// own plain struct with the same fields, named Guest* so that both headers can be
// included together; the scenario runner copies the fields across (and supplies the
// static gateway/subnet from the proxy's config).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "stack/base/time.h"
#include "stack/wire/addr.h"

namespace tapwire::sim {

// The TCP options of the VM's own stack (vm.tcp), mapped onto tcp::ConnOptions.
struct GuestTcpOptions {
  bool mss_option = true;   // ConnOptions::mss_option
  bool wscale = true;       // ConnOptions::window_scale
  bool sack = true;         // ConnOptions::sack
  bool timestamps = true;   // ConnOptions::timestamps
  bool nagle = true;        // a stock OS socket
  std::size_t send_buffer = 256 * 1024;
  std::size_t recv_buffer = 256 * 1024;
  Duration msl = Duration::seconds(30);  // TIME-WAIT lasts 2 * msl
};

struct GuestVmConfig {
  // Node name and Rng label: all randomness comes from world.rng(name) ("guest" for the
  // one VM of a scenario; a test with two VMs gives each its own stream).
  std::string name = "guest";
  wire::MacAddr mac{{0x02, 0x50, 0x00, 0x00, 0x00, 0x10}};
  std::uint32_t mtu = 1500;    // vm.mtu: the IP MTU of the VM's interface
  // vm.ip: nullopt = "dhcp" (start_dhcp() runs the client); otherwise a static address
  // in `subnet` with `gateway` as the default route.
  std::optional<wire::Ipv4Addr> ip;
  wire::Ipv4Cidr subnet{wire::Ipv4Addr::from_octets(192, 168, 65, 0), 24};
  std::optional<wire::Ipv4Addr> gateway = wire::Ipv4Addr::from_octets(192, 168, 65, 1);
  // vm.dhcp_mtu: false = "ignore" (default), true = "adopt" option 26.
  bool adopt_dhcp_mtu = false;
  GuestTcpOptions tcp;

  // DHCP client retransmission (after 1 s, doubling, at most 8 s apart; see dhcp_client.h).
  Duration dhcp_initial_timeout = Duration::seconds(1);
  Duration dhcp_max_timeout = Duration::seconds(8);
  // Frames of the to_proxy direction allowed in flight before the VM's link port
  // reports would-block (0 = unlimited).
  std::size_t max_frames_in_flight = 4096;
  // Datagrams kept per bound UDP port before new ones are dropped.
  std::size_t udp_queue_limit = 1024;
};

}  // namespace tapwire::sim
