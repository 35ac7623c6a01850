// PcapWriter / PcapReader over libpcap. Theory of operation:
//
// Writer: a "dead" pcap_t (no capture device) fixes the link type (Ethernet), the
// snap length and nanosecond precision; pcap_dump_fopen then writes the file header
// (magic a1b23c4d) and pcap_dump one record per frame. The in-memory variant hands
// libpcap a FILE* from open_memstream, so memory and file captures are produced by
// the same code and are byte-identical.
//
// Reader: the FILE* is opened by us (fopen, or fmemopen over a private copy of the
// bytes) so we can peek at the magic number before libpcap takes the stream over;
// libpcap is asked for nanosecond precision and scales microsecond files up.
#include "stack/pcap/pcap.h"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tapwire::pcap {

namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
constexpr std::uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr std::uint32_t kMagicNano = 0xa1b23c4d;
constexpr const char* kMemoryPath = "<memory>";

PcapError make_pcap_error(Errc code, const std::string& path, const std::string& what) {
  return PcapError{code, "pcap: " + path + ": " + what};
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

// ---------------------------------------------------------------------------------
// Writer

struct PcapWriter::Impl {
  std::string path;
  bool memory = false;
  pcap_t* dead = nullptr;
  pcap_dumper_t* dumper = nullptr;
  std::uint32_t snaplen = kDefaultSnaplen;
  std::uint64_t frames = 0;
  // open_memstream keeps pointers to these two; Impl lives on the heap, so moving
  // the PcapWriter does not move them.
  char* mem_buf = nullptr;
  std::size_t mem_size = 0;

  ~Impl() {
    if (dumper != nullptr) pcap_dump_close(dumper);  // also fcloses the stream
    if (dead != nullptr) pcap_close(dead);
    std::free(mem_buf);
  }
};

PcapWriter::PcapWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PcapWriter::PcapWriter(PcapWriter&&) noexcept = default;
PcapWriter& PcapWriter::operator=(PcapWriter&&) noexcept = default;
PcapWriter::~PcapWriter() = default;

Result<PcapWriter, PcapError> PcapWriter::open(const std::string& path, std::uint32_t snaplen) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->snaplen = snaplen;
  FILE* stream = std::fopen(path.c_str(), "wb");
  if (stream == nullptr) return make_pcap_error(Errc::invalid_argument, path, "cannot create: " + errno_text());
  impl->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, static_cast<int>(snaplen),
                                                    PCAP_TSTAMP_PRECISION_NANO);
  if (impl->dead == nullptr) {
    std::fclose(stream);
    return make_pcap_error(Errc::invalid_state, path, "pcap_open_dead failed");
  }
  impl->dumper = pcap_dump_fopen(impl->dead, stream);
  if (impl->dumper == nullptr) {
    std::string why = pcap_geterr(impl->dead);
    std::fclose(stream);
    return make_pcap_error(Errc::invalid_state, path, "cannot write header: " + why);
  }
  return PcapWriter(std::move(impl));
}

Result<PcapWriter, PcapError> PcapWriter::open_memory(std::uint32_t snaplen) {
  auto impl = std::make_unique<Impl>();
  impl->path = kMemoryPath;
  impl->memory = true;
  impl->snaplen = snaplen;
  FILE* stream = open_memstream(&impl->mem_buf, &impl->mem_size);
  if (stream == nullptr) return make_pcap_error(Errc::limit, kMemoryPath, "open_memstream: " + errno_text());
  impl->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, static_cast<int>(snaplen),
                                                    PCAP_TSTAMP_PRECISION_NANO);
  if (impl->dead == nullptr) {
    std::fclose(stream);
    return make_pcap_error(Errc::invalid_state, kMemoryPath, "pcap_open_dead failed");
  }
  impl->dumper = pcap_dump_fopen(impl->dead, stream);
  if (impl->dumper == nullptr) {
    std::string why = pcap_geterr(impl->dead);
    std::fclose(stream);
    return make_pcap_error(Errc::invalid_state, kMemoryPath, "cannot write header: " + why);
  }
  return PcapWriter(std::move(impl));
}

