#define BOOST_TEST_MODULE vfkit
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "stack/posix/vfkit.h"
#include "tests/unit/posix/posix_testutil.h"
#include "tests/unit/posix/transport_testutil.h"

using namespace tapwire;
using namespace tapwire::posix;
using namespace tapwire::posix::testing;

namespace {

sockaddr_un unix_addr(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
  return sa;
}

// A fake vfkit: its own bound datagram socket, connected to the daemon's path.
struct FakeVfkit {
  int fd = -1;
  std::string path;
  FakeVfkit(const std::string& own, const std::string& daemon) : path(own) {
    fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
    ::unlink(own.c_str());
    sockaddr_un me = unix_addr(own), them = unix_addr(daemon);
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof me) == 0);
    BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&them), sizeof them) == 0);
  }
  ~FakeVfkit() {
    if (fd >= 0) ::close(fd);
    ::unlink(path.c_str());
  }
  void send(const std::vector<std::uint8_t>& d) { BOOST_REQUIRE(::send(fd, d.data(), d.size(), 0) == ssize_t(d.size())); }
};

struct Env {
  EventLoop loop;
  Recorder rec;
  std::string path = temp_path("vfkit.sock");
  std::unique_ptr<VfkitTransport> link;
  explicit Env(VfkitConfig config = {}) {
    auto t = VfkitTransport::listen(loop, path, config);
    BOOST_REQUIRE(t.ok());
    link = std::move(*t);
    link->set_receiver(&rec);
    link->set_link_event_sink(&rec);
  }
};

const std::vector<std::uint8_t> kGreeting = {'V', 'F', 'K', 'T'};

}  // namespace

BOOST_AUTO_TEST_CASE(greeting_then_frames_both_ways) {
  Env env;
  FakeVfkit vm(temp_path("vfkit-client.sock"), env.path);
  vm.send(test_frame(60, 1));  // before the greeting: nobody to answer, dropped
  run_for(env.loop, Duration::millis(10));
  BOOST_TEST(env.rec.frames.empty());
  BOOST_TEST(!env.link->attached());
  BOOST_TEST(env.link->counters().dropped_in == 1u);

  vm.send(kGreeting);
  BOOST_REQUIRE(run_until(env.loop, [&] { return env.rec.ups == 1; }));
  BOOST_TEST(env.link->attached());
  std::vector<std::vector<std::uint8_t>> sent;
  for (int i = 0; i < 100; ++i) {
    sent.push_back(test_frame(60 + static_cast<std::size_t>(i) * 10, static_cast<std::uint8_t>(i)));
    vm.send(sent.back());
  }
  BOOST_REQUIRE(run_until(env.loop, [&] { return env.rec.frames.size() == sent.size(); }));
  BOOST_TEST(env.rec.frames == sent);
  BOOST_TEST(env.rec.frames.size() == 100u);

  // Frames to the VM: one datagram each, sent to the greeting's source.
  const auto a = test_frame(1514, 7), b = test_frame(42, 8);
  BOOST_REQUIRE(send_frame(*env.link, a));
  BOOST_REQUIRE(send_frame(*env.link, b));
  env.link->flush();
  std::vector<std::uint8_t> buf(70000);
  ssize_t n = ::recv(vm.fd, buf.data(), buf.size(), 0);
  BOOST_TEST(std::vector<std::uint8_t>(buf.begin(), buf.begin() + n) == a);
  n = ::recv(vm.fd, buf.data(), buf.size(), 0);
  BOOST_TEST(std::vector<std::uint8_t>(buf.begin(), buf.begin() + n) == b);
  BOOST_TEST(env.link->counters().frames_out == 2u);
}

BOOST_AUTO_TEST_CASE(runt_frames_are_dropped) {
  Env env;
  FakeVfkit vm(temp_path("vfkit-client2.sock"), env.path);
  vm.send(kGreeting);
  vm.send(std::vector<std::uint8_t>(5, 1));
  vm.send(test_frame(60, 2));
  BOOST_REQUIRE(run_until(env.loop, [&] { return env.rec.frames.size() == 1u; }));
  BOOST_TEST(env.link->counters().dropped_in == 1u);
}

BOOST_AUTO_TEST_CASE(backpressure_and_peer_loss) {
  VfkitConfig config;
  config.out_capacity = 64 * 1024;
  Env env(config);
  auto vm = std::make_unique<FakeVfkit>(temp_path("vfkit-client3.sock"), env.path);
  vm->send(kGreeting);
  BOOST_REQUIRE(run_until(env.loop, [&] { return env.rec.ups == 1; }));
  const auto f = test_frame(1514, 3);
  int queued = 0;
  while (send_frame(*env.link, f)) {
    env.link->flush();
    if (++queued > 100000) break;
  }
  BOOST_REQUIRE(queued < 100000);
  BOOST_TEST(env.link->counters().link_full == 1u);
  // The VM drains its socket: the link says writable.
  std::vector<std::uint8_t> buf(70000);
  int got = 0;
  BOOST_REQUIRE(run_until(env.loop, [&] {
    while (::recv(vm->fd, buf.data(), buf.size(), MSG_DONTWAIT) > 0) ++got;
    return env.rec.writable > 0;
  }));
  while (::recv(vm->fd, buf.data(), buf.size(), MSG_DONTWAIT) > 0) ++got;
  BOOST_TEST(got == queued);
  // vfkit goes away: the next flush notices, the link goes down.
  vm.reset();
  BOOST_TEST(send_frame(*env.link, f));
  env.link->flush();
  BOOST_REQUIRE(run_until(env.loop, [&] { return env.rec.downs == 1; }));
  BOOST_TEST(!env.link->attached());
  // A new vfkit can greet again.
  FakeVfkit again(temp_path("vfkit-client4.sock"), env.path);
  again.send(kGreeting);
  BOOST_REQUIRE(run_until(env.loop, [&] { return env.rec.ups == 2; }));
}
