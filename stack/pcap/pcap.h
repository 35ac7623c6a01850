// Capture files in the classic pcap format (Ethernet link type, nanosecond
// timestamps), read and written through libpcap.
//
// PcapWriter writes to a file or to memory (the simulator's `capture()` hands pcap
// bytes to Python); both go through libpcap's dumper, so the two outputs are the
// same bytes. PcapReader accepts microsecond and nanosecond captures (libpcap scales
// microsecond stamps to nanoseconds) and rejects every link type but Ethernet.
//
// Errors here may allocate: opening and reading files is not a per-frame data path
// in the proxy sense, and a message that names the file is worth a string. So this
// module's results carry a PcapError (Result<T, PcapError>, stack/base/result.h)
// rather than the static-reason tapwire::Error.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/base/time.h"

namespace tapwire::pcap {

// Ethernet header (14) + one 802.1Q tag (4) + the largest IPv4 datagram.
inline constexpr std::uint32_t kDefaultSnaplen = 65535 + 18;
inline constexpr int kLinkTypeEthernet = 1;  // DLT_EN10MB / LINKTYPE_ETHERNET

struct PcapError {
  Errc code;
  std::string message;  // names the file, e.g. "pcap: /tmp/x.pcap: link type 101 (RAW) is not Ethernet"
};

// One captured frame. `data` points into the reader's buffer and stays valid until
// the next call to PcapReader::next() (or the reader is destroyed).
struct PcapRecord {
  Instant ts;
  Bytes data;              // the captured bytes (caplen)
  std::uint32_t orig_len;  // the frame's length on the wire (>= data.size())
};

class PcapWriter {
 public:
  // Creates (truncates) `path` and writes the file header.
  static Result<PcapWriter, PcapError> open(const std::string& path, std::uint32_t snaplen = kDefaultSnaplen);
  // Writes into an in-memory buffer; take the bytes with memory_bytes().
  static Result<PcapWriter, PcapError> open_memory(std::uint32_t snaplen = kDefaultSnaplen);

  PcapWriter(PcapWriter&&) noexcept;
  PcapWriter& operator=(PcapWriter&&) noexcept;
  ~PcapWriter();

  // Appends one frame. Frames longer than the snap length are truncated, with the
  // full length recorded. `orig_len` (the length on the wire) defaults to
  // frame.size() and may not be smaller than it. ts must not be negative.
  Result<void, PcapError> write(Instant ts, Bytes frame, std::optional<std::uint32_t> orig_len = std::nullopt);
  Result<void, PcapError> flush();
  // Flushes and closes; later writes fail. The memory contents remain readable.
  Result<void, PcapError> close();

  bool is_open() const;
  bool is_memory() const;
  const std::string& path() const;  // "<memory>" for the in-memory variant
  std::uint64_t frames_written() const;
  // The whole capture so far (file header included); empty for file writers.
  std::vector<std::uint8_t> memory_bytes();

 private:
  struct Impl;
  explicit PcapWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class PcapReader {
 public:
  static Result<PcapReader, PcapError> open(const std::string& path);
  // Reads a capture held in memory (e.g. PcapWriter::memory_bytes()); the bytes are copied.
  static Result<PcapReader, PcapError> open_memory(Bytes capture);

  PcapReader(PcapReader&&) noexcept;
  PcapReader& operator=(PcapReader&&) noexcept;
  ~PcapReader();

  // The next frame, std::nullopt at the end of the file, or an error (truncated
  // record, read failure) naming the file and the record number.
  Result<std::optional<PcapRecord>, PcapError> next();

  int link_type() const;        // always kLinkTypeEthernet for an opened reader
  std::uint32_t snaplen() const;
  // True when the file stored nanosecond stamps (magic a1b23c4d), false for microseconds.
  bool nanosecond_file() const;
  const std::string& path() const;
  std::uint64_t frames_read() const;

 private:
  struct Impl;
  explicit PcapReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tapwire::pcap
