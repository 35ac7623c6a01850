#define BOOST_TEST_MODULE tap
#include <boost/test/unit_test.hpp>

// The tap transport in a fresh network namespace made by the test (`ip netns add
// tw-test-<pid>`, removed at the end by that name). Needs root and /dev/net/tun:
// without them Boost.Test skips every case and ctest reports the test as not run
// (tests/unit/skip.h).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "stack/posix/tap.h"
#include "tests/unit/posix/posix_testutil.h"
#include "tests/unit/posix/transport_testutil.h"
#include "tests/unit/skip.h"

using namespace tapwire;
using namespace tapwire::posix;
using namespace tapwire::posix::testing;

namespace {

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

std::string capture(const std::string& cmd) {
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  return out;
}

std::string own_netns() {
  char buf[128] = {};
  const ssize_t n = ::readlink("/proc/self/ns/net", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

// A namespace this test created; deleted by name on scope exit.
struct Netns {
  std::string name;
  explicit Netns(std::string n, bool create = true) : name(std::move(n)) {
    if (create) BOOST_REQUIRE(sh("ip netns add " + name) == 0);
  }
  ~Netns() { sh("ip netns del " + name); }
  std::string path() const { return "/run/netns/" + name; }
  int exec(const std::string& cmd) const { return sh("ip netns exec " + name + " " + cmd); }
};

// Sends one UDP datagram from inside the namespace (in a child), which makes the
// namespace's kernel ARP for `to` on the tap.
void send_udp_inside(const Netns& ns, const char* to) {
  const pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    const int nsfd = ::open(ns.path().c_str(), O_RDONLY);
    if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) != 0) ::_exit(1);
    const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(9);
    ::inet_pton(AF_INET, to, &sa.sin_addr);
    ::sendto(s, "x", 1, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_TEST(WEXITSTATUS(status) == 0);
}

}  // namespace

BOOST_AUTO_TEST_CASE(tap_in_a_namespace_reads_and_writes_frames, *tapwire::testing::needs_root_and_tun()) {
  Netns ns("tw-test-" + std::to_string(::getpid()));
  const std::string before = own_netns();
  EventLoop loop;
  Recorder rec;
  TapConfig config;
  config.ifname = "twtap0";
  config.netns_path = ns.path();
  auto t = TapTransport::open(loop, config);
  BOOST_REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().reason));
  auto& link = **t;
  link.set_receiver(&rec);
  link.set_link_event_sink(&rec);
  // Opened inside the namespace; we are back in our own.
  BOOST_TEST(own_netns() == before);
  BOOST_TEST(ns.exec("ip link show twtap0") == 0);
  BOOST_TEST(sh("ip link show twtap0") != 0);

  BOOST_REQUIRE(ns.exec("ip link set lo up") == 0);
  BOOST_REQUIRE(ns.exec("ip link set twtap0 up") == 0);
  BOOST_REQUIRE(ns.exec("ip addr add 10.199.0.2/24 dev twtap0") == 0);
  send_udp_inside(ns, "10.199.0.1");
  // The namespace ARPs for 10.199.0.1: an ARP frame arrives on our side.
  BOOST_REQUIRE(run_until(loop, [&] {
    for (const auto& f : rec.frames)
      if (f.size() >= 42 && f[12] == 0x08 && f[13] == 0x06) return true;
    return false;
  }));

  // Write path: a broadcast frame we send is received by the namespace's interface.
  auto rx_packets = [&] {
    return std::strtoull(
        capture("ip netns exec " + ns.name + " cat /sys/class/net/twtap0/statistics/rx_packets").c_str(), nullptr,
        10);
  };
  const auto rx_before = rx_packets();
  std::vector<std::uint8_t> frame(60, 0);
  for (int i = 0; i < 6; ++i) frame[static_cast<std::size_t>(i)] = 0xff;
  frame[6] = 0x02;
  frame[12] = 0x88;  // local experimental ethertype 0x88b5
  frame[13] = 0xb5;
  for (int i = 0; i < 3; ++i) BOOST_REQUIRE(send_frame(link, frame));
  link.flush();
  BOOST_TEST(rx_packets() >= rx_before + 3);
  BOOST_TEST(link.counters().frames_out == 3u);
}

BOOST_AUTO_TEST_CASE(namespace_created_late_is_waited_for, *tapwire::testing::needs_root_and_tun()) {
  Netns ns("tw-test-" + std::to_string(::getpid()) + "-late", false);
  const pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::usleep(200'000);
    ::execlp("ip", "ip", "netns", "add", ns.name.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  TapConfig config;
  config.ifname = "twtap1";
  config.netns_path = ns.path();
  const Instant start = MonotonicClock::now();
  auto fd = open_tap_device(config);
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_REQUIRE_MESSAGE(fd.ok(), (fd.ok() ? "" : fd.error().reason));
  BOOST_TEST((MonotonicClock::now() - start).ns() >= Duration::millis(150).ns());
  BOOST_TEST(ns.exec("ip link show twtap1") == 0);
}

BOOST_AUTO_TEST_CASE(missing_namespace_gives_up_after_the_timeout, *tapwire::testing::needs_root_and_tun()) {
  TapConfig config;
  config.ifname = "twtap2";
  config.netns_path = "/run/netns/tw-test-" + std::to_string(::getpid()) + "-never";
  config.open_timeout = Duration::millis(100);
  const Instant start = MonotonicClock::now();
  auto fd = open_tap_device(config);
  BOOST_REQUIRE(!fd.ok());
  BOOST_TEST(fd.error().code == Errc::not_found);
  const Duration took = MonotonicClock::now() - start;
  BOOST_TEST(took.ns() >= Duration::millis(100).ns());
  BOOST_TEST(took.ns() < Duration::millis(1000).ns());
  config.netns_path.clear();
  config.ifname = std::string(40, 'x');
  BOOST_TEST(open_tap_device(config).error().code == Errc::invalid_argument);
}
