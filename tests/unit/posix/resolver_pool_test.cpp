#define BOOST_TEST_MODULE resolver_pool
#include <boost/test/unit_test.hpp>

// The host resolver: ResolverPool's res_nquery workers and PosixHostNet::resolve,
// against a tiny DNS server on 127.0.0.1 inside the test. The pool is always given that
// server explicitly (ResolverPool::Options::servers); on top of that the process moves
// into a private network namespace when it can (only loopback exists there), so no
// query of this test can ever leave the machine.

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "stack/posix/posix_host_net.h"
#include "stack/posix/resolver_pool.h"
#include "tests/unit/posix/posix_testutil.h"

using namespace tapwire;
using namespace tapwire::posix;
using namespace tapwire::posix::testing;
using host::Handle;
using host::HostEventKind;
using wire::DnsName;
using wire::DnsRecord;
namespace rcode = wire::dns_rcode;

namespace {

// Best effort: a network namespace of our own with only `lo` up.
struct PrivateNetns {
  PrivateNetns() {
    if (::unshare(CLONE_NEWNET) != 0 && ::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
      BOOST_TEST_MESSAGE("no private network namespace; the pool still only talks to 127.0.0.1");
      return;
    }
    const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "lo");
    ::ioctl(s, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    ::ioctl(s, SIOCSIFFLAGS, &ifr);
    ::close(s);
  }
};
BOOST_TEST_GLOBAL_FIXTURE(PrivateNetns);

DnsName name(const char* text) { return *DnsName::parse_text(text); }
wire::Ipv4Addr ip(std::uint8_t d) { return wire::Ipv4Addr::from_octets(10, 1, 2, d); }

// The answer section www.example.test gets, deliberately not in chain order (a host
// resolver may report records in any order, vpnkit#216): the pool must keep it.
std::vector<DnsRecord> www_answer() {
  return {DnsRecord::a(name("two.example.test"), 60, ip(4)),
          DnsRecord::cname(name("one.example.test"), 60, name("two.example.test")),
          DnsRecord::a(name("two.example.test"), 60, ip(3)),
          DnsRecord::cname(name("www.example.test"), 60, name("one.example.test"))};
}

// A UDP DNS server on 127.0.0.1, served by the test's event loop:
//   www.example.test    NOERROR, www_answer()
//   gone.example.test   NXDOMAIN behind a CNAME to missing.example.test
//   empty.example.test  NOERROR, no answer (NODATA)
//   broken.example.test SERVFAIL
//   anything else       NXDOMAIN
// While `hold` is set, queries are kept unanswered until release().
class TestDnsServer final : public IoHandler {
 public:
  explicit TestDnsServer(EventLoop& loop) : loop_(loop) {
    fd_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    BOOST_REQUIRE(fd_.valid());
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    socklen_t len = sizeof address_;
    BOOST_REQUIRE(::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address_), &len) == 0);
    reg_ = *loop_.add(fd_.get(), Interest{true, false}, this, 0);
  }
  ~TestDnsServer() override { loop_.remove(reg_); }

  sockaddr_in address() const { return address_; }
  int queries(const std::string& qname) const {
    auto it = queries_.find(qname);
    return it == queries_.end() ? 0 : it->second;
  }
  int total_queries() const {
    int n = 0;
    for (const auto& [q, count] : queries_) n += count;
    return n;
  }
  bool hold = false;
  void release() {
    hold = false;
    for (const auto& [query, from] : held_) answer(query, from);
    held_.clear();
  }

  void on_io(Instant, std::uint64_t, std::uint32_t) override {
    for (;;) {
      std::uint8_t buf[1500];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) return;
      auto query = wire::DnsMessage::parse(Bytes(buf, static_cast<std::size_t>(n)));
      if (!query.ok() || query->questions.size() != 1) continue;
      ++queries_[query->questions[0].name.to_lower().to_text()];
      if (hold) held_.emplace_back(*query, from);
      else answer(*query, from);
    }
  }

 private:
  void answer(const wire::DnsMessage& query, const sockaddr_in& to) {
    const std::string q = query.questions[0].name.to_lower().to_text();
    wire::DnsMessage reply = wire::DnsMessage::make_response(query, rcode::NXDOMAIN);
    reply.header.ra = true;
    if (q == "www.example.test") {
      reply.header.rcode = rcode::NOERROR;
      reply.answers = www_answer();
    } else if (q == "gone.example.test") {
      reply.answers = {DnsRecord::cname(name("gone.example.test"), 60, name("missing.example.test"))};
    } else if (q == "empty.example.test") {
      reply.header.rcode = rcode::NOERROR;
    } else if (q == "broken.example.test") {
      reply.header.rcode = rcode::SERVFAIL;
    }
    const std::vector<std::uint8_t> bytes = reply.encode();
    ::sendto(fd_.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }

  EventLoop& loop_;
  UniqueFd fd_;
  Registration reg_;
  sockaddr_in address_{};
  std::map<std::string, int> queries_;
  std::vector<std::pair<wire::DnsMessage, sockaddr_in>> held_;
};

