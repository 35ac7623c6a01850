#define BOOST_TEST_MODULE daemon_cli
#include <boost/test/unit_test.hpp>

// The `tapwire` binary's command line, control socket and clean shutdown, run as a
// child process (no root needed: the transport is --qemu-listen on a temp path).

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/proxy/config_json.h"
#include "tests/unit/posix/daemon_testutil.h"

using namespace tapwire::daemon_test;

namespace {

std::size_t count_lines(const std::string& s) {
  std::size_t n = 0;
  for (char ch : s) n += ch == '\n';
  return n;
}

// An ARP request from the VM (192.168.65.3, `mac`) for the gateway 192.168.65.1, padded to 60.
std::vector<unsigned char> arp_request_for_gateway(const unsigned char (&mac)[6]) {
  std::vector<unsigned char> frame(60, 0);
  std::fill(frame.begin(), frame.begin() + 6, 0xff);
  std::copy(mac, mac + 6, frame.begin() + 6);
  const unsigned char arp[] = {0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01};
  std::copy(std::begin(arp), std::end(arp), frame.begin() + 12);
  std::copy(mac, mac + 6, frame.begin() + 22);
  const unsigned char spa[] = {192, 168, 65, 3}, tpa[] = {192, 168, 65, 1};
  std::copy(std::begin(spa), std::end(spa), frame.begin() + 28);
  std::copy(std::begin(tpa), std::end(tpa), frame.begin() + 38);
  return frame;
}

// True for the gateway's ARP reply to `mac`.
bool is_gateway_arp_reply(const unsigned char* f, std::size_t len, const unsigned char (&mac)[6]) {
  const unsigned char gw_ip[] = {192, 168, 65, 1};
  return len >= 42 && std::equal(mac, mac + 6, f) && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0x00 &&
         f[21] == 0x02 && f[22] == 0x02 && f[23] == 0x50 && std::equal(gw_ip, gw_ip + 4, f + 28);
}

}  // namespace

