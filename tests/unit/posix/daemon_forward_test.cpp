#define BOOST_TEST_MODULE daemon_forward
#include <boost/test/unit_test.hpp>

// The daemon's port forwards (stack/posix/daemon/forward_control.h), run as a child
// process with no VM attached (--qemu-listen on a temp path; no root needed): the
// control socket's expose / unexpose / forwards, their errors, `tapwire ctl`, the
// --forward flags and config key at start-up, and the connection limit that follows
// RLIMIT_NOFILE. Every daemon here has DNS off and outbound limited to 127.0.0.0/8;
// every socket is on 127.0.0.1.

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/unit/posix/daemon_testutil.h"
#include "tests/unit/posix/posix_testutil.h"

using namespace tapwire::daemon_test;
using tapwire::posix::testing::bound_port;
using tapwire::posix::testing::loopback_sockaddr;
using nlohmann::json;

namespace {

// A socket of ours bound on 127.0.0.1 (a TCP one listening): the port is taken.
struct Bound {
  int fd = -1;
  std::uint16_t port = 0;
  explicit Bound(int type) : fd(::socket(AF_INET, type, 0)) {
    BOOST_REQUIRE(fd >= 0);
    sockaddr_in a = loopback_sockaddr(0);
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    if (type == SOCK_STREAM) BOOST_REQUIRE(::listen(fd, 4) == 0);
    port = bound_port(fd);
    BOOST_REQUIRE(port != 0);
  }
  ~Bound() { ::close(fd); }
  Bound(const Bound&) = delete;
  Bound& operator=(const Bound&) = delete;
};

// A TCP connect to 127.0.0.1:port: 0 when it connected, else the errno (bounded: 3 s).
// The socket stays open in `*kept` when given.
int connect_result(std::uint16_t port, int* kept = nullptr) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in a = loopback_sockaddr(port);
  int err = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      err = ::poll(&p, 1, 3000) == 1 ? 0 : ETIMEDOUT;
      socklen_t len = sizeof err;
      if (err == 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
  }
  if (kept != nullptr && err == 0) *kept = fd;
  else ::close(fd);
  return err;
}