struct Fixture {
  EventLoop loop;
  TestDnsServer server{loop};
  Sink sink;
  std::unique_ptr<PosixHostNet> net;

  explicit Fixture(std::size_t threads = 2, std::size_t max_pending = 256) {
    PosixHostNetConfig config;
    config.resolver.threads = threads;
    config.resolver.max_pending = max_pending;
    config.resolver.servers = {server.address()};
    net = std::make_unique<PosixHostNet>(loop, config);
    net->set_event_sink(&sink);
  }

  bool wait_resolved(Handle h) {
    return run_until(loop, [&] { return sink.count(h, HostEventKind::resolved) > 0; }, Duration::seconds(10));
  }
  host::ResolverAnswer lookup(const char* text, std::uint16_t qtype = wire::dns_type::A) {
    auto h = net->resolve(name(text), qtype);
    BOOST_REQUIRE(h.ok());
    BOOST_REQUIRE(wait_resolved(*h));
    auto answer = net->resolve_result(*h);
    BOOST_REQUIRE(answer.ok());
    (void)net->close(*h);
    return *answer;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(answer_records_come_back_in_wire_order) {
  Fixture f;
  const host::ResolverAnswer a = f.lookup("www.example.test");
  BOOST_TEST(a.rcode == rcode::NOERROR);
  BOOST_TEST((a.records == www_answer()));
  BOOST_TEST(f.server.queries("www.example.test") >= 1);
}

BOOST_AUTO_TEST_CASE(nxdomain_keeps_its_rcode_and_the_cname_before_it) {
  Fixture f;
  const host::ResolverAnswer a = f.lookup("gone.example.test");
  BOOST_TEST(a.rcode == rcode::NXDOMAIN);
  BOOST_REQUIRE(a.records.size() == 1u);
  BOOST_TEST(a.records[0].type == wire::dns_type::CNAME);
  BOOST_TEST(f.lookup("never-heard-of.example.test").rcode == rcode::NXDOMAIN);
}

BOOST_AUTO_TEST_CASE(nodata_is_noerror_without_records_and_servfail_stays_servfail) {
  Fixture f;
  const host::ResolverAnswer empty = f.lookup("empty.example.test", wire::dns_type::AAAA);
  BOOST_TEST(empty.rcode == rcode::NOERROR);
  BOOST_TEST(empty.records.empty());
  const host::ResolverAnswer broken = f.lookup("broken.example.test");
  BOOST_TEST(broken.rcode == rcode::SERVFAIL);
  BOOST_TEST(broken.records.empty());
}

BOOST_AUTO_TEST_CASE(lookup_handles_are_not_sockets) {
  Fixture f;
  f.server.hold = true;
  auto h = f.net->resolve(name("www.example.test"), wire::dns_type::A);
  BOOST_REQUIRE(h.ok());
  BOOST_TEST(f.net->counters().open_handles == 0u);
  BOOST_TEST(f.net->resolve_result(*h).error().code == Errc::would_block);
  // A socket opened meanwhile gets a handle that names no lookup, and the other way round.
  auto udp = f.net->udp_open(host::Endpoint{wire::Ipv4Addr::loopback(), 0});
  BOOST_REQUIRE(udp.ok());
  BOOST_TEST(!(*udp == *h));
  BOOST_TEST(f.net->resolve_result(*udp).error().code == Errc::not_found);
  BOOST_TEST(f.net->local_endpoint(*h).error().code == Errc::not_found);
  std::uint8_t buf[4];
  BOOST_TEST(f.net->recv(*h, buf).error().code == Errc::not_found);
  BOOST_TEST(f.net->counters().open_handles == 1u);
  BOOST_REQUIRE(run_until(f.loop, [&] { return f.server.total_queries() > 0; }, Duration::seconds(5)));
  f.server.release();
  BOOST_REQUIRE(f.wait_resolved(*h));
  BOOST_TEST(f.net->resolve_result(*h).ok());
  (void)f.net->close(*h);
  BOOST_TEST(f.net->resolve_result(*h).error().code == Errc::not_found);
  BOOST_TEST(f.net->lookups_open() == 0u);
  (void)f.net->close(*udp);
}

BOOST_AUTO_TEST_CASE(close_before_the_answer_cancels_the_lookup) {
  Fixture f(/*threads=*/1);
  f.server.hold = true;
  auto running = f.net->resolve(name("www.example.test"), wire::dns_type::A);
  auto queued = f.net->resolve(name("gone.example.test"), wire::dns_type::A);
  BOOST_REQUIRE(running.ok());
  BOOST_REQUIRE(queued.ok());
  // The one worker is waiting for the held answer; the second lookup is still queued.
  BOOST_REQUIRE(run_until(f.loop, [&] { return f.server.total_queries() > 0; }, Duration::seconds(5)));
  (void)f.net->close(*queued);
  (void)f.net->close(*running);
  BOOST_TEST(f.net->resolver_counters().cancelled == 1u);
  f.server.release();
  // The running lookup finishes on its thread; its answer is dropped, no event is raised.
  BOOST_REQUIRE(run_until(f.loop, [&] { return f.net->lookup_counters().discarded == 1u; }, Duration::seconds(10)));
  run_for(f.loop, Duration::millis(50));
  BOOST_TEST(f.sink.events.empty());
  BOOST_TEST(f.server.queries("gone.example.test") == 0);
  BOOST_TEST(f.net->lookups_open() == 0u);
  // The pool still works afterwards.
  BOOST_TEST(f.lookup("www.example.test").rcode == rcode::NOERROR);
}

BOOST_AUTO_TEST_CASE(too_many_pending_lookups_is_a_limit) {
  Fixture f(/*threads=*/1, /*max_pending=*/3);
  f.server.hold = true;
  std::vector<Handle> handles;
  for (int i = 0; i < 3; ++i) {
    auto h = f.net->resolve(name("www.example.test"), wire::dns_type::A);
    BOOST_REQUIRE(h.ok());
    handles.push_back(*h);
  }
  auto over = f.net->resolve(name("www.example.test"), wire::dns_type::A);
  BOOST_REQUIRE(!over.ok());
  BOOST_TEST(over.error().code == Errc::limit);
  BOOST_TEST(f.net->lookup_counters().limit_hits == 1u);
  BOOST_REQUIRE(run_until(f.loop, [&] { return f.server.total_queries() > 0; }, Duration::seconds(5)));
  f.server.release();
  for (Handle h : handles) {
    BOOST_REQUIRE(f.wait_resolved(h));
    BOOST_TEST(f.net->resolve_result(h)->records.size() == www_answer().size());
    (void)f.net->close(h);
  }
  // Room again once they finished.
  BOOST_TEST(f.lookup("www.example.test").rcode == rcode::NOERROR);
}

BOOST_AUTO_TEST_CASE(a_changed_resolv_conf_reinitialises_the_workers) {
  const std::string conf = temp_path("resolv.conf");
  std::ofstream(conf) << "nameserver 127.0.0.1\n";
  EventLoop loop;
  TestDnsServer server(loop);
  ResolverPoolOptions options;
  options.threads = 1;
  options.servers = {server.address()};
  options.resolv_conf = conf;
  auto pool = ResolverPool::start(options);
  BOOST_REQUIRE(pool.ok());
  auto ask = [&](std::uint64_t tag) {
    BOOST_REQUIRE((*pool)->submit(tag, name("www.example.test"), wire::dns_type::A).ok());
    std::vector<ResolverCompletion> done;
    BOOST_REQUIRE(run_until(loop, [&] {
      (*pool)->take_completed(done);
      return !done.empty();
    }, Duration::seconds(10)));
    BOOST_TEST(done[0].tag == tag);
    BOOST_TEST(done[0].answer.rcode == rcode::NOERROR);
  };
  ask(1);
  BOOST_TEST((*pool)->counters().reinits == 0u);
  std::ofstream(conf) << "nameserver 127.0.0.1\nnameserver 127.0.0.2\n";  // size changes
  ask(2);
  BOOST_TEST((*pool)->counters().reinits == 1u);
  ask(3);
  BOOST_TEST((*pool)->counters().reinits == 1u);
  ::unlink(conf.c_str());
}

BOOST_AUTO_TEST_CASE(resolver_failures_map_to_rcodes) {
  std::vector<std::uint8_t> zeros(512, 0);
  // No server answered (timeout): SERVFAIL whatever the buffer holds.
  BOOST_TEST(answer_from_reply(-1, zeros, TRY_AGAIN).rcode == rcode::SERVFAIL);
  BOOST_TEST(answer_from_reply(-1, zeros, NO_RECOVERY).rcode == rcode::SERVFAIL);
  // NXDOMAIN / NODATA with an untouched buffer: the rcode from h_errno, no records.
  BOOST_TEST(answer_from_reply(-1, zeros, HOST_NOT_FOUND).rcode == rcode::NXDOMAIN);
  const host::ResolverAnswer nodata = answer_from_reply(-1, zeros, NO_DATA);
  BOOST_TEST(nodata.rcode == rcode::NOERROR);
  BOOST_TEST(nodata.records.empty());
  // A "successful" reply that does not parse is not trusted.
  const std::uint8_t garbage[] = {0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x05};
  BOOST_TEST(answer_from_reply(sizeof garbage, garbage, 0).rcode == rcode::SERVFAIL);
}
