#define BOOST_TEST_MODULE posix_host_net_netns
#include <boost/test/unit_test.hpp>

// PosixHostNet's ICMP echo through an unprivileged ping socket, in a private network
// namespace. Needs root: without it Boost.Test skips the case and ctest reports the
// test as not run (tests/unit/skip.h).

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "stack/posix/posix_host_net.h"
#include "tests/unit/posix/posix_testutil.h"
#include "tests/unit/skip.h"

using namespace tapwire;
using namespace tapwire::posix;
using namespace tapwire::posix::testing;
using host::HostEventKind;

namespace {
const wire::Ipv4Addr kLo = wire::Ipv4Addr::loopback();
}  // namespace

// In a fresh network namespace (root only) ping sockets can be allowed without touching
// the host's sysctl: run the echo there in a child process.
BOOST_AUTO_TEST_CASE(icmp_echo_in_private_netns, *tapwire::testing::needs_root()) {
  const pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::unshare(CLONE_NEWNET) != 0) ::_exit(10);
    {
      std::ofstream f("/proc/sys/net/ipv4/ping_group_range");
      f << "0 2147483647\n";
    }
    const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "lo");
    ::ioctl(s, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) ::_exit(11);
    ::close(s);
    EventLoop loop;
    PosixHostNet net(loop);
    Sink sink;
    net.set_event_sink(&sink);
    auto h = net.icmp_open();
    if (!h.ok()) ::_exit(12);
    const std::uint8_t payload[] = {9, 8, 7};
    if (!net.icmp_echo_send(*h, kLo, 0xbeef, 42, payload).ok()) ::_exit(13);
    if (!run_until(loop, [&] { return sink.count(*h, HostEventKind::readable) > 0; })) ::_exit(14);
    std::uint8_t out[8];
    wire::Ipv4Addr from;
    std::uint16_t id = 0, seq = 0;
    auto r = net.icmp_echo_recv(*h, out, &from, &id, &seq);
    if (!r.ok() || *r != 3 || id != 0xbeef || seq != 42 || out[0] != 9) ::_exit(15);
    ::_exit(0);
  }
  int status = 0;
  BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
}
