// IPv4 fragment reassembly (RFC 791 §3.2 "reassembly", with the hole-descriptor
// bookkeeping of RFC 815).
//
// Theory of operation
// - A partial datagram is keyed by (source, destination, protocol, identification)
//   (RFC 791 §3.2). The first fragment of a key creates an entry with an expiry of
//   `now + timeout`; the timer is never extended, so a trickle of fragments cannot keep
//   an entry alive forever. Because every entry gets the same timeout and `now` never
//   goes backwards, entries expire in creation order: they are kept in creation order
//   and poll_at() reads the first one (O(1)).
// - Each entry holds its payload buffer (grown on demand, at most 65535 bytes), a list
//   of holes (RFC 815: [first, last] byte ranges not yet received; initially one hole
//   [0, infinity]) and the extents of the fragments received (for duplicate detection).
//   A fragment must fall entirely inside one hole: that hole is replaced by the parts
//   left on either side. The fragment without MF fixes the datagram's length and cuts
//   the open-ended hole there. The datagram is complete when no hole is left.
// - A fragment that covers the exact bytes of an earlier fragment with identical
//   content is a harmless duplicate (links duplicate frames): it is ignored and
//   counted in stats().duplicates. Any other overlap, and any fragment inconsistent
//   with the known end of the datagram, discards the whole datagram and counts
//   fragment_overlap: we never decide which copy of overlapping data is right (the
//   policy RFC 5722 mandates for IPv6 and RFC 8200 §4.5 keeps; it defeats overlap-
//   based IDS evasion and the old teardrop-style attacks).
// - Bounds: at most max_datagrams entries, at most max_bytes of buffers in total, at
//   most max_fragments fragments per datagram, and no byte beyond 65535 in the
//   reassembled datagram (header included). A fragment for a new datagram while
//   full is dropped (reassembly_full); a fragment that would push the byte total over
//   the limit discards its datagram (reassembly_full), since it could not complete.
// - The fragment with offset 0 supplies the header of the reassembled datagram (its
//   options included, RFC 791 §3.2); MF and the offset are cleared.
// - poll(now) discards expired entries (fragment_timeout). No ICMP time exceeded is
//   generated (RFC 792 code 1 is optional for hosts).
//
// Memory: one buffer allocation per reassembled datagram (fragments are rare); no
// allocation for fragments that are dropped before an entry exists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/time.h"
#include "stack/net/drop_counters.h"
#include "stack/wire/ipv4.h"

namespace tapwire::net {

struct ReassemblyConfig {
  Duration timeout = Duration::seconds(30);  // RFC 791 suggests 15 s; VPNKit and Linux use 30 s
  std::size_t max_datagrams = 64;            // concurrent partial datagrams
  std::size_t max_bytes = 1u << 20;          // all reassembly buffers together
  std::size_t max_fragments = 64;            // per datagram (bounds work per fragment)
};

struct ReassemblyStats {
  std::uint64_t fragments = 0;    // fragments offered to push()
  std::uint64_t completed = 0;    // datagrams delivered whole
  std::uint64_t duplicates = 0;   // exact duplicate fragments ignored
};

class Reassembler {
 public:
  enum class Status {
    incomplete,  // fragment accepted (or an exact duplicate ignored); nothing to deliver yet
    complete,    // `header` and `payload` hold the reassembled datagram
    dropped,     // the fragment (and possibly its datagram) was discarded; `reason` says why
  };
  struct Outcome {
    Status status = Status::incomplete;
    DropReason reason = DropReason::count_;  // meaningful when dropped
    wire::Ipv4Repr header;                   // complete: the first fragment's header, MF and offset cleared
    Bytes payload;                           // complete: valid until the next call on this Reassembler
  };

  explicit Reassembler(ReassemblyConfig config = {}) : config_(config) {}

  // Offers one fragment (`ip.is_fragment()` must be true; `payload` is its payload,
  // ip.payload_len bytes). Drops are counted in drops().
  Outcome push(Instant now, const wire::Ipv4Repr& ip, Bytes payload);

  // Discards every entry whose timer has run out (counted as fragment_timeout).
  void poll(Instant now);
  // The next expiry, or nullopt when nothing is being reassembled.
  std::optional<Instant> poll_at() const;

  // For leak checks and stats.
  std::size_t entries() const { return entries_.size(); }
  std::size_t buffered_bytes() const { return buffered_bytes_; }
  const DropCounters& drops() const { return drops_; }
  const ReassemblyStats& stats() const { return stats_; }
  const ReassemblyConfig& config() const { return config_; }
  // Discards all state (counted as nothing): for shutdown and tests.
  void clear();

 private:
  static constexpr std::uint32_t kOpenEnd = UINT32_MAX;  // "infinity" of RFC 815

  struct Hole {
    std::uint32_t first;
    std::uint32_t last;  // inclusive; kOpenEnd while the final fragment is unknown
  };
  struct Extent {
    std::uint32_t offset;
    std::uint32_t len;
  };
  struct Entry {
    wire::Ipv4Addr src;
    wire::Ipv4Addr dst;
    std::uint8_t protocol = 0;
    std::uint16_t ident = 0;
    Instant expires;
    std::vector<std::uint8_t> buffer;  // payload bytes; size() = highest byte seen + 1
    std::vector<Hole> holes;
    std::vector<Extent> extents;
    std::optional<std::uint32_t> total_len;  // payload length, known once the MF=0 fragment arrived
    wire::Ipv4Repr first_header;             // from the offset-0 fragment
  };

  Outcome drop(DropReason reason);
  Outcome drop_entry(std::size_t index, DropReason reason);
  std::size_t find(const wire::Ipv4Repr& ip) const;
  void erase(std::size_t index);
  // Places [offset, offset+len) into the entry's holes. Returns false on overlap
  // (or inconsistency with the known end).
  static bool fill_holes(Entry& e, std::uint32_t offset, std::uint32_t len, bool more);
  bool is_duplicate(const Entry& e, std::uint32_t offset, Bytes payload) const;

  ReassemblyConfig config_;
  std::vector<Entry> entries_;  // in creation order == expiry order
  std::size_t buffered_bytes_ = 0;
  std::vector<std::uint8_t> completed_;  // the last reassembled payload (Outcome::payload)
  DropCounters drops_;
  ReassemblyStats stats_;
};

}  // namespace tapwire::net