BOOST_AUTO_TEST_CASE(help_lists_every_flag_with_its_default_and_exits_0) {
  Run r = run({"--help"});
  BOOST_TEST(r.code == 0);
  BOOST_TEST(r.err.empty());
  for (const char* flag : {"--config FILE.json", "--subnet CIDR", "--gateway-ip IP", "--host-ip IP", "--mtu N",
                           "--allow-outbound CIDR", "--max-connections N", "--idle-timeout DURATION", "--pcap FILE",
                           "--control PATH", "--log-level LEVEL", "--stats-interval DURATION",
                           "--qemu-listen PATH", "--qemu-connect PATH", "--vmnet-listen PATH",
                           "--vfkit-listen PATH", "--tap IFNAME", "--netns PATH"}) {
    auto at = r.out.find(std::string("\n  ") + flag);
    BOOST_TEST_INFO("flag " << flag);
    BOOST_TEST_REQUIRE(at != std::string::npos);
    // The flag's entry (up to the next flag) names its default.
    auto next = r.out.find("\n  --", at + 1);
    BOOST_TEST(r.out.substr(at, next - at).find("[default: ") != std::string::npos);
  }
  // Defaults come from the proxy's own configuration.
  BOOST_TEST(r.out.find("[default: 192.168.65.0/24]") != std::string::npos);
  BOOST_TEST(r.out.find("[default: 1500]") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_flags_give_one_line_and_exit_2) {
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const Case cases[] = {
      {{"--mtuu", "1400", "--tap", "x"}, "unknown flag --mtuu (did you mean --mtu?)"},
      {{"--mtu", "70000", "--tap", "x"}, "--mtu: $.mtu: must be between 576 and 65520"},
      {{"--allow-outbound", "127.0.0.0/8", "--allow-outbound", "nonsense", "--tap", "x"},
       "--allow-outbound: $.allow_outbound[1]"},
      {{"--log-level", "loud", "--tap", "x"}, "--log-level"},
      {{"--mtu"}, "--mtu needs a value"},
      {{"--mtu", "1400"}, "no transport"},
      {{"--tap", "a", "--qemu-listen", "/tmp/b"}, "only one transport"},
      {{"--qemu-listen", "/tmp/b", "--netns", "/var/run/netns/x"}, "--netns only applies to --tap"},
      {{"stray"}, "unexpected argument"},
  };
  for (const Case& c : cases) {
    Run r = run(c.args);
    BOOST_TEST_INFO("expecting " << c.expect << ", stderr: " << r.err);
    BOOST_TEST(r.code == 2);
    BOOST_TEST(count_lines(r.err) == 1u);
    BOOST_TEST(r.err.rfind("tapwire: ", 0) == 0u);
    BOOST_TEST(r.err.find(c.expect) != std::string::npos);
    BOOST_TEST(r.out.empty());
  }
}

BOOST_AUTO_TEST_CASE(bad_config_file_names_the_file_and_json_path) {
  TempDir dir;
  const std::string bad_value = dir.file("bad-value.json");
  std::ofstream(bad_value) << R"({"mtu": 1400, "dhcp": {"lease_time": 5}})";
  const std::string unknown_key = dir.file("unknown-key.json");
  std::ofstream(unknown_key) << R"({"mut": 1400})";
  const std::string syntax = dir.file("syntax.json");
  std::ofstream(syntax) << "{\"mtu\": 1400,\n";
  const std::string missing = dir.file("missing.json");

  struct Case {
    std::string path;
    std::string expect;
  };
  const Case cases[] = {{bad_value, ": $.dhcp.lease_time: "},
                        {unknown_key, ": $.mut"},
                        {syntax, ": $: "},
                        {missing, ": cannot read"}};
  for (const Case& c : cases) {
    Run r = run({"--config", c.path, "--tap", "x"});
    BOOST_TEST_INFO("config " << c.path << ", stderr: " << r.err);
    BOOST_TEST(r.code == 2);
    BOOST_TEST(count_lines(r.err) == 1u);
    BOOST_TEST(r.err.find("tapwire: " + c.path + c.expect) == 0u);
  }
}

// Every proxy config key has its flag in --help, with its value name and default, and
// --check-config shows that each flag set its key (the flag names are the key table's).
BOOST_AUTO_TEST_CASE(every_config_key_has_a_flag_the_binary_accepts) {
  Run help = run({"--help"});
  BOOST_REQUIRE(help.code == 0);
  for (const tapwire::proxy::ProxyKey& key : tapwire::proxy::proxy_keys()) {
    const std::string head = "  --" + key.flag + " " + std::string(key.metavar);
    BOOST_TEST(help.out.find(head) != std::string::npos, "--help lacks " + head);
  }
  Run r = run({"--check-config", "--tcp-sack", "false", "--dhcp-lease-time", "10m", "--connect-timeout=3s",
               "--tcp-nagle=true", "--allow-outbound", "127.0.0.0/8", "--allow-outbound", "10.0.0.0/8",
               "--dhcp-static", "02:00:00:00:00:10=192.168.65.50"});
  BOOST_TEST_INFO("stderr: " << r.err);
  BOOST_REQUIRE(r.code == 0);
  nlohmann::json config = nlohmann::json::parse(r.out, nullptr, false);
  BOOST_REQUIRE(config.is_object());
  BOOST_TEST(config["tcp"]["sack"] == false);
  BOOST_TEST(config["tcp"]["nagle"] == true);
  BOOST_TEST(config["dhcp"]["lease_time"] == "600s");
  BOOST_TEST(config["connect_timeout"] == "3s");
  BOOST_TEST(config["allow_outbound"] == nlohmann::json::array({"127.0.0.0/8", "10.0.0.0/8"}));
  BOOST_TEST(config["dhcp"]["static"][0]["ip"] == "192.168.65.50");
}

BOOST_AUTO_TEST_CASE(check_config_and_forwards_fail_with_one_line) {
  TempDir dir;
  const std::string forwards = dir.file("forwards.json");
  std::ofstream(forwards) << R"({"port_forwards": ["tcp:127.0.0.1:8080:192.168.65.1:80"]})";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--check-config", "--forward", "tcp:127.0.0.1:8080:192.168.65.3:80", "--forward",
        "tcp:127.0.0.1:8080:192.168.65.4:80"},
       "tapwire: --forward: $.port_forwards[1]: duplicate forward: tcp:127.0.0.1:8080:192.168.65.4:80 binds what "
       "port_forwards[0] already binds"},
      {{"--check-config", "--config", forwards},
       "tapwire: " + forwards + ": $.port_forwards[0]: guest address 192.168.65.1 is not a VM address of subnet "
       "192.168.65.0/24"},
      {{"--check-config", "--tcp-sack", "maybe"}, R"(tapwire: --tcp-sack: $.tcp.sack: expected true or false)"},
      {{"--check-config", "--tcp-sak", "false"}, "tapwire: unknown flag --tcp-sak (did you mean --tcp-sack?)"},
      {{"--check-config", "--dhcp-static", "02:00:00:00:00:10=192.168.65.1"},
       "tapwire: --dhcp-static: $.dhcp.static[0].ip: "},
  };
  for (const auto& [args, expect] : cases) {
    Run r = run(args);
    BOOST_TEST_INFO("stderr: " << r.err);
    BOOST_TEST(r.code == 2);
    BOOST_TEST(count_lines(r.err) == 1u);
    BOOST_TEST(r.err.find(expect) == 0u);
    BOOST_TEST(r.out.empty());
  }
}

