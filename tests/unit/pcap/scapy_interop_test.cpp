#define BOOST_TEST_MODULE scapy_interop
#include <boost/test/unit_test.hpp>

// Tapwire and scapy read each other's captures byte for byte.
// The Python side is tests/pcap/scapy_interop.py, run with /usr/bin/python3.

#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "stack/pcap/pcap.h"
#include "tests/unit/skip.h"

using namespace tapwire;
using namespace tapwire::pcap;
namespace fs = std::filesystem;

namespace {

const std::string kPython = "/usr/bin/python3";
const std::string kScript = std::string(TAPWIRE_SOURCE_DIR) + "/tests/pcap/scapy_interop.py";

fs::path scratch_dir() {
  fs::path dir = fs::path(TAPWIRE_BINARY_DIR) / "test-scratch" / "scapy_interop";
  fs::create_directories(dir);
  return dir;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

int run(const std::string& command) {
  const int status = std::system(command.c_str());
  if (status == -1 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// A Boost.Test precondition: the cases are skipped (and ctest reports the test as not
// run, tests/unit/skip.h) only when scapy is not importable by /usr/bin/python3.
boost::test_tools::assertion_result scapy_importable(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result ok(run(quote(kPython) + " " + quote(kScript) + " check >/dev/null 2>&1") == 0);
  if (!ok) ok.message() << kPython << " cannot import scapy (Debian package python3-scapy)";
  return ok;
}

struct Frame {
  std::int64_t ts_ns;
  std::uint32_t orig_len;
  std::vector<std::uint8_t> data;
};

std::string to_hex(const std::vector<std::uint8_t>& data) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : data) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::vector<std::uint8_t> from_hex(const std::string& hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

void write_expected(const fs::path& path, const std::vector<Frame>& frames) {
  std::ofstream out(path, std::ios::trunc);
  for (const Frame& f : frames) out << f.ts_ns << ' ' << f.orig_len << ' ' << to_hex(f.data) << '\n';
}

std::vector<Frame> read_expected(const fs::path& path) {
  std::vector<Frame> frames;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    Frame f{};
    std::string hex;
    fields >> f.ts_ns >> f.orig_len >> hex;
    f.data = from_hex(hex);
    frames.push_back(std::move(f));
  }
  return frames;
}

// Ethernet frames with plausible headers and nanosecond-precise stamps.
std::vector<Frame> tapwire_frames() {
  std::vector<Frame> frames;
  const std::int64_t stamps[] = {1, 1'000'000'001, 1'700'000'000'123'456'789, 1'700'000'000'999'999'999,
                                 1'700'000'005'000'000'000};
  const std::size_t sizes[] = {42, 60, 1514, 98, 200};
  for (std::size_t i = 0; i < std::size(stamps); ++i) {
    Frame f{};
    f.ts_ns = stamps[i];
    f.data = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x50, 0x00, 0x00, 0x00, static_cast<std::uint8_t>(i), 0x88, 0xb5};
    while (f.data.size() < sizes[i]) f.data.push_back(static_cast<std::uint8_t>(f.data.size() * 31 + i));
    f.orig_len = static_cast<std::uint32_t>(f.data.size());
    frames.push_back(std::move(f));
  }
  frames[4].orig_len += 1000;  // captured shorter than the wire frame
  return frames;
}

}  // namespace

BOOST_AUTO_TEST_CASE(scapy_reads_what_tapwire_writes, *boost::unit_test::precondition(scapy_importable)) {
  const fs::path capture = scratch_dir() / "tapwire_written.pcap";
  const fs::path expected = scratch_dir() / "tapwire_written.expected";
  const auto frames = tapwire_frames();
  {
    auto writer = PcapWriter::open(capture.string());
    BOOST_REQUIRE_MESSAGE(writer.ok(), (writer.ok() ? "" : writer.error().message));
    for (const Frame& f : frames)
      BOOST_REQUIRE(writer->write(Instant::from_nanos(f.ts_ns), Bytes(f.data), f.orig_len).ok());
    BOOST_REQUIRE(writer->close().ok());
  }
  write_expected(expected, frames);
  const int rc = run(quote(kPython) + " " + quote(kScript) + " read " + quote(capture.string()) + " " +
                     quote(expected.string()));
  BOOST_TEST(rc == 0, "scapy_interop.py read exited " << rc << " (its stderr says why)");
}

BOOST_AUTO_TEST_CASE(scapy_reads_the_in_memory_capture_too, *boost::unit_test::precondition(scapy_importable)) {
  const fs::path capture = scratch_dir() / "tapwire_memory.pcap";
  const fs::path expected = scratch_dir() / "tapwire_memory.expected";
  const auto frames = tapwire_frames();
  auto writer = PcapWriter::open_memory();
  BOOST_REQUIRE(writer.ok());
  for (const Frame& f : frames)
    BOOST_REQUIRE(writer->write(Instant::from_nanos(f.ts_ns), Bytes(f.data), f.orig_len).ok());
  const auto bytes = writer->memory_bytes();
  {
    std::ofstream out(capture, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  write_expected(expected, frames);
  const int rc = run(quote(kPython) + " " + quote(kScript) + " read " + quote(capture.string()) + " " +
                     quote(expected.string()));
  BOOST_TEST(rc == 0, "scapy_interop.py read exited " << rc);
}

BOOST_AUTO_TEST_CASE(tapwire_reads_what_scapy_writes, *boost::unit_test::precondition(scapy_importable)) {
  for (bool nano : {false, true}) {
    const std::string stem = nano ? "scapy_written_ns" : "scapy_written_us";
    const fs::path capture = scratch_dir() / (stem + ".pcap");
    const fs::path expected = scratch_dir() / (stem + ".expected");
    const int rc = run(quote(kPython) + " " + quote(kScript) + " write " + quote(capture.string()) + " " +
                       quote(expected.string()) + (nano ? " --nano" : "") + " >/dev/null");
    BOOST_REQUIRE_MESSAGE(rc == 0, "scapy_interop.py write exited " << rc);
    const auto frames = read_expected(expected);
    BOOST_REQUIRE(frames.size() >= 5u);

    auto reader = PcapReader::open(capture.string());
    BOOST_REQUIRE_MESSAGE(reader.ok(), (reader.ok() ? "" : reader.error().message));
    BOOST_TEST(reader->nanosecond_file() == nano);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      auto rec = reader->next();
      BOOST_REQUIRE_MESSAGE(rec.ok(), (rec.ok() ? "" : rec.error().message));
      BOOST_REQUIRE_MESSAGE(rec->has_value(), stem << ": end of file before frame " << i);
      BOOST_TEST((*rec)->ts.ns() == frames[i].ts_ns, stem << " frame " << i);
      BOOST_TEST((*rec)->orig_len == frames[i].orig_len, stem << " frame " << i);
      BOOST_TEST(std::vector<std::uint8_t>((*rec)->data.begin(), (*rec)->data.end()) == frames[i].data,
                 stem << " frame " << i);
    }
    auto end = reader->next();
    BOOST_REQUIRE(end.ok());
    BOOST_TEST(!end->has_value(), stem << ": more frames than scapy wrote");
  }
}
