#define BOOST_TEST_MODULE ring_buffer
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "stack/tcp/ring_buffer.h"

using tapwire::Bytes;
using tapwire::MutBytes;
using tapwire::tcp::RingBuffer;

namespace {
Bytes bytes_of(const std::string& s) { return Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }
std::string str(Bytes b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }
std::string read_all(RingBuffer& rb) {
  std::vector<std::uint8_t> out(rb.size());
  std::size_t n = rb.read(out);
  return std::string(reinterpret_cast<const char*>(out.data()), n);
}
}  // namespace

BOOST_AUTO_TEST_CASE(empty_buffer) {
  RingBuffer rb(8);
  BOOST_TEST(rb.capacity() == 8u);
  BOOST_TEST(rb.size() == 0u);
  BOOST_TEST(rb.free_space() == 8u);
  BOOST_TEST(rb.empty());
  std::array<std::uint8_t, 4> out{};
  BOOST_TEST(rb.read(out) == 0u);
  auto [a, b] = rb.view(0, 4);
  BOOST_TEST(a.empty());
  BOOST_TEST(b.empty());
}

BOOST_AUTO_TEST_CASE(short_write_when_full) {
  RingBuffer rb(8);
  BOOST_TEST(rb.write(bytes_of("abcde")) == 5u);
  BOOST_TEST(rb.write(bytes_of("fghij")) == 3u);  // only 3 free
  BOOST_TEST(rb.full());
  BOOST_TEST(rb.free_space() == 0u);
  BOOST_TEST(rb.write(bytes_of("x")) == 0u);
  BOOST_TEST(read_all(rb) == "abcdefgh");
  BOOST_TEST(rb.empty());
}

BOOST_AUTO_TEST_CASE(wraparound_read_write_and_view) {
  RingBuffer rb(8);
  rb.write(bytes_of("012345"));
  rb.consume(4);  // head at 4, "45" readable
  BOOST_TEST(rb.size() == 2u);
  BOOST_TEST(rb.write(bytes_of("6789AB")) == 6u);  // storage: "89AB4567", head 4
  BOOST_TEST(rb.size() == 8u);
  // view(1, 6) = "56789A": "567" at storage[5..8), "89A" at storage[0..3)
  auto [a, b] = rb.view(1, 6);
  BOOST_TEST(str(a) == "567");
  BOOST_TEST(str(b) == "89A");
  // view clipped at size(): view(6, 10) = "AB", which does not wrap
  auto [c, d] = rb.view(6, 10);
  BOOST_TEST(str(c) == "AB");
  BOOST_TEST(d.empty());
  // view entirely before the wrap
  auto [e, f] = rb.view(0, 3);
  BOOST_TEST(str(e) == "456");
  BOOST_TEST(f.empty());
  // peek across the wrap without consuming
  std::array<std::uint8_t, 5> out{};
  BOOST_TEST(rb.peek(2, out) == 5u);
  BOOST_TEST(str(out) == "6789A");
  BOOST_TEST(rb.peek(8, out) == 0u);
  BOOST_TEST(rb.size() == 8u);
  BOOST_TEST(read_all(rb) == "456789AB");
}

BOOST_AUTO_TEST_CASE(read_partial_then_rest) {
  RingBuffer rb(4);
  rb.write(bytes_of("abcd"));
  std::array<std::uint8_t, 3> out{};
  BOOST_TEST(rb.read(out) == 3u);
  BOOST_TEST(str(out) == "abc");
  rb.write(bytes_of("efg"));  // wraps: "d" + "efg"
  BOOST_TEST(read_all(rb) == "defg");
  rb.consume(100);  // consume more than held is clipped
  BOOST_TEST(rb.empty());
}

BOOST_AUTO_TEST_CASE(writable_contiguous_and_commit) {
  RingBuffer rb(8);
  rb.write(bytes_of("abcdef"));
  rb.consume(3);  // head 3, "def" in storage[3..6)
  // Tail at 6: contiguous free region is storage[6..8), 2 bytes (3 more are free at [0..3)).
  MutBytes w = rb.writable_contiguous();
  BOOST_TEST(w.size() == 2u);
  BOOST_TEST(rb.free_space() == 5u);
  std::memcpy(w.data(), "gh", 2);
  rb.commit(2);
  w = rb.writable_contiguous();  // now storage[0..3)
  BOOST_TEST(w.size() == 3u);
  std::memcpy(w.data(), "ij", 2);
  rb.commit(2);  // partial commit
  BOOST_TEST(rb.size() == 7u);
  BOOST_TEST(read_all(rb) == "defghij");
  // Empty buffer rewinds, so the whole capacity is contiguous again.
  BOOST_TEST(rb.writable_contiguous().size() == 8u);
  rb.write(bytes_of("12345678"));
  BOOST_TEST(rb.writable_contiguous().empty());
  rb.commit(3);  // nothing free: no effect
  BOOST_TEST(rb.size() == 8u);
}