// --dns-hosts: the file is read when the flags are (exit 2 naming the file, and the
// line of a bad entry); --check-config shows the file, the daemon appends its entries.
BOOST_AUTO_TEST_CASE(dns_hosts_file_problems_name_the_file_and_line) {
  TempDir dir;
  const std::string good = dir.file("hosts");
  std::ofstream(good) << "# comment\n10.9.8.7 db.lan db\n::1 ip6-localhost\n";
  const std::string bad = dir.file("bad-hosts");
  std::ofstream(bad) << "10.9.8.7 db.lan\n\n10.9.8 short\n";
  Run ok = run({"--check-config", "--dns-hosts", good});
  BOOST_TEST_INFO("stderr: " << ok.err);
  BOOST_REQUIRE(ok.code == 0);
  BOOST_TEST(nlohmann::json::parse(ok.out)["dns"]["hosts_file"] == good);
  Run r = run({"--check-config", "--dns-hosts", bad});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(count_lines(r.err) == 1u);
  BOOST_TEST(r.err.find("tapwire: --dns-hosts " + bad + ": line 3: ") == 0u, r.err);
  Run missing = run({"--check-config", "--dns-hosts", dir.file("nothing")});
  BOOST_TEST(missing.code == 2);
  BOOST_TEST(missing.err.find(dir.file("nothing") + ": cannot read") != std::string::npos, missing.err);
  // The help says where the upstreams come from when none is given.
  BOOST_TEST(run({"--help"}).out.find("[default: the nameserver lines of /etc/resolv.conf") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(daemon_serves_control_socket_and_shuts_down_cleanly) {
  TempDir dir;
  const std::string config = dir.file("proxy.json");
  std::ofstream(config) << R"({"mtu": 9000, "idle_timeout": "5m", "allow_outbound": ["10.0.0.0/8"]})";
  const std::string vm = dir.file("vm.sock");
  const std::string control = dir.file("control.sock");
  const std::string pcap = dir.file("capture.pcap");
  Child d = spawn({"--config", config, "--mtu", "4000", "--allow-outbound", "127.0.0.0/8", "--qemu-listen", vm,
                   "--control", control, "--pcap", pcap, "--log-level", "warn", "--dns-upstream", "127.0.0.1:9"},
                  dir, "daemon");
  BOOST_REQUIRE(wait_for_file(control));
  BOOST_TEST(::access(vm.c_str(), F_OK) == 0);

  {
    ControlClient a(control);
    ControlClient b(control);
    // Several requests on one connection, answered in order; errors are JSON too.
    a.send_text("{\"cmd\":\"stats\"}\n{not json\n{\"cmd\":\"reboot\"}\n[1,2]\n");
    nlohmann::json stats = a.read_json();
    BOOST_TEST(stats.contains("counters"));
    BOOST_TEST(stats["transport"]["kind"] == "qemu-listen");
    BOOST_TEST(stats["transport"]["attached"] == false);
    // The DNS service's state: an upstream given by flag, so /etc/resolv.conf is not read.
    BOOST_TEST(stats["dns"]["mode"] == "forward");
    BOOST_TEST(stats["dns"]["upstreams_from"] == "configuration");
    BOOST_TEST(stats["dns"]["upstreams"].is_array());
    BOOST_TEST(stats["dns"]["inflight"] == 0);
    BOOST_TEST(stats["dns"]["host_resolver"]["started"] == 0);
    BOOST_TEST(a.read_json()["error"].get<std::string>().find("bad JSON") != std::string::npos);
    BOOST_TEST(a.read_json()["error"].get<std::string>().find("unknown command \"reboot\"") != std::string::npos);
    BOOST_TEST(a.read_json().contains("error"));
    // A second client at the same time, its request split across two writes.
    b.send_text("{\"cmd\":\"diag");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    b.send_text("nostics\"}\n");
    nlohmann::json diag = b.read_json();
    BOOST_TEST(diag["flows"].is_array());
    BOOST_TEST(diag["flows"].empty());
    BOOST_TEST(diag["host_sockets"].is_array());
    // Flags override the config file; list flags replace the file's list.
    BOOST_TEST(diag["config"]["mtu"] == 4000);
    BOOST_TEST(diag["config"]["idle_timeout"] == "300s");
    BOOST_TEST(diag["config"]["allow_outbound"] == nlohmann::json::array({"127.0.0.0/8"}));
    BOOST_TEST(diag["config"]["dns"]["upstreams"] == nlohmann::json::array({"127.0.0.1:9"}));
    BOOST_TEST(diag.contains("dns"));
  }

  {
    // A request line past the 64 KiB bound: an error answer, then the connection closes.
    ControlClient greedy(control);
    greedy.send_text(std::string(70 * 1024, 'x'));
    BOOST_TEST(greedy.read_json()["error"].get<std::string>().find("longer than") != std::string::npos);
    BOOST_TEST(greedy.read_json().is_null());  // closed
    // The daemon still serves others.
    ControlClient polite(control);
    polite.send_text("{\"cmd\":\"stats\"}\n");
    BOOST_TEST(polite.read_json().contains("counters"));
  }

  // The ctl client subcommand prints the answer as JSON.
  Run ctl = run({"ctl", "--control", control, "stats"});
  BOOST_TEST(ctl.code == 0);
  BOOST_TEST(nlohmann::json::parse(ctl.out, nullptr, false).contains("counters"));
  Run ctl_bad = run({"ctl", "--control", control, "frobnicate"});
  BOOST_TEST(ctl_bad.code == 1);
  BOOST_TEST(nlohmann::json::parse(ctl_bad.out, nullptr, false).contains("error"));
  Run ctl_gone = run({"ctl", "--control", dir.file("nobody.sock"), "stats"});
  BOOST_TEST(ctl_gone.code == 1);
  BOOST_TEST(count_lines(ctl_gone.err) == 1u);

  // SIGTERM: exit 0, sockets removed, capture flushed (a valid pcap header at least).
  ::kill(d.pid, SIGTERM);
  BOOST_TEST(wait_exit(d) == 0);
  BOOST_TEST(::access(control.c_str(), F_OK) != 0);
  BOOST_TEST(::access(vm.c_str(), F_OK) != 0);
  std::string capture = slurp(pcap);
  BOOST_TEST_REQUIRE(capture.size() >= 24u);
  BOOST_TEST(static_cast<unsigned char>(capture[0]) == 0x4d);  // a1b23c4d: nanosecond pcap
  BOOST_TEST(slurp(d.err_path).find("error") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(qemu_vm_frames_flow_through_the_proxy_and_into_the_capture) {
  TempDir dir;
  const std::string vm = dir.file("vm.sock");
  const std::string pcap = dir.file("capture.pcap");
  Child d = spawn({"--qemu-listen", vm, "--pcap", pcap, "--log-level", "warn", "--dns-mode", "off"}, dir, "daemon");
  BOOST_REQUIRE(wait_for_file(vm));

  // Play QEMU: connect, send one length-prefixed ARP request for the gateway.
  int fd = connect_unix(vm, SOCK_STREAM);
  const unsigned char vm_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x10};
  std::vector<unsigned char> frame = arp_request_for_gateway(vm_mac);
  std::vector<unsigned char> msg = {0, 0, 0, static_cast<unsigned char>(frame.size())};
  msg.insert(msg.end(), frame.begin(), frame.end());
  BOOST_REQUIRE(::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(msg.size()));
  // The gateway's ARP reply comes back with the same framing (4-byte big-endian length).
  std::vector<unsigned char> head = read_exactly(fd, 4);
  std::size_t len = (std::size_t{head[2]} << 8) | head[3];
  BOOST_REQUIRE(head[0] == 0 && head[1] == 0);
  std::vector<unsigned char> reply = read_exactly(fd, len);
  BOOST_TEST(is_gateway_arp_reply(reply.data(), reply.size(), vm_mac));
  ::close(fd);

  ::kill(d.pid, SIGTERM);
  BOOST_TEST(wait_exit(d) == 0);
  // Both frames are in the capture, the VM's first.
  std::string capture = slurp(pcap);
  std::size_t off = 24, records = 0;
  bool first_is_request = false;
  while (off + 16 <= capture.size()) {
    auto u32 = [&](std::size_t at) {
      return static_cast<std::uint32_t>(static_cast<unsigned char>(capture[at])) |
             static_cast<std::uint32_t>(static_cast<unsigned char>(capture[at + 1])) << 8 |
             static_cast<std::uint32_t>(static_cast<unsigned char>(capture[at + 2])) << 16 |
             static_cast<std::uint32_t>(static_cast<unsigned char>(capture[at + 3])) << 24;
    };
    std::uint32_t incl = u32(off + 8);
    if (records == 0) first_is_request = incl == frame.size() && capture.compare(off + 16, incl,
                                                         std::string(frame.begin(), frame.end())) == 0;
    off += 16 + incl;
    ++records;
  }
  BOOST_TEST(off == capture.size());
  BOOST_TEST(records >= 2u);
  BOOST_TEST(first_is_request);
}

BOOST_AUTO_TEST_CASE(vmnet_vm_handshakes_and_gets_arp_reply) {
  TempDir dir;
  const std::string path = dir.file("vmnet.sock");
  Child d = spawn({"--vmnet-listen", path, "--log-level", "warn", "--dns-mode", "off"}, dir, "daemon");
  BOOST_REQUIRE(wait_for_file(path));
  int fd = connect_unix(path, SOCK_STREAM);
  // Init: "VMN3T", u32 LE version, 40-byte commit; then Command 1 (ethernet) with a UUID.
  std::vector<unsigned char> init(49, 0);
  std::memcpy(init.data(), "VMN3T", 5);
  init[5] = 22;
  BOOST_REQUIRE(::send(fd, init.data(), init.size(), MSG_NOSIGNAL) == 49);
  BOOST_TEST(std::memcmp(read_exactly(fd, 49).data(), "VMN3T", 5) == 0);
  std::vector<unsigned char> command(41, 0);
  command[0] = 1;
  std::memcpy(command.data() + 1, "6f1b4e5a-1d3c-4d2e-9f8a-0b1c2d3e4f50", 36);
  BOOST_REQUIRE(::send(fd, command.data(), command.size(), MSG_NOSIGNAL) == 41);
  std::vector<unsigned char> vif = read_exactly(fd, 258);
  BOOST_TEST(vif[0] == 1);
  unsigned char mac[6];
  std::copy(vif.begin() + 5, vif.begin() + 11, mac);  // the MAC the daemon assigned
  // Frames: u16 LE length + Ethernet.
  std::vector<unsigned char> frame = arp_request_for_gateway(mac);
  std::vector<unsigned char> msg = {static_cast<unsigned char>(frame.size()), 0};
  msg.insert(msg.end(), frame.begin(), frame.end());
  BOOST_REQUIRE(::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(msg.size()));
  std::vector<unsigned char> head = read_exactly(fd, 2);
  std::size_t len = head[0] | (std::size_t{head[1]} << 8);
  std::vector<unsigned char> reply = read_exactly(fd, len);
  BOOST_TEST(is_gateway_arp_reply(reply.data(), reply.size(), mac));
  ::close(fd);
  ::kill(d.pid, SIGTERM);
  BOOST_TEST(wait_exit(d) == 0);
  BOOST_TEST(::access(path.c_str(), F_OK) != 0);
}

BOOST_AUTO_TEST_CASE(vfkit_vm_greets_and_gets_arp_reply) {
  TempDir dir;
  const std::string path = dir.file("vfkit.sock");
  const std::string ours = dir.file("vm.sock");
  Child d = spawn({"--vfkit-listen", path, "--log-level", "warn", "--dns-mode", "off"}, dir, "daemon");
  BOOST_REQUIRE(wait_for_file(path));
  // Play vfkit: our own bound datagram socket, the "VFKT" greeting, then one frame.
  int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un me{};
  me.sun_family = AF_UNIX;
  std::snprintf(me.sun_path, sizeof me.sun_path, "%s", ours.c_str());
  BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof me) == 0);
  sockaddr_un them{};
  them.sun_family = AF_UNIX;
  std::snprintf(them.sun_path, sizeof them.sun_path, "%s", path.c_str());
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&them), sizeof them) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  BOOST_REQUIRE(::send(fd, "VFKT", 4, 0) == 4);
  const unsigned char mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x22};
  std::vector<unsigned char> frame = arp_request_for_gateway(mac);
  BOOST_REQUIRE(::send(fd, frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size()));
  unsigned char buf[2048];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  BOOST_REQUIRE(n > 0);
  BOOST_TEST(is_gateway_arp_reply(buf, static_cast<std::size_t>(n), mac));
  ::close(fd);
  ::kill(d.pid, SIGTERM);
  BOOST_TEST(wait_exit(d) == 0);
}
