#define BOOST_TEST_MODULE lease_file
#include <boost/test/unit_test.hpp>

// The daemon's DHCP lease file: written atomically, read back, a corrupt file a warning
// and an empty table; and a round trip through two runs of the `tapwire` binary, where a
// MAC keeps its address although the VMs come back in the other order.

#include <filesystem>

#include "stack/posix/daemon/lease_file.h"
#include "stack/wire/dhcp.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"
#include "tests/unit/posix/daemon_testutil.h"

using namespace tapwire;
using namespace tapwire::daemon_test;
using proxy::DhcpLeaseSnapshot;
using proxy::DhcpLeaseState;
using wire::Ipv4Addr;
using wire::MacAddr;

namespace {

const MacAddr kMacA{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
const MacAddr kMacB{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}};

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A DHCP message from the VM as one Ethernet frame (broadcast, 0.0.0.0 -> 255.255.255.255).
std::vector<unsigned char> dhcp_frame(const wire::DhcpRepr& msg, MacAddr mac) {
  const std::size_t dhcp_len = msg.buffer_len();
  const std::size_t udp_len = wire::kUdpHeaderLen + dhcp_len;
  const std::size_t ip_len = wire::kIpv4HeaderLen + udp_len;
  std::vector<unsigned char> frame(wire::kEthernetHeaderLen + ip_len);
  wire::EthernetRepr eth;
  eth.dst = MacAddr::broadcast();
  eth.src = mac;
  eth.ethertype = wire::kEthertypeIpv4;
  eth.emit_header(MutBytes(frame.data(), frame.size()));
  MutBytes ip_bytes(frame.data() + wire::kEthernetHeaderLen, ip_len);
  wire::Ipv4Repr ip;
  ip.src = Ipv4Addr::any();
  ip.dst = Ipv4Addr::broadcast();
  ip.protocol = wire::ip_proto::udp;
  ip.payload_len = udp_len;
  ip.ttl = 64;
  ip.emit_header(ip_bytes);
  MutBytes udp_bytes = ip_bytes.subspan(wire::kIpv4HeaderLen);
  MutBytes body = udp_bytes.subspan(wire::kUdpHeaderLen, dhcp_len);
  msg.emit(body);
  wire::UdpRepr udp;
  udp.src_port = wire::kDhcpClientPort;
  udp.dst_port = wire::kDhcpServerPort;
  udp.payload = body;
  udp.emit(udp_bytes, ip.src, ip.dst);
  return frame;
}

// Plays QEMU on the daemon's socket: sends one DHCP message, returns the reply's yiaddr.
Ipv4Addr exchange(int fd, const wire::DhcpRepr& msg, MacAddr mac) {
  std::vector<unsigned char> frame = dhcp_frame(msg, mac);
  std::vector<unsigned char> out = {0, 0, static_cast<unsigned char>(frame.size() >> 8),
                                    static_cast<unsigned char>(frame.size())};
  out.insert(out.end(), frame.begin(), frame.end());
  BOOST_REQUIRE(::send(fd, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size()));
  std::vector<unsigned char> head = read_exactly(fd, 4);
  std::vector<unsigned char> reply = read_exactly(fd, (std::size_t{head[2]} << 8) | head[3]);
  auto packet = wire::DhcpPacket::check(
      Bytes(reply.data() + wire::kEthernetHeaderLen + wire::kIpv4HeaderLen + wire::kUdpHeaderLen,
            reply.size() - wire::kEthernetHeaderLen - wire::kIpv4HeaderLen - wire::kUdpHeaderLen));
  BOOST_REQUIRE(packet.ok());
  auto repr = wire::DhcpRepr::parse(*packet);
  BOOST_REQUIRE(repr.ok());
  return repr->yiaddr;
}

Ipv4Addr lease(int fd, MacAddr mac) {
  const Ipv4Addr offered = exchange(fd, wire::make_dhcp_discover(mac, 1), mac);
  return exchange(fd, wire::make_dhcp_request(mac, 2, offered, Ipv4Addr::from_octets(192, 168, 65, 1)), mac);
}

}  // namespace

BOOST_AUTO_TEST_CASE(written_leases_read_back_and_no_temporary_file_stays) {
  TempDir dir;
  const std::string path = dir.file("leases.json");
  const std::vector<DhcpLeaseSnapshot> leases = {
      {kMacA, Ipv4Addr::from_octets(192, 168, 65, 3), {1, 2, 0, 0, 0, 0, 0x0a}, DhcpLeaseState::bound},
      {kMacB, Ipv4Addr::from_octets(192, 168, 65, 4), {0xff, 0x12, 0x34}, DhcpLeaseState::released},
  };
  BOOST_REQUIRE(!daemon::write_lease_file(path, leases).has_value());
  BOOST_TEST(!std::filesystem::exists(path + ".tmp"));
  daemon::LeaseFileContents back = daemon::load_lease_file(path);
  BOOST_TEST(!back.warning.has_value());
  BOOST_TEST((back.leases == leases));
  // Rewriting replaces the whole table.
  BOOST_REQUIRE(!daemon::write_lease_file(path, {leases[1]}).has_value());
  BOOST_TEST(daemon::load_lease_file(path).leases.size() == 1u);
  // A file that does not exist yet is an empty table, without a warning.
  back = daemon::load_lease_file(dir.file("none.json"));
  BOOST_TEST(back.leases.empty());
  BOOST_TEST(!back.warning.has_value());
  // A folder that does not exist cannot be written: an error naming the file.
  auto err = daemon::write_lease_file(dir.file("no/such/leases.json"), leases);
  BOOST_REQUIRE(err.has_value());
  BOOST_TEST(err->find("leases.json: cannot create") != std::string::npos, *err);
}

