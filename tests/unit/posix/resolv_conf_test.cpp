#define BOOST_TEST_MODULE resolv_conf
#include <boost/test/unit_test.hpp>

// The daemon's default DNS upstreams: parse_resolv_conf (pure) and the watcher that
// notices the file changed. Nothing here sends a packet.

#include <unistd.h>

#include <fstream>
#include <string>

#include "stack/posix/daemon/resolv_conf.h"
#include "tests/unit/posix/posix_testutil.h"

using namespace tapwire;
using namespace tapwire::daemon;

namespace {

std::vector<std::string> servers_of(const ResolvConfServers& r) {
  std::vector<std::string> out;
  for (const proxy::DnsUpstreamGroup& g : r.groups) out.push_back(g.to_string());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(nameserver_lines_become_one_group_each_in_order) {
  const ResolvConfServers r = parse_resolv_conf(
      "# generated\n"
      "search corp.example\n"
      "nameserver 10.0.0.2\n"
      "; nameserver 10.0.0.99\n"
      "nameserver\t127.0.0.53  # the stub\n"
      "options edns0 trust-ad\n"
      "nameserver 10.0.0.1\r\n"
      "nameserver 10.0.0.2\n");
  const std::vector<std::string> expect = {"10.0.0.2", "127.0.0.53", "10.0.0.1", "10.0.0.2"};
  BOOST_TEST(servers_of(r) == expect, boost::test_tools::per_element());
  for (const proxy::DnsUpstreamGroup& g : r.groups) {
    BOOST_REQUIRE(g.servers.size() == 1u);
    BOOST_TEST(g.servers[0].port == 53);
  }
  BOOST_TEST(r.notes.empty());
}

BOOST_AUTO_TEST_CASE(ipv6_and_bad_addresses_are_skipped_with_a_note) {
  const ResolvConfServers r = parse_resolv_conf(
      "nameserver ::1\n"
      "nameserver fe80::1%eth0\n"
      "nameserver 10.0.0.300\n"
      "nameserver\n"
      "nameserver 0.0.0.0\n"
      "nameserver 192.0.2.53");
  const std::vector<std::string> expect = {"192.0.2.53"};
  BOOST_TEST(servers_of(r) == expect, boost::test_tools::per_element());
  BOOST_REQUIRE(r.notes.size() == 5u);
  BOOST_TEST(r.notes[0].find("line 1: IPv6 nameserver ::1 skipped") == 0u, r.notes[0]);
  BOOST_TEST(r.notes[1].find("line 2: IPv6") == 0u, r.notes[1]);
  BOOST_TEST(r.notes[2].find("line 3: ") == 0u, r.notes[2]);
  BOOST_TEST(r.notes[3].find("line 4: nameserver without an address") == 0u, r.notes[3]);
  BOOST_TEST(r.notes[4].find("line 5: ") == 0u, r.notes[4]);
}

BOOST_AUTO_TEST_CASE(nothing_to_forward_to) {
  BOOST_TEST(parse_resolv_conf("").groups.empty());
  BOOST_TEST(parse_resolv_conf("search example\noptions ndots:2\n").groups.empty());
  BOOST_TEST(upstreams_text({}) == "(none)");
  BOOST_TEST(upstreams_text(parse_resolv_conf("nameserver 10.0.0.1\nnameserver 10.0.0.2\n").groups) ==
             "10.0.0.1, 10.0.0.2");
}

BOOST_AUTO_TEST_CASE(the_watcher_notices_edits_and_replacements) {
  const std::string path = posix::testing::temp_path("resolv.conf");
  std::ofstream(path) << "nameserver 10.0.0.1\n";
  ResolvConfWatcher w(path);
  BOOST_TEST(servers_of(w.read()) == std::vector<std::string>{"10.0.0.1"}, boost::test_tools::per_element());
  BOOST_TEST(!w.changed());
  std::ofstream(path) << "nameserver 10.0.0.1\nnameserver 10.0.0.2\n";  // edited in place
  BOOST_TEST(w.changed());
  BOOST_TEST(w.read().groups.size() == 2u);
  BOOST_TEST(!w.changed());
  // Replaced by rename (how resolvconf and NetworkManager write it): a new inode.
  const std::string fresh = path + ".new";
  std::ofstream(fresh) << "nameserver 10.0.0.3\nnameserver 10.0.0.4\n";
  BOOST_REQUIRE(::rename(fresh.c_str(), path.c_str()) == 0);
  BOOST_TEST(w.changed());
  BOOST_TEST(servers_of(w.read()) == (std::vector<std::string>{"10.0.0.3", "10.0.0.4"}),
             boost::test_tools::per_element());
  // Removed: a change, and no servers (with a note why).
  ::unlink(path.c_str());
  BOOST_TEST(w.changed());
  const ResolvConfServers gone = w.read();
  BOOST_TEST(gone.groups.empty());
  BOOST_REQUIRE(gone.notes.size() == 1u);
  BOOST_TEST(gone.notes[0].find("cannot read") == 0u);
}
