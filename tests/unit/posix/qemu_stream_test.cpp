#define BOOST_TEST_MODULE qemu_stream
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "stack/posix/qemu_stream.h"
#include "tests/unit/posix/posix_testutil.h"
#include "tests/unit/posix/transport_testutil.h"

using namespace tapwire;
using namespace tapwire::posix;
using namespace tapwire::posix::testing;

namespace {

std::vector<std::uint8_t> framed(const std::vector<std::vector<std::uint8_t>>& frames) {
  std::vector<std::uint8_t> out;
  for (const auto& f : frames) {
    std::uint8_t len[4];
    store_be32(len, static_cast<std::uint32_t>(f.size()));
    out.insert(out.end(), len, len + 4);
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

struct Pair {
  EventLoop loop;
  Recorder rec;
  std::unique_ptr<QemuStreamTransport> link;
  int vm = -1;  // the fake QEMU end

  explicit Pair(QemuStreamConfig config = {}) {
    int sv[2];
    BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    vm = sv[1];
    auto t = QemuStreamTransport::adopt(loop, UniqueFd(sv[0]), config);
    BOOST_REQUIRE(t.ok());
    link = std::move(*t);
    link->set_receiver(&rec);
    link->set_link_event_sink(&rec);
  }
  ~Pair() {
    link.reset();
    ::close(vm);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(frames_split_at_every_byte_boundary_reassemble) {
  const std::vector<std::vector<std::uint8_t>> frames = {test_frame(60, 1), test_frame(1514, 2), test_frame(14, 3)};
  const std::vector<std::uint8_t> bytes = framed(frames);
  Pair p;
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    p.rec.frames.clear();
    BOOST_REQUIRE(write_all(p.vm, bytes.data(), cut));
    run_for(p.loop, Duration::micros(200));
    BOOST_REQUIRE(write_all(p.vm, bytes.data() + cut, bytes.size() - cut));
    BOOST_REQUIRE(run_until(p.loop, [&] { return p.rec.frames.size() == frames.size(); }));
    BOOST_REQUIRE_MESSAGE(p.rec.frames == frames, "cut at " << cut);
  }
  BOOST_TEST(p.link->counters().frames_in == 3u * (bytes.size() + 1));
  BOOST_TEST(p.link->attached());
}

BOOST_AUTO_TEST_CASE(many_frames_in_one_read_batch) {
  std::vector<std::vector<std::uint8_t>> frames;
  for (int i = 0; i < 500; ++i) frames.push_back(test_frame(60 + static_cast<std::size_t>(i), static_cast<std::uint8_t>(i)));
  const auto bytes = framed(frames);
  Pair p;
  BOOST_REQUIRE(write_all(p.vm, bytes.data(), bytes.size()));
  BOOST_REQUIRE(run_until(p.loop, [&] { return p.rec.frames.size() == frames.size(); }));
  BOOST_TEST(p.rec.frames == frames);
  BOOST_TEST(p.loop.counters().waits < 20u);  // batched, not one wakeup per frame
}

BOOST_AUTO_TEST_CASE(impossible_lengths_close_with_an_error) {
  for (std::uint32_t bad : {0u, 65535u + 15u, 0xffffffffu}) {
    Pair p;
    const auto good = framed({test_frame(60, 9)});
    BOOST_REQUIRE(write_all(p.vm, good.data(), good.size()));
    std::uint8_t hdr[4];
    store_be32(hdr, bad);
    BOOST_REQUIRE(write_all(p.vm, hdr, 4));
    BOOST_REQUIRE(run_until(p.loop, [&] { return p.rec.downs == 1; }));
    BOOST_TEST(p.rec.frames.size() == 1u);  // what came before is delivered
    BOOST_TEST(!p.link->attached());
    BOOST_TEST(p.link->counters().protocol_errors == 1u);
    BOOST_TEST(std::string(p.link->last_error()).find("length") != std::string::npos);
    // The VM sees the connection closed.
    std::uint8_t b;
    BOOST_TEST(::recv(p.vm, &b, 1, 0) == 0);
    // Frames to a detached VM are dropped, not a crash.
    BOOST_TEST(send_frame(*p.link, test_frame(60, 1)));
    p.link->flush();
    BOOST_TEST(p.link->counters().dropped_no_peer == 1u);
  }
  Pair max;
  const auto biggest = framed({test_frame(65535 + 14, 4)});
  BOOST_REQUIRE(write_all(max.vm, biggest.data(), biggest.size()));
  BOOST_REQUIRE(run_until(max.loop, [&] { return max.rec.frames.size() == 1u; }));
  BOOST_TEST(max.rec.downs == 0);
}

BOOST_AUTO_TEST_CASE(output_is_length_prefixed_and_batched) {
  Pair p;
  const auto a = test_frame(60, 5), b = test_frame(1514, 6);
  BOOST_REQUIRE(send_frame(*p.link, a));
  BOOST_REQUIRE(send_frame(*p.link, b));
  BOOST_TEST(nothing_to_read(p.vm));  // nothing leaves before flush()
  p.link->flush();
  std::vector<std::uint8_t> got(4 + a.size() + 4 + b.size());
  BOOST_REQUIRE(read_exact(p.vm, got.data(), got.size()));
  BOOST_TEST(got == framed({a, b}));
  BOOST_TEST(p.link->counters().frames_out == 2u);
}

BOOST_AUTO_TEST_CASE(backpressure_when_the_vm_does_not_read) {
  QemuStreamConfig config;
  config.out_capacity = 256 * 1024;
  Pair p(config);
  const auto f = test_frame(1514, 7);
  std::size_t queued = 0;
  while (send_frame(*p.link, f)) {
    p.link->flush();
    if (++queued > 100000) break;
  }
  BOOST_REQUIRE(queued < 100000u);
  BOOST_TEST(p.link->counters().link_full == 1u);
  BOOST_TEST(p.link->egress(f.size()).empty());
  run_for(p.loop, Duration::millis(10));
  BOOST_TEST(p.rec.writable == 0);
  // The VM reads everything; the link drains and says so once.
  std::vector<std::uint8_t> sink(1 << 20);
  std::size_t got = 0;
  BOOST_REQUIRE(run_until(p.loop, [&] {
    for (;;) {
      const ssize_t n = ::recv(p.vm, sink.data(), sink.size(), MSG_DONTWAIT);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    return p.rec.writable > 0;
  }));
  BOOST_TEST(p.rec.writable == 1);
  BOOST_TEST(send_frame(*p.link, f));
  for (;;) {
    const ssize_t n = ::recv(p.vm, sink.data(), sink.size(), MSG_DONTWAIT);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  BOOST_TEST(got == queued * (4 + f.size()));
}

BOOST_AUTO_TEST_CASE(listen_accepts_one_vm_at_a_time) {
  EventLoop loop;
  Recorder rec;
  const std::string path = temp_path("qemu.sock");
  StreamAddress address = *StreamAddress::parse(path);
  auto t = QemuStreamTransport::listen(loop, address);
  BOOST_REQUIRE(t.ok());
  auto& link = **t;
  link.set_receiver(&rec);
  auto connect_vm = [&] {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    return fd;
  };
  const int vm1 = connect_vm();
  BOOST_REQUIRE(run_until(loop, [&] { return rec.ups == 1; }));
  const int vm2 = connect_vm();
  BOOST_REQUIRE(run_until(loop, [&] { return link.rejected() == 1u; }));
  std::uint8_t b;
  BOOST_TEST(::recv(vm2, &b, 1, 0) == 0);  // closed at once
  const auto frame = framed({test_frame(100, 1)});
  BOOST_REQUIRE(write_all(vm1, frame.data(), frame.size()));
  BOOST_REQUIRE(run_until(loop, [&] { return rec.frames.size() == 1u; }));
  // The VM goes away; the next one is accepted.
  ::close(vm1);
  BOOST_REQUIRE(run_until(loop, [&] { return rec.downs == 1; }));
  const int vm3 = connect_vm();
  BOOST_REQUIRE(run_until(loop, [&] { return rec.ups == 2; }));
  BOOST_TEST(link.counters().connections == 2u);
  ::close(vm2);
  ::close(vm3);
  t->reset();
  BOOST_TEST(::access(path.c_str(), F_OK) != 0);  // socket file removed

  // connect mode reaches a listening "QEMU".
  auto server = listen_stream(address, 1);
  BOOST_REQUIRE(server.ok());
  auto c = QemuStreamTransport::connect(loop, address);
  BOOST_REQUIRE(c.ok());
  BOOST_TEST((*c)->attached());
  BOOST_TEST(!QemuStreamTransport::connect(loop, *StreamAddress::parse(path + ".missing")).ok());
  unlink_socket_file(path);
}

BOOST_AUTO_TEST_CASE(stream_addresses_parse) {
  auto a = StreamAddress::parse("tcp:127.0.0.1:5555");
  BOOST_REQUIRE(a.has_value());
  BOOST_TEST(a->is_tcp);
  BOOST_TEST(a->endpoint.port == 5555);
  BOOST_TEST(StreamAddress::parse("unix:/tmp/x")->path == "/tmp/x");
  BOOST_TEST(StreamAddress::parse("/tmp/y")->path == "/tmp/y");
  BOOST_TEST(!StreamAddress::parse("tcp:127.0.0.1").has_value());
  BOOST_TEST(!StreamAddress::parse("tcp:127.0.0.1:0").has_value());
  BOOST_TEST(!StreamAddress::parse("").has_value());
}