BOOST_AUTO_TEST_CASE(write_at_then_commit) {
  RingBuffer rb(8);
  rb.write(bytes_of("ab"));
  rb.consume(1);  // head 1, "b" readable, 7 free
  // Out-of-order data 2 bytes past the end ("cd" missing): "ef" at logical 3..5.
  BOOST_TEST(rb.write_at(2, bytes_of("ef")) == 2u);
  BOOST_TEST(rb.size() == 1u);  // not readable yet
  // Clipped to capacity: free is 7, so offset 4 leaves room for 3 of "XYZW".
  BOOST_TEST(rb.write_at(4, bytes_of("XYZW")) == 3u);
  BOOST_TEST(rb.write_at(7, bytes_of("Q")) == 0u);
  // Fill the gap, then publish all 7: "cd" + "ef" + "XYZ".
  BOOST_TEST(rb.write_at(0, bytes_of("cd")) == 2u);
  rb.commit(7);
  BOOST_TEST(rb.size() == 8u);
  BOOST_TEST(rb.full());
  BOOST_TEST(read_all(rb) == "bcdefXYZ");
}

BOOST_AUTO_TEST_CASE(write_at_across_wrap) {
  RingBuffer rb(8);
  rb.write(bytes_of("0123456"));
  rb.consume(6);  // head 6, "6" readable; tail at 7
  // logical offset 1 past end = storage index 0; "abc" lands at storage[0..3)
  BOOST_TEST(rb.write_at(1, bytes_of("abc")) == 3u);
  // offset 0 = storage[7]
  BOOST_TEST(rb.write_at(0, bytes_of("Z")) == 1u);
  rb.commit(4);
  auto [a, b] = rb.view(0, 5);
  BOOST_TEST(str(a) == "6Z");
  BOOST_TEST(str(b) == "abc");
}

BOOST_AUTO_TEST_CASE(clear_resets) {
  RingBuffer rb(4);
  rb.write(bytes_of("abc"));
  rb.consume(2);
  rb.clear();
  BOOST_TEST(rb.empty());
  BOOST_TEST(rb.writable_contiguous().size() == 4u);
}

BOOST_AUTO_TEST_CASE(long_stream_through_small_buffer) {
  // A byte stream pushed through a 7-byte ring in odd chunk sizes comes out intact.
  RingBuffer rb(7);
  std::vector<std::uint8_t> in(1000);
  std::iota(in.begin(), in.end(), 0);
  std::vector<std::uint8_t> out;
  std::size_t written = 0;
  std::size_t step = 0;
  while (out.size() < in.size()) {
    std::size_t chunk = 1 + (step++ % 5);
    written += rb.write(Bytes(in).subspan(written, std::min(chunk, in.size() - written)));
    std::array<std::uint8_t, 3> tmp{};
    std::size_t n = rb.read(MutBytes(tmp).first(1 + step % 3));
    out.insert(out.end(), tmp.begin(), tmp.begin() + static_cast<std::ptrdiff_t>(n));
  }
  BOOST_TEST(out == in);
}

BOOST_AUTO_TEST_CASE(parked_bytes_survive_emptying) {
  // Out-of-order bytes stored past the readable end stay put when the owner drains
  // every readable byte (the buffer must not rewind its head under them).
  RingBuffer rb(8);
  rb.write(bytes_of("abc"));
  BOOST_TEST(rb.write_at(2, bytes_of("XY")) == 2u);  // logical 5..7 ("de" missing)
  rb.consume(3);                                      // empty now
  BOOST_TEST(rb.empty());
  BOOST_TEST(rb.write_at(0, bytes_of("de")) == 2u);  // the gap fills
  rb.commit(4);
  BOOST_TEST(read_all(rb) == "deXY");
  // Everything parked was published and read: the next emptying rewinds again.
  BOOST_TEST(rb.writable_contiguous().size() == 8u);
}

BOOST_AUTO_TEST_CASE(parked_bytes_survive_emptying_across_wrap) {
  RingBuffer rb(8);
  rb.write(bytes_of("012345"));
  rb.consume(5);  // head 5, "5" readable
  BOOST_TEST(rb.write_at(1, bytes_of("BCD")) == 3u);  // storage 7, 0, 1
  rb.consume(1);
  BOOST_TEST(rb.write_at(0, bytes_of("A")) == 1u);
  rb.commit(4);
  BOOST_TEST(read_all(rb) == "ABCD");
}
