#define BOOST_TEST_MODULE vmnet
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "stack/posix/vmnet.h"
#include "tests/unit/posix/posix_testutil.h"
#include "tests/unit/posix/transport_testutil.h"

using namespace tapwire;
using namespace tapwire::posix;
using namespace tapwire::posix::testing;

namespace {

const char* kUuid1 = "d6f1a3b2-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
const char* kUuid2 = "0aa0b1c2-d3e4-4f50-9162-738495a6b7c8";

std::vector<std::uint8_t> client_init(const char* magic = "VMN3T") {
  std::vector<std::uint8_t> m(vmnet::kInitSize, 0);
  std::memcpy(m.data(), magic, 5);
  store_le32(m.data() + 5, 22);
  std::memcpy(m.data() + 9, "0123456789012345678901234567890123456789", 40);
  return m;
}

std::vector<std::uint8_t> command(std::uint8_t type, const char* uuid, std::uint32_t ip = 0) {
  std::vector<std::uint8_t> m(vmnet::kCommandSize, 0);
  m[0] = type;
  std::memcpy(m.data() + 1, uuid, vmnet::kUuidSize);
  store_le32(m.data() + 37, ip);
  return m;
}

// A fake hyperkit on a unix socket connected to the transport's path.
struct FakeHyperkit {
  int fd = -1;
  explicit FakeHyperkit(const std::string& path) {
    fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  }
  ~FakeHyperkit() { ::close(fd); }
  void send(const std::vector<std::uint8_t>& m) { BOOST_REQUIRE(write_all(fd, m.data(), m.size())); }
};

struct Env {
  EventLoop loop;
  Recorder rec;
  std::string path = temp_path("vmnet.sock");
  std::unique_ptr<VmnetTransport> link;
  Env() {
    VmnetConfig config;
    config.mtu = 1500;
    auto t = VmnetTransport::listen(loop, path, config);
    BOOST_REQUIRE(t.ok());
    link = std::move(*t);
    link->set_receiver(&rec);
    link->set_link_event_sink(&rec);
  }

  // Drives the loop while the fake client waits for exactly `n` bytes.
  std::vector<std::uint8_t> expect(FakeHyperkit& vm, std::size_t n) {
    std::vector<std::uint8_t> got;
    std::uint8_t buf[512];
    run_until(loop, [&] {
      const ssize_t r = ::recv(vm.fd, buf, std::min(sizeof buf, n - got.size()), MSG_DONTWAIT);
      if (r > 0) got.insert(got.end(), buf, buf + r);
      return got.size() == n;
    });
    return got;
  }

  // Full handshake; returns the 258-byte response.
  std::vector<std::uint8_t> handshake(FakeHyperkit& vm, const char* uuid, std::uint8_t type = 1,
                                      std::uint32_t ip = 0) {
    vm.send(client_init());
    auto init = expect(vm, vmnet::kInitSize);
    BOOST_REQUIRE(init.size() == vmnet::kInitSize);
    BOOST_TEST(std::memcmp(init.data(), "VMN3T", 5) == 0);
    BOOST_TEST(load_le32(init.data() + 5) == 22u);
    run_for(loop, Duration::millis(5));
    BOOST_TEST(nothing_to_read(vm.fd));  // exactly 49 bytes, nothing more
    vm.send(command(type, uuid, ip));
    auto resp = expect(vm, vmnet::kResponseSize);
    BOOST_REQUIRE(resp.size() == vmnet::kResponseSize);
    run_for(loop, Duration::millis(5));
    BOOST_TEST(nothing_to_read(vm.fd));
    return resp;
  }
};

wire::MacAddr mac_of(const std::vector<std::uint8_t>& resp) { return wire::MacAddr::from_bytes(resp.data() + 5); }

}  // namespace

BOOST_AUTO_TEST_CASE(handshake_sizes_and_vif_response) {
  Env env;
  FakeHyperkit vm(env.path);
  auto resp = env.handshake(vm, kUuid1);
  BOOST_TEST(resp[0] == 1);                      // Vif
  BOOST_TEST(load_le16(resp.data() + 1) == 1500);  // mtu
  BOOST_TEST(load_le16(resp.data() + 3) == 1550);  // max_packet_size
  const wire::MacAddr mac = mac_of(resp);
  BOOST_TEST(mac == vmnet::mac_for_uuid(kUuid1));
  BOOST_TEST((mac.bytes[0] & 0x02) != 0);  // locally administered
  BOOST_TEST(!mac.is_multicast());
  BOOST_REQUIRE(run_until(env.loop, [&] { return env.rec.ups == 1; }));
  BOOST_REQUIRE(env.link->vif() != nullptr);
  BOOST_TEST(env.link->vif()->uuid == kUuid1);
  BOOST_TEST(env.link->vif()->client_version == 22u);
  BOOST_TEST(!env.link->vif()->preferred_ip.has_value());
}