// Whether a UDP socket of ours can bind 127.0.0.1:port.
bool udp_port_free(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a = loopback_sockaddr(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A daemon with a control socket, DNS off and outbound to 127.0.0.0/8 only.
struct ForwardDaemon {
  TempDir dir;
  std::string vm = dir.file("vm.sock");
  std::string control = dir.file("control.sock");
  Child child;

  explicit ForwardDaemon(const std::vector<std::string>& extra = {}, std::optional<rlim_t> nofile = std::nullopt,
                         const std::string& log_level = "warn") {
    std::vector<std::string> args = {"--qemu-listen", vm,          "--control",   control,  "--dns-mode", "off",
                                     "--allow-outbound", "127.0.0.0/8", "--log-level", log_level};
    args.insert(args.end(), extra.begin(), extra.end());
    child = spawn(args, dir, "daemon", nofile);
  }
  bool ready() const { return wait_for_file(control); }
  json request(const json& req) {
    ControlClient client(control);
    return client.request(req);
  }
  json forwards() { return request({{"cmd", "forwards"}})["forwards"]; }
  Run ctl(const std::vector<std::string>& words) {
    std::vector<std::string> a = {"ctl", "--control", control};
    a.insert(a.end(), words.begin(), words.end());
    return run(a);
  }
  // SIGTERM; the exit code.
  int stop() {
    ::kill(child.pid, SIGTERM);
    return wait_exit(child);
  }
  std::string log() const { return slurp(child.err_path); }
};

json expose(ForwardDaemon& d, const std::string& spec) { return d.request({{"cmd", "expose"}, {"spec", spec}}); }
json unexpose(ForwardDaemon& d, const std::string& spec) { return d.request({{"cmd", "unexpose"}, {"spec", spec}}); }

// Polls `forwards` until `done(list)` (bounded: 5 s).
template <class Done>
bool wait_forwards(ForwardDaemon& d, Done done) {
  for (int waited = 0; waited < 5000; waited += 20) {
    if (done(d.forwards())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::size_t count_lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

BOOST_AUTO_TEST_CASE(expose_unexpose_and_forwards_round_trip) {
  ForwardDaemon d;
  BOOST_REQUIRE(d.ready());
  BOOST_TEST(d.forwards().empty());

  // Port 0: the host picks; the answer says which, and the port is really bound.
  json tcp = expose(d, "tcp:127.0.0.1:0:192.168.65.3:80");
  BOOST_TEST_INFO(tcp.dump());
  BOOST_REQUIRE(tcp.contains("forward"));
  const std::uint16_t tcp_port = tcp["forward"]["host_port"];
  BOOST_TEST(tcp_port != 0);
  BOOST_TEST(tcp["forward"]["spec"] == "tcp:127.0.0.1:" + std::to_string(tcp_port) + ":192.168.65.3:80");
  BOOST_TEST(tcp["forward"]["requested"] == "tcp:127.0.0.1:0:192.168.65.3:80");
  BOOST_TEST(tcp["forward"]["guest"] == "192.168.65.3:80");
  json udp = expose(d, "udp:127.0.0.1:0:192.168.65.3:53");
  BOOST_REQUIRE(udp.contains("forward"));
  const std::uint16_t udp_port = udp["forward"]["host_port"];
  BOOST_TEST(udp_port != 0);
  BOOST_TEST(!udp_port_free(udp_port));

  // A connection to the forward is accepted and becomes a flow (its guest side waits:
  // no VM is attached); the listing and the connection limit count it.
  int conn = -1;
  BOOST_REQUIRE(connect_result(tcp_port, &conn) == 0);
  BOOST_TEST(wait_forwards(d, [](const json& list) { return list.size() == 2 && list[0]["active"] == 1; }));
  json listed = d.forwards();
  BOOST_TEST(listed[0]["accepted"] == 1);
  BOOST_TEST(listed[0]["protocol"] == "tcp");
  BOOST_TEST(listed[1]["protocol"] == "udp");
  BOOST_TEST(listed[1]["spec"] == "udp:127.0.0.1:" + std::to_string(udp_port) + ":192.168.65.3:53");
  json diag = d.request({{"cmd", "diagnostics"}});
  BOOST_TEST(diag["forwards"] == listed);
  BOOST_TEST(diag["connection_limit"]["in_use"] == 1);

  // Unexpose by the spec as asked (port 0) or as bound; the listener is gone at once.
  BOOST_TEST(unexpose(d, "tcp:127.0.0.1:0:192.168.65.3:80")["removed"] == "tcp:127.0.0.1:0:192.168.65.3:80");
  BOOST_TEST(connect_result(tcp_port) == ECONNREFUSED);
  BOOST_TEST(unexpose(d, udp["forward"]["spec"])["removed"] == udp["forward"]["spec"]);
  BOOST_TEST(udp_port_free(udp_port));
  BOOST_TEST(d.forwards().empty());
  json again = unexpose(d, "tcp:127.0.0.1:0:192.168.65.3:80");
  BOOST_TEST(again["kind"] == "not_found");
  BOOST_TEST(again["error"].get<std::string>().find("no such forward") != std::string::npos);
  ::close(conn);

  // The same through `tapwire ctl`.
  Run exposed = d.ctl({"expose", "tcp:127.0.0.1:0:192.168.65.3:8080"});
  BOOST_TEST_INFO(exposed.err);
  BOOST_REQUIRE(exposed.code == 0);
  const std::string bound = json::parse(exposed.out)["forward"]["spec"];
  Run listing = d.ctl({"forwards"});
  BOOST_TEST(listing.code == 0);
  BOOST_TEST(json::parse(listing.out)["forwards"][0]["spec"] == bound);
  Run removed = d.ctl({"unexpose", bound});
  BOOST_TEST(removed.code == 0);
  BOOST_TEST(json::parse(removed.out)["removed"] == bound);
  BOOST_TEST(d.stop() == 0);
}

BOOST_AUTO_TEST_CASE(expose_errors_carry_their_kind_and_bind_nothing) {
  ForwardDaemon d;
  BOOST_REQUIRE(d.ready());
  Bound taken(SOCK_STREAM);
  json first = expose(d, "tcp:127.0.0.1:0:192.168.65.3:80");
  BOOST_REQUIRE(first.contains("forward"));
  const std::string first_port = std::to_string(first["forward"]["host_port"].get<int>());

  struct Case {
    json request;
    std::string kind;
    std::string says;
  };
  const std::string in_use = "tcp:127.0.0.1:" + std::to_string(taken.port) + ":192.168.65.3:80";
  const Case cases[] = {
      {{{"cmd", "expose"}, {"spec", in_use}}, "address_in_use", in_use + ": address in use"},
      {{{"cmd", "expose"}, {"spec", "tcp:127.0.0.1:0:10.0.0.3:80"}}, "guest_outside_subnet",
       "guest address 10.0.0.3 is not a VM address of subnet 192.168.65.0/24"},
      {{{"cmd", "expose"}, {"spec", "tcp:127.0.0.1:0:192.168.65.1:80"}}, "guest_outside_subnet",
       "guest address 192.168.65.1"},
      {{{"cmd", "expose"}, {"spec", "tcp:127.0.0.1:" + first_port + ":192.168.65.4:81"}}, "duplicate",
       "duplicate: forward tcp:127.0.0.1:" + first_port + ":192.168.65.3:80 already binds"},
      {{{"cmd", "expose"}, {"spec", "tcp:224.0.0.1:8080:192.168.65.3:80"}}, "address_not_allowed",
       "host address 224.0.0.1 cannot be bound"},
      {{{"cmd", "expose"}, {"spec", "udp:192.168.65.9:53:192.168.65.3:53"}}, "address_not_allowed",
       "inside the VM's subnet"},
      {{{"cmd", "expose"}, {"spec", "tcp:127.0.0.1:80"}}, "invalid", "\"tcp:127.0.0.1:80\" is not a forward"},
      {{{"cmd", "expose"}, {"spec", "sctp:127.0.0.1:0:192.168.65.3:80"}}, "invalid", "is not a forward"},
      {{{"cmd", "expose"}}, "invalid", "expose needs \"spec\""},
      {{{"cmd", "unexpose"}, {"spec", 42}}, "invalid", "unexpose needs \"spec\""},
  };
  for (const Case& c : cases) {
    json answer = d.request(c.request);
    BOOST_TEST_INFO(c.request.dump() << " -> " << answer.dump());
    BOOST_TEST(answer["kind"] == c.kind);
    BOOST_TEST(answer["error"].is_string());
    BOOST_TEST(answer.value("error", "").find(c.says) != std::string::npos);
  }
  // None of them left a forward or a socket behind.
  json diag = d.request({{"cmd", "diagnostics"}});
  BOOST_TEST(diag["forwards"].size() == 1u);
  BOOST_TEST(diag["host_sockets"].size() == 1u);
  BOOST_TEST(diag["leaks"].empty());

  // `tapwire ctl`: the daemon's error as JSON on stdout and one line on stderr, exit 1;
  // a SPEC that is not a forward never reaches the daemon (exit 2).
  Run refused = d.ctl({"expose", in_use});
  BOOST_TEST(refused.code == 1);
  BOOST_TEST(json::parse(refused.out)["kind"] == "address_in_use");
  BOOST_TEST(count_lines(refused.err) == 1u);
  BOOST_TEST(refused.err.find("tapwire ctl: " + in_use + ": address in use") == 0u, refused.err);
  BOOST_TEST(refused.err.find("[address_in_use]") != std::string::npos);
  for (const std::vector<std::string>& words : {std::vector<std::string>{"expose", "tcp:8080"}, {"expose"},
                                                {"unexpose", "a", "b"}, {"forwards", "x"}, {"frobnicate", "x"}}) {
    Run bad = d.ctl(words);
    BOOST_TEST_INFO(words.front() << ": " << bad.err);
    BOOST_TEST(bad.code == 2);
    BOOST_TEST(count_lines(bad.err) == 1u);
    BOOST_TEST(bad.err.find("see tapwire ctl --help") != std::string::npos);
  }
  BOOST_TEST(d.ctl({"expose", "tcp:8080"}).err.find("is not a forward") != std::string::npos);
  Run help = run({"ctl", "--help"});
  BOOST_TEST(help.code == 0);
  for (const char* command : {"expose SPEC", "unexpose SPEC", "forwards"}) {
    BOOST_TEST(help.out.find(std::string("  ") + command) != std::string::npos, command);
  }
  BOOST_TEST(d.stop() == 0);
}

// --forward and the config file's port_forwards are bound before the daemon serves;
// the connection limit is RLIMIT_NOFILE less min(32, limit / 4) unless
// --max-connections says otherwise.
BOOST_AUTO_TEST_CASE(startup_forwards_and_the_connection_limit) {
  TempDir dir;
  const std::string config = dir.file("proxy.json");
  std::ofstream(config) << R"({"port_forwards": ["udp:127.0.0.1:0:192.168.65.3:53"], "listen_backlog": 16})";
  ForwardDaemon from_file({"--config", config}, rlim_t{200});
  ForwardDaemon from_flags({"--forward", "tcp:127.0.0.1:0:192.168.65.3:80", "--forward",
                            "tcp:127.0.0.1:0:192.168.65.3:443", "--max-connections", "77"},
                           rlim_t{64});
  BOOST_REQUIRE(from_file.ready());
  BOOST_REQUIRE(from_flags.ready());

  json udp = from_file.forwards();
  BOOST_REQUIRE(udp.size() == 1u);
  BOOST_TEST(udp[0]["requested"] == "udp:127.0.0.1:0:192.168.65.3:53");
  BOOST_TEST(!udp_port_free(udp[0]["host_port"]));
  json limit = from_file.request({{"cmd", "diagnostics"}})["connection_limit"];
  BOOST_TEST_INFO(limit.dump());
  BOOST_TEST(limit["fd_limit"] == 200);
  BOOST_TEST(limit["reserve"] == 32);
  BOOST_TEST(limit["limit"] == 168);
  BOOST_TEST(limit["from"] == "fd_limit");
  BOOST_TEST(limit["in_use"] == 0);

  json tcp = from_flags.forwards();
  BOOST_REQUIRE(tcp.size() == 2u);
  for (const json& f : tcp) BOOST_TEST(connect_result(f["host_port"]) == 0);
  limit = from_flags.request({{"cmd", "diagnostics"}})["connection_limit"];
  BOOST_TEST_INFO(limit.dump());
  BOOST_TEST(limit["fd_limit"] == 64);
  BOOST_TEST(limit["reserve"] == 16);
  BOOST_TEST(limit["limit"] == 77);
  BOOST_TEST(limit["from"] == "max_connections");
  // The limit and its reserve are logged at start (at info; these run at warn).
  BOOST_TEST(from_file.stop() == 0);
  BOOST_TEST(from_flags.stop() == 0);

  ForwardDaemon logged({"--forward", "tcp:127.0.0.1:0:192.168.65.3:80"}, rlim_t{128}, "info");
  BOOST_REQUIRE(logged.ready());
  BOOST_TEST(logged.stop() == 0);
  BOOST_TEST(logged.log().find("fd limit 128: connection limit 96 (reserve 32") != std::string::npos, logged.log());
}

// A forward that cannot be bound stops the start: one line naming the flag or the
// file and JSON path, exit 1 (the host refused) or 2 (the configuration is wrong), and
// nothing is left behind: no control socket, no VM socket.
BOOST_AUTO_TEST_CASE(startup_forward_failure_names_its_origin_and_leaves_nothing_bound) {
  Bound taken(SOCK_STREAM);
  const std::string in_use = "tcp:127.0.0.1:" + std::to_string(taken.port) + ":192.168.65.3:81";
  ForwardDaemon d({"--forward", "tcp:127.0.0.1:0:192.168.65.3:80", "--forward", in_use});
  BOOST_TEST(wait_exit(d.child) == 1);
  const std::string log = d.log();
  BOOST_TEST(log.find("error daemon: --forward " + in_use + ": address in use") != std::string::npos, log);
  BOOST_TEST(::access(d.control.c_str(), F_OK) != 0);
  BOOST_TEST(::access(d.vm.c_str(), F_OK) != 0);

  TempDir dir;
  const std::string config = dir.file("proxy.json");
  std::ofstream(config) << R"({"port_forwards": ["tcp:127.0.0.1:0:192.168.65.3:80", "tcp:224.0.0.1:80:192.168.65.3:80"]})";
  ForwardDaemon bad({"--config", config});
  BOOST_TEST(wait_exit(bad.child) == 2);
  BOOST_TEST(bad.log().find("error daemon: " + config +
                            ": $.port_forwards[1]: tcp:224.0.0.1:80:192.168.65.3:80: host address 224.0.0.1 "
                            "cannot be bound") != std::string::npos,
             bad.log());
  BOOST_TEST(::access(bad.control.c_str(), F_OK) != 0);
  BOOST_TEST(::access(bad.vm.c_str(), F_OK) != 0);
}
