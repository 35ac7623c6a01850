#define BOOST_TEST_MODULE pcap
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "stack/pcap/pcap.h"

namespace tapwire {
std::ostream& operator<<(std::ostream& os, Errc code) { return os << to_string(code); }
}  // namespace tapwire

using namespace tapwire;
using namespace tapwire::pcap;
namespace fs = std::filesystem;

namespace {

fs::path scratch_dir() {
  fs::path dir = fs::path(TAPWIRE_BINARY_DIR) / "test-scratch" / "pcap";
  fs::create_directories(dir);
  return dir;
}

std::vector<std::uint8_t> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

struct Frame {
  std::int64_t ts_ns;
  std::vector<std::uint8_t> data;
  std::uint32_t orig_len;
};

std::vector<Frame> sample_frames() {
  std::vector<Frame> frames;
  // Nanosecond digits that a microsecond format would lose; 0; a 2023 epoch stamp.
  const std::int64_t stamps[] = {0, 1, 999'999'999, 1'000'000'001, 1'700'000'000'123'456'789, 1'700'000'001'000'000'000};
  std::size_t sizes[] = {60, 1, 1514, 42, 9018, 0};
  for (std::size_t i = 0; i < std::size(stamps); ++i) {
    Frame f;
    f.ts_ns = stamps[i];
    for (std::size_t b = 0; b < sizes[i]; ++b) f.data.push_back(static_cast<std::uint8_t>(b * 7 + i));
    f.orig_len = static_cast<std::uint32_t>(f.data.size() + (i == 3 ? 100 : 0));  // one record claims more on the wire
    frames.push_back(std::move(f));
  }
  return frames;
}

void write_all(PcapWriter& writer, const std::vector<Frame>& frames) {
  for (const Frame& f : frames) {
    Result<void, PcapError> s = writer.write(Instant::from_nanos(f.ts_ns), Bytes(f.data), f.orig_len);
    BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
  }
}

void expect_frames(PcapReader& reader, const std::vector<Frame>& frames) {
  for (std::size_t i = 0; i < frames.size(); ++i) {
    auto rec = reader.next();
    BOOST_REQUIRE_MESSAGE(rec.ok(), (rec.ok() ? "" : rec.error().message));
    BOOST_REQUIRE_MESSAGE(rec->has_value(), "end of file before frame " << i);
    const PcapRecord& r = **rec;
    BOOST_TEST(r.ts.ns() == frames[i].ts_ns, "frame " << i);
    BOOST_TEST(r.orig_len == frames[i].orig_len, "frame " << i);
    BOOST_TEST(std::vector<std::uint8_t>(r.data.begin(), r.data.end()) == frames[i].data, "frame " << i);
  }
  auto end = reader.next();
  BOOST_REQUIRE(end.ok());
  BOOST_TEST(!end->has_value());
  auto again = reader.next();  // end of file is sticky, not an error
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(!again->has_value());
}

// Little-endian classic pcap file header.
std::vector<std::uint8_t> file_header(std::uint32_t magic, std::uint32_t linktype, std::uint32_t snaplen = 65535) {
  std::vector<std::uint8_t> h(24, 0);
  store_le32(&h[0], magic);
  store_le16(&h[4], 2);
  store_le16(&h[6], 4);
  store_le32(&h[16], snaplen);
  store_le32(&h[20], linktype);
  return h;
}

void append_record(std::vector<std::uint8_t>& out, std::uint32_t sec, std::uint32_t frac,
                   const std::vector<std::uint8_t>& data, std::uint32_t claimed_len) {
  std::uint8_t h[16];
  store_le32(&h[0], sec);
  store_le32(&h[4], frac);
  store_le32(&h[8], claimed_len);
  store_le32(&h[12], claimed_len);
  out.insert(out.end(), h, h + 16);
  out.insert(out.end(), data.begin(), data.end());
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(file_round_trip_keeps_bytes_lengths_and_nanoseconds) {
  const fs::path path = scratch_dir() / "round_trip.pcap";
  const auto frames = sample_frames();
  {
    auto writer = PcapWriter::open(path.string());
    BOOST_REQUIRE_MESSAGE(writer.ok(), (writer.ok() ? "" : writer.error().message));
    write_all(*writer, frames);
    BOOST_TEST(writer->frames_written() == frames.size());
    BOOST_REQUIRE(writer->close().ok());
    BOOST_TEST(!writer->is_open());
  }
  auto reader = PcapReader::open(path.string());
  BOOST_REQUIRE_MESSAGE(reader.ok(), (reader.ok() ? "" : reader.error().message));
  BOOST_TEST(reader->link_type() == kLinkTypeEthernet);
  BOOST_TEST(reader->nanosecond_file());
  BOOST_TEST(reader->snaplen() == kDefaultSnaplen);
  expect_frames(*reader, frames);
  BOOST_TEST(reader->frames_read() == frames.size());
}

BOOST_AUTO_TEST_CASE(file_header_is_nanosecond_ethernet) {
  const fs::path path = scratch_dir() / "header.pcap";
  {
    auto writer = PcapWriter::open(path.string());
    BOOST_REQUIRE(writer.ok());
    const std::vector<std::uint8_t> frame(60, 0xab);
    BOOST_REQUIRE(writer->write(Instant::from_nanos(3'000'000'007), Bytes(frame)).ok());
  }  // the destructor flushes and closes
  const auto bytes = read_file(path);
  BOOST_REQUIRE(bytes.size() == 24 + 16 + 60);
  BOOST_TEST(load_le32(&bytes[0]) == 0xa1b23c4du);  // nanosecond magic
  BOOST_TEST(load_le32(&bytes[20]) == 1u);           // LINKTYPE_ETHERNET
  BOOST_TEST(load_le32(&bytes[24]) == 3u);           // seconds
  BOOST_TEST(load_le32(&bytes[28]) == 7u);           // nanoseconds
  BOOST_TEST(load_le32(&bytes[32]) == 60u);          // caplen
  BOOST_TEST(load_le32(&bytes[36]) == 60u);          // len
}

BOOST_AUTO_TEST_CASE(memory_writer_is_byte_identical_to_file_writer) {
  const fs::path path = scratch_dir() / "memory_twin.pcap";
  const auto frames = sample_frames();
  auto file_writer = PcapWriter::open(path.string());
  auto memory_writer = PcapWriter::open_memory();
  BOOST_REQUIRE(file_writer.ok());
  BOOST_REQUIRE(memory_writer.ok());
  BOOST_TEST(memory_writer->is_memory());
  BOOST_TEST(memory_writer->memory_bytes().size() == 24u);  // the header is there before any frame
  write_all(*file_writer, frames);
  write_all(*memory_writer, frames);
  BOOST_REQUIRE(file_writer->close().ok());
  const auto before_close = memory_writer->memory_bytes();
  BOOST_REQUIRE(memory_writer->close().ok());
  const auto after_close = memory_writer->memory_bytes();
  const auto on_disk = read_file(path);
  BOOST_TEST(before_close == on_disk);
  BOOST_TEST(after_close == on_disk);

  // Moving the writer keeps the memory stream valid (its state lives on the heap).
  auto moved_from = PcapWriter::open_memory();
  BOOST_REQUIRE(moved_from.ok());
  PcapWriter moved = std::move(*moved_from);
  write_all(moved, frames);
  BOOST_TEST(moved.memory_bytes() == on_disk);

  auto reader = PcapReader::open_memory(Bytes(after_close));
  BOOST_REQUIRE(reader.ok());
  expect_frames(*reader, frames);
}

BOOST_AUTO_TEST_CASE(snap_length_truncates_and_keeps_original_length) {
  auto writer = PcapWriter::open_memory(64);
  BOOST_REQUIRE(writer.ok());
  std::vector<std::uint8_t> frame(100);
  for (std::size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<std::uint8_t>(i);
  BOOST_REQUIRE(writer->write(Instant::from_nanos(5), Bytes(frame)).ok());
  const auto bytes = writer->memory_bytes();
  auto reader = PcapReader::open_memory(Bytes(bytes));
  BOOST_REQUIRE(reader.ok());
  BOOST_TEST(reader->snaplen() == 64u);
  auto rec = reader->next();
  BOOST_REQUIRE(rec.ok() && rec->has_value());
  BOOST_TEST((*rec)->data.size() == 64u);
  BOOST_TEST((*rec)->orig_len == 100u);
  BOOST_TEST(std::vector<std::uint8_t>((*rec)->data.begin(), (*rec)->data.end()) ==
             std::vector<std::uint8_t>(frame.begin(), frame.begin() + 64));
}

BOOST_AUTO_TEST_CASE(writer_rejects_bad_arguments_and_writes_after_close) {
  auto writer = PcapWriter::open_memory();
  BOOST_REQUIRE(writer.ok());
  const std::vector<std::uint8_t> frame(20, 1);
  auto negative = writer->write(Instant::from_nanos(-1), Bytes(frame));
  BOOST_REQUIRE(!negative.ok());
  BOOST_TEST(negative.error().code == Errc::invalid_argument);
  auto short_orig = writer->write(Instant::epoch(), Bytes(frame), 19);
  BOOST_REQUIRE(!short_orig.ok());
  BOOST_TEST(short_orig.error().code == Errc::invalid_argument);
  BOOST_TEST(writer->frames_written() == 0u);
  BOOST_REQUIRE(writer->close().ok());
  auto late = writer->write(Instant::epoch(), Bytes(frame));
  BOOST_REQUIRE(!late.ok());
  BOOST_TEST(late.error().code == Errc::invalid_state);
}

BOOST_AUTO_TEST_CASE(writer_error_names_the_file) {
  const std::string path = (scratch_dir() / "no-such-dir" / "x.pcap").string();
  auto writer = PcapWriter::open(path);
  BOOST_REQUIRE(!writer.ok());
  BOOST_TEST(contains(writer.error().message, path), writer.error().message);
}

BOOST_AUTO_TEST_CASE(reader_scales_microsecond_files_to_nanoseconds) {
  for (bool big_endian : {false, true}) {
    auto bytes = file_header(0xa1b2c3d4, 1);
    const std::vector<std::uint8_t> data = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    append_record(bytes, 1'700'000'000, 123'456, data, static_cast<std::uint32_t>(data.size()));
    if (big_endian) {  // byte-swap every 32-bit header field (and the two 16-bit version fields)
      auto swap32 = [&](std::size_t at) { store_be32(&bytes[at], load_le32(&bytes[at])); };
      auto swap16 = [&](std::size_t at) { store_be16(&bytes[at], load_le16(&bytes[at])); };
      swap32(0); swap16(4); swap16(6); swap32(8); swap32(12); swap32(16); swap32(20);
      swap32(24); swap32(28); swap32(32); swap32(36);
    }
    const fs::path path = scratch_dir() / (big_endian ? "micro_be.pcap" : "micro_le.pcap");
    write_file(path, bytes);
    auto reader = PcapReader::open(path.string());
    BOOST_REQUIRE_MESSAGE(reader.ok(), (reader.ok() ? "" : reader.error().message));
    BOOST_TEST(!reader->nanosecond_file());
    auto rec = reader->next();
    BOOST_REQUIRE(rec.ok() && rec->has_value());
    BOOST_TEST((*rec)->ts.ns() == 1'700'000'000'123'456'000, "big endian " << big_endian);
    BOOST_TEST(std::vector<std::uint8_t>((*rec)->data.begin(), (*rec)->data.end()) == data);
  }
}

BOOST_AUTO_TEST_CASE(reader_rejects_non_ethernet_link_types_by_name) {
  const fs::path path = scratch_dir() / "raw_ip.pcap";
  auto bytes = file_header(0xa1b23c4d, 101);  // LINKTYPE_RAW
  append_record(bytes, 0, 0, std::vector<std::uint8_t>(20, 0x45), 20);
  write_file(path, bytes);
  auto reader = PcapReader::open(path.string());
  BOOST_REQUIRE(!reader.ok());
  BOOST_TEST(reader.error().code == Errc::unsupported);
  BOOST_TEST(contains(reader.error().message, path.string()), reader.error().message);
  BOOST_TEST(contains(reader.error().message, "not Ethernet"), reader.error().message);
  BOOST_TEST(contains(reader.error().message, "(RAW)"), reader.error().message);  // libpcap maps LINKTYPE 101 to DLT_RAW
}

BOOST_AUTO_TEST_CASE(reader_errors_name_the_file) {
  const std::string missing = (scratch_dir() / "missing.pcap").string();
  fs::remove(missing);
  auto absent = PcapReader::open(missing);
  BOOST_REQUIRE(!absent.ok());
  BOOST_TEST(absent.error().code == Errc::not_found);
  BOOST_TEST(contains(absent.error().message, missing), absent.error().message);

  const fs::path garbage = scratch_dir() / "garbage.pcap";
  write_file(garbage, std::vector<std::uint8_t>(64, 0x5a));
  auto bad = PcapReader::open(garbage.string());
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(contains(bad.error().message, garbage.string()), bad.error().message);

  const fs::path tiny = scratch_dir() / "tiny.pcap";
  write_file(tiny, {0xd4, 0xc3});
  auto short_header = PcapReader::open(tiny.string());
  BOOST_REQUIRE(!short_header.ok());
  BOOST_TEST(short_header.error().code == Errc::truncated);
  BOOST_TEST(contains(short_header.error().message, tiny.string()), short_header.error().message);

  auto empty = PcapReader::open_memory(Bytes());
  BOOST_REQUIRE(!empty.ok());
  BOOST_TEST(contains(empty.error().message, "<memory>"));
}

BOOST_AUTO_TEST_CASE(truncated_record_is_an_error_naming_file_and_record) {
  const fs::path path = scratch_dir() / "cut.pcap";
  auto bytes = file_header(0xa1b23c4d, 1);
  const std::vector<std::uint8_t> whole(30, 7);
  append_record(bytes, 1, 2, whole, 30);
  append_record(bytes, 1, 3, whole, 30);
  bytes.resize(bytes.size() - 10);  // the second record loses its tail
  write_file(path, bytes);
  auto reader = PcapReader::open(path.string());
  BOOST_REQUIRE(reader.ok());
  auto first = reader->next();
  BOOST_REQUIRE(first.ok() && first->has_value());
  BOOST_TEST((*first)->ts.ns() == 1'000'000'002);
  auto second = reader->next();
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.error().code == Errc::truncated);
  BOOST_TEST(contains(second.error().message, path.string()), second.error().message);
  BOOST_TEST(contains(second.error().message, "record 2"), second.error().message);
}