Result<void, PcapError> PcapWriter::write(Instant ts, Bytes frame, std::optional<std::uint32_t> orig_len) {
  if (!impl_ || impl_->dumper == nullptr)
    return make_pcap_error(Errc::invalid_state, impl_ ? impl_->path : kMemoryPath, "write after close");
  if (ts.ns() < 0) return make_pcap_error(Errc::invalid_argument, impl_->path, "negative timestamp");
  if (frame.size() > UINT32_MAX) return make_pcap_error(Errc::invalid_argument, impl_->path, "frame too large");
  const auto captured = static_cast<std::uint32_t>(frame.size());
  const std::uint32_t wire_len = orig_len.value_or(captured);
  if (wire_len < captured)
    return make_pcap_error(Errc::invalid_argument, impl_->path, "original length smaller than the frame");

  pcap_pkthdr header{};
  // With nanosecond precision libpcap stores tv_usec verbatim as the nanosecond field.
  header.ts.tv_sec = static_cast<time_t>(ts.ns() / kNanosPerSecond);
  header.ts.tv_usec = static_cast<suseconds_t>(ts.ns() % kNanosPerSecond);
  header.caplen = captured < impl_->snaplen ? captured : impl_->snaplen;
  header.len = wire_len;
  pcap_dump(reinterpret_cast<u_char*>(impl_->dumper), &header, frame.data());
  ++impl_->frames;
  return {};
}

Result<void, PcapError> PcapWriter::flush() {
  if (!impl_ || impl_->dumper == nullptr) return {};
  if (pcap_dump_flush(impl_->dumper) != 0)
    return make_pcap_error(Errc::invalid_state, impl_->path, "flush failed: " + errno_text());
  return {};
}

Result<void, PcapError> PcapWriter::close() {
  if (!impl_ || impl_->dumper == nullptr) return {};
  Result<void, PcapError> flushed = flush();
  pcap_dump_close(impl_->dumper);  // fclose: for memory streams this finalizes mem_buf/mem_size
  impl_->dumper = nullptr;
  pcap_close(impl_->dead);
  impl_->dead = nullptr;
  return flushed;
}

bool PcapWriter::is_open() const { return impl_ && impl_->dumper != nullptr; }
bool PcapWriter::is_memory() const { return impl_ && impl_->memory; }
const std::string& PcapWriter::path() const { return impl_->path; }
std::uint64_t PcapWriter::frames_written() const { return impl_ ? impl_->frames : 0; }

std::vector<std::uint8_t> PcapWriter::memory_bytes() {
  if (!impl_ || !impl_->memory) return {};
  if (impl_->dumper != nullptr) pcap_dump_flush(impl_->dumper);  // updates mem_buf / mem_size
  if (impl_->mem_buf == nullptr) return {};
  const auto* begin = reinterpret_cast<const std::uint8_t*>(impl_->mem_buf);
  return std::vector<std::uint8_t>(begin, begin + impl_->mem_size);
}

// ---------------------------------------------------------------------------------
// Reader

struct PcapReader::Impl {
  std::string path;
  pcap_t* handle = nullptr;
  std::vector<std::uint8_t> memory;  // backing store for open_memory
  bool nano = false;
  std::uint64_t frames = 0;

  ~Impl() {
    if (handle != nullptr) pcap_close(handle);  // also fcloses the stream
  }

  // Peeks at the magic number, hands the stream to libpcap (which then owns it) and
  // checks the link type. Takes ownership of `stream` whatever happens.
  Result<void, PcapError> attach(FILE* stream);
};

PcapReader::PcapReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PcapReader::PcapReader(PcapReader&&) noexcept = default;
PcapReader& PcapReader::operator=(PcapReader&&) noexcept = default;
PcapReader::~PcapReader() = default;

Result<PcapReader, PcapError> PcapReader::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  FILE* stream = std::fopen(path.c_str(), "rb");
  if (stream == nullptr) {
    Errc code = errno == ENOENT ? Errc::not_found : Errc::invalid_argument;
    return make_pcap_error(code, path, "cannot open: " + errno_text());
  }
  Result<void, PcapError> attached = impl->attach(stream);
  if (!attached) return attached.error();
  return PcapReader(std::move(impl));
}