BOOST_AUTO_TEST_CASE(mac_is_stable_per_uuid_across_connections) {
  Env env;
  wire::MacAddr first, second, other;
  {
    FakeHyperkit vm(env.path);
    first = mac_of(env.handshake(vm, kUuid1));
  }
  BOOST_REQUIRE(run_until(env.loop, [&] { return env.rec.downs == 1; }));
  {
    FakeHyperkit vm(env.path);
    second = mac_of(env.handshake(vm, kUuid1, 8, wire::Ipv4Addr::from_octets(192, 168, 65, 7).value));
    BOOST_REQUIRE(env.link->vif() != nullptr);
    BOOST_REQUIRE(env.link->vif()->preferred_ip.has_value());
    BOOST_TEST(*env.link->vif()->preferred_ip == wire::Ipv4Addr::from_octets(192, 168, 65, 7));
  }
  BOOST_REQUIRE(run_until(env.loop, [&] { return env.rec.downs == 2; }));
  {
    FakeHyperkit vm(env.path);
    other = mac_of(env.handshake(vm, kUuid2));
  }
  BOOST_TEST(first == second);
  BOOST_TEST(!(first == other));
}

BOOST_AUTO_TEST_CASE(frames_both_ways_with_le16_lengths) {
  Env env;
  FakeHyperkit vm(env.path);
  env.handshake(vm, kUuid1);
  const auto f = test_frame(1514, 3);
  std::vector<std::uint8_t> msg(2);
  store_le16(msg.data(), static_cast<std::uint16_t>(f.size()));
  msg.insert(msg.end(), f.begin(), f.end());
  // An oversize frame (> mtu + 14) is dropped, the stream stays in sync.
  const auto big = test_frame(1515, 4);
  std::vector<std::uint8_t> big_msg(2);
  store_le16(big_msg.data(), static_cast<std::uint16_t>(big.size()));
  big_msg.insert(big_msg.end(), big.begin(), big.end());
  vm.send(big_msg);
  vm.send(msg);
  BOOST_REQUIRE(run_until(env.loop, [&] { return env.rec.frames.size() == 1u; }));
  BOOST_TEST(env.rec.frames[0] == f);
  BOOST_TEST(env.link->counters().dropped_in == 1u);
  BOOST_TEST(env.rec.downs == 0);

  const auto out = test_frame(60, 5);
  BOOST_REQUIRE(send_frame(*env.link, out));
  env.link->flush();
  std::vector<std::uint8_t> got(2 + out.size());
  BOOST_REQUIRE(read_exact(vm.fd, got.data(), got.size()));
  BOOST_TEST(load_le16(got.data()) == out.size());
  BOOST_TEST(std::vector<std::uint8_t>(got.begin() + 2, got.end()) == out);
}

BOOST_AUTO_TEST_CASE(bad_magic_and_unknown_commands_close) {
  Env env;
  {
    FakeHyperkit vm(env.path);
    vm.send(client_init("XXXXX"));
    BOOST_REQUIRE(run_until(env.loop, [&] { return env.link->counters().protocol_errors == 1u; }));
    std::uint8_t b;
    BOOST_TEST(::recv(vm.fd, &b, 1, 0) == 0);  // closed without an answer
    BOOST_TEST(std::string(env.link->last_error()).find("magic") != std::string::npos);
  }
  {
    FakeHyperkit vm(env.path);
    vm.send(client_init());
    BOOST_TEST(env.expect(vm, vmnet::kInitSize).size() == vmnet::kInitSize);
    vm.send(command(6, kUuid1));  // Bind_ipv4: not supported
    auto resp = env.expect(vm, vmnet::kResponseSize);
    BOOST_REQUIRE(resp.size() == vmnet::kResponseSize);
    BOOST_TEST(resp[0] == 2);  // Disconnect
    BOOST_TEST(std::string(reinterpret_cast<char*>(resp.data() + 2), resp[1]) == "unsupported command");
    BOOST_REQUIRE(run_until(env.loop, [&] { return env.link->counters().protocol_errors == 2u; }));
  }
  BOOST_TEST(env.rec.ups == 0);
  BOOST_TEST(env.link->vif() == nullptr);
  // Frames while no VM is attached are dropped and counted.
  BOOST_TEST(send_frame(*env.link, test_frame(60, 1)));
  BOOST_TEST(env.link->counters().dropped_no_peer == 1u);
}

BOOST_AUTO_TEST_CASE(message_encoders) {
  std::uint8_t init[vmnet::kInitSize];
  vmnet::write_init(init, "abc");
  BOOST_TEST(std::memcmp(init, "VMN3T", 5) == 0);
  BOOST_TEST(load_le32(init + 5) == 22u);
  BOOST_TEST(init[9] == 'a');
  BOOST_TEST(init[12] == 0);
  std::uint8_t resp[vmnet::kResponseSize];
  vmnet::write_vif_response(resp, 9000, vmnet::mac_for_uuid(kUuid2));
  BOOST_TEST(resp[0] == 1);
  BOOST_TEST(load_le16(resp + 1) == 9000);
  BOOST_TEST(load_le16(resp + 3) == 9050);
  BOOST_TEST(resp[11] == 0);
}