BOOST_AUTO_TEST_CASE(a_corrupt_file_is_a_warning_naming_the_path_and_an_empty_table) {
  TempDir dir;
  const std::string path = dir.file("leases.json");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"version\": 1, \"leases\": [", "invalid JSON"},
      {R"({"version": 2, "leases": []})", "$.version"},
      {R"({"version": 1, "leases": [{"mac": "nope", "ip": "192.168.65.3", "client_id": "01", "state": "bound"}]})",
       "$.leases[0].mac"},
      {R"({"version": 1, "leases": [{"mac": "02:00:00:00:00:0a", "ip": "192.168.65.3", "client_id": "0x",
           "state": "bound"}]})",
       "$.leases[0].client_id"},
      {R"({"version": 1, "leases": [{"mac": "02:00:00:00:00:0a", "ip": "192.168.65.3", "client_id": "01",
           "state": "declined"}]})",
       "$.leases[0].state"},
      {std::string("\x00\xff\xfe", 3), "invalid JSON"},
  };
  for (const auto& [text, where] : cases) {
    BOOST_TEST_CONTEXT(where) {
      write_text(path, text);
      daemon::LeaseFileContents got = daemon::load_lease_file(path);
      BOOST_TEST(got.leases.empty());
      BOOST_REQUIRE(got.warning.has_value());
      BOOST_TEST(got.warning->find(path + ": ") == 0u, *got.warning);
      BOOST_TEST(got.warning->find(where) != std::string::npos, *got.warning);
      BOOST_TEST(got.warning->find("starting with no leases") != std::string::npos, *got.warning);
    }
  }
}

// One daemon life: started on a fresh QEMU socket with `leases`, asked for a lease for
// each MAC in turn over one connection, then stopped with SIGTERM (exit 0 checked).
struct DaemonLife {
  std::vector<std::string> addresses;  // in the order of the MACs
  std::string err;                     // what it wrote to stderr
};

DaemonLife live_once(TempDir& dir, const std::string& leases, const std::string& tag,
                     const std::vector<MacAddr>& macs) {
  const std::string vm = dir.file(tag + ".sock");
  Child d = spawn({"--qemu-listen", vm, "--dhcp-lease-file", leases, "--log-level", "warn", "--dns-mode", "off"},
                  dir, tag);
  BOOST_REQUIRE(wait_for_file(vm));
  DaemonLife life;
  int fd = connect_unix(vm, SOCK_STREAM);
  for (const MacAddr& mac : macs) life.addresses.push_back(lease(fd, mac).to_string());
  ::close(fd);
  ::kill(d.pid, SIGTERM);
  BOOST_TEST(wait_exit(d) == 0);
  life.err = slurp(d.err_path);
  return life;
}

BOOST_AUTO_TEST_CASE(the_daemon_keeps_each_macs_address_across_a_restart) {
  TempDir dir;
  const std::string leases = dir.file("leases.json");
  const DaemonLife first = live_once(dir, leases, "first", {kMacA, kMacB});
  BOOST_TEST(first.addresses == (std::vector<std::string>{"192.168.65.3", "192.168.65.4"}),
             boost::test_tools::per_element());
  BOOST_TEST(first.err.find("lease") == std::string::npos);  // no warning about the file
  daemon::LeaseFileContents saved = daemon::load_lease_file(leases);
  BOOST_TEST(!saved.warning.has_value());
  BOOST_TEST(saved.leases.size() == 2u);

  // B comes back first, then A: each gets its own address again.
  const DaemonLife second = live_once(dir, leases, "second", {kMacB, kMacA});
  BOOST_TEST(second.addresses == (std::vector<std::string>{"192.168.65.4", "192.168.65.3"}),
             boost::test_tools::per_element());

  // A corrupt file: one warning line, and the daemon serves from an empty table.
  write_text(leases, "{ not json");
  const DaemonLife third = live_once(dir, leases, "third", {kMacB});
  BOOST_TEST(third.addresses == (std::vector<std::string>{"192.168.65.3"}), boost::test_tools::per_element());
  BOOST_TEST(third.err.find(leases + ": $: invalid JSON") != std::string::npos, third.err);
  BOOST_TEST(daemon::load_lease_file(leases).leases.size() == 1u);  // rewritten, valid again
}