Result<PcapReader, PcapError> PcapReader::open_memory(Bytes capture) {
  auto impl = std::make_unique<Impl>();
  impl->path = kMemoryPath;
  impl->memory.assign(capture.begin(), capture.end());
  if (impl->memory.empty()) return make_pcap_error(Errc::truncated, kMemoryPath, "empty capture");
  FILE* stream = fmemopen(impl->memory.data(), impl->memory.size(), "rb");
  if (stream == nullptr) return make_pcap_error(Errc::limit, kMemoryPath, "fmemopen: " + errno_text());
  Result<void, PcapError> attached = impl->attach(stream);
  if (!attached) return attached.error();
  return PcapReader(std::move(impl));
}

Result<void, PcapError> PcapReader::Impl::attach(FILE* stream) {
  std::uint8_t magic[4] = {};
  const std::size_t got = std::fread(magic, 1, sizeof magic, stream);
  if (got < sizeof magic) {
    std::fclose(stream);
    return make_pcap_error(Errc::truncated, path, "shorter than a pcap file header");
  }
  const std::uint32_t be = load_be32(magic);
  const std::uint32_t le = load_le32(magic);
  nano = be == kMagicNano || le == kMagicNano;
  const bool classic = nano || be == kMagicMicro || le == kMagicMicro;
  if (std::fseek(stream, 0, SEEK_SET) != 0) {
    std::fclose(stream);
    return make_pcap_error(Errc::invalid_state, path, "cannot rewind: " + errno_text());
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  handle = pcap_fopen_offline_with_tstamp_precision(stream, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (handle == nullptr) {
    std::fclose(stream);
    return make_pcap_error(classic ? Errc::malformed : Errc::bad_version, path,
                           std::string("not a readable capture: ") + errbuf);
  }
  const int link = pcap_datalink(handle);
  if (link != DLT_EN10MB) {
    const char* name = pcap_datalink_val_to_name(link);
    return make_pcap_error(Errc::unsupported, path,
                           "link type " + std::to_string(link) + " (" + (name ? name : "unknown") +
                               ") is not Ethernet (DLT_EN10MB); only Ethernet captures are supported");
  }
  return {};
}

Result<std::optional<PcapRecord>, PcapError> PcapReader::next() {
  if (!impl_ || impl_->handle == nullptr)
    return make_pcap_error(Errc::invalid_state, impl_ ? impl_->path : kMemoryPath, "reader is closed");
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  const int rc = pcap_next_ex(impl_->handle, &header, &data);
  if (rc == PCAP_ERROR_BREAK) return std::optional<PcapRecord>{};  // end of file
  if (rc != 1) {
    return make_pcap_error(Errc::truncated, impl_->path,
                           "record " + std::to_string(impl_->frames + 1) + ": " + pcap_geterr(impl_->handle));
  }
  ++impl_->frames;
  PcapRecord record;
  // Precision NANO: tv_usec carries nanoseconds for both file flavours.
  record.ts = Instant::from_nanos(static_cast<std::int64_t>(header->ts.tv_sec) * kNanosPerSecond +
                                  static_cast<std::int64_t>(header->ts.tv_usec));
  record.data = Bytes(data, header->caplen);
  record.orig_len = header->len;
  return std::optional<PcapRecord>(record);
}

int PcapReader::link_type() const { return impl_ && impl_->handle ? pcap_datalink(impl_->handle) : -1; }
std::uint32_t PcapReader::snaplen() const {
  return impl_ && impl_->handle ? static_cast<std::uint32_t>(pcap_snapshot(impl_->handle)) : 0;
}
bool PcapReader::nanosecond_file() const { return impl_ && impl_->nano; }
const std::string& PcapReader::path() const { return impl_->path; }
std::uint64_t PcapReader::frames_read() const { return impl_ ? impl_->frames : 0; }

}  // namespace tapwire::pcap
