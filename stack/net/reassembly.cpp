#include "stack/net/reassembly.h"

#include <algorithm>
#include <cstring>

namespace tapwire::net {

namespace {
constexpr std::size_t kNotFound = SIZE_MAX;
constexpr std::size_t kMaxDatagram = wire::kIpv4MaxTotalLen;  // 65535, header included
}  // namespace

Reassembler::Outcome Reassembler::drop(DropReason reason) {
  drops_.add(reason);
  Outcome out;
  out.status = Status::dropped;
  out.reason = reason;
  return out;
}

Reassembler::Outcome Reassembler::drop_entry(std::size_t index, DropReason reason) {
  erase(index);
  return drop(reason);
}

std::size_t Reassembler::find(const wire::Ipv4Repr& ip) const {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (e.ident == ip.ident && e.src == ip.src && e.dst == ip.dst && e.protocol == ip.protocol) return i;
  }
  return kNotFound;
}

void Reassembler::erase(std::size_t index) {
  buffered_bytes_ -= entries_[index].buffer.capacity();
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(index));
}

void Reassembler::clear() {
  entries_.clear();
  buffered_bytes_ = 0;
}

// RFC 815 §3 steps 1-8, plus the end-of-datagram consistency checks. The entry is
// only modified when the fragment fits.
bool Reassembler::fill_holes(Entry& e, std::uint32_t offset, std::uint32_t len, bool more) {
  if (len == 0) {
    // Only a final fragment may be empty (checked by the caller): it just fixes the end.
    if (e.total_len) return false;  // a second "end": identical ones are duplicates
    for (std::size_t i = 0; i < e.holes.size(); ++i) {
      Hole& h = e.holes[i];
      if (h.last != kOpenEnd) continue;
      if (h.first > offset) return false;  // bytes were received beyond this end
      if (h.first == offset) {
        e.holes.erase(e.holes.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        h.last = offset - 1;
      }
      e.total_len = offset;
      return true;
    }
    return false;
  }
  const std::uint32_t first = offset;
  const std::uint32_t last = offset + len - 1;
  for (std::size_t i = 0; i < e.holes.size(); ++i) {
    const Hole h = e.holes[i];
    if (first < h.first || last > h.last) continue;  // step 2/3: not (entirely) in this hole
    if (!more) {
      // The final fragment: nothing may have been received beyond it, so it must sit
      // in the open-ended hole, or end exactly where the known end is.
      if (e.total_len ? last + 1 != *e.total_len : h.last != kOpenEnd) return false;
    }
    // Step 4: delete the hole; steps 5/6: create the pieces left on either side.
    e.holes.erase(e.holes.begin() + static_cast<std::ptrdiff_t>(i));
    if (first > h.first) e.holes.push_back(Hole{h.first, first - 1});
    if (last < h.last && more) e.holes.push_back(Hole{last + 1, h.last});
    if (!more) e.total_len = last + 1;
    return true;
  }
  return false;
}

bool Reassembler::is_duplicate(const Entry& e, std::uint32_t offset, Bytes payload) const {
  for (const Extent& x : e.extents) {
    if (x.offset != offset || x.len != payload.size()) continue;
    if (payload.empty()) return true;
    return std::memcmp(e.buffer.data() + offset, payload.data(), payload.size()) == 0;
  }
  return false;
}

Reassembler::Outcome Reassembler::push(Instant now, const wire::Ipv4Repr& ip, Bytes payload) {
  ++stats_.fragments;
  const std::uint32_t offset = ip.frag_offset;
  const auto len = static_cast<std::uint32_t>(payload.size());
  const bool more = ip.more_frags;
  std::size_t index = find(ip);

  // A datagram cannot exceed 65535 bytes, header included (the "ping of death").
  if (std::size_t{offset} + len + ip.header_len() > kMaxDatagram) {
    if (index != kNotFound) return drop_entry(index, DropReason::fragment_too_big);
    return drop(DropReason::fragment_too_big);
  }
  // RFC 791 §3.2: every fragment but the last carries a multiple of 8 bytes.
  if (more && (len == 0 || len % 8 != 0)) {
    if (index != kNotFound) return drop_entry(index, DropReason::bad_fragment);
    return drop(DropReason::bad_fragment);
  }

  if (index == kNotFound) {
    if (entries_.size() >= config_.max_datagrams) return drop(DropReason::reassembly_full);
    Entry e;
    e.src = ip.src;
    e.dst = ip.dst;
    e.protocol = ip.protocol;
    e.ident = ip.ident;
    e.expires = now + config_.timeout;
    e.holes.push_back(Hole{0, kOpenEnd});
    entries_.push_back(std::move(e));
    index = entries_.size() - 1;
  }
  Entry& e = entries_[index];

  // Make room first (a fragment that does not fit in the budget dooms its datagram),
  // without touching the holes yet.
  const std::size_t need = std::size_t{offset} + len;
  if (need > e.buffer.capacity()) {
    // Reserve the whole datagram once its end is known; otherwise grow geometrically.
    std::size_t want = more ? std::max(need, std::min(2 * e.buffer.capacity(), kMaxDatagram)) : need;
    if (e.total_len) want = std::max(need, std::size_t{*e.total_len});
    if (buffered_bytes_ - e.buffer.capacity() + want > config_.max_bytes)
      return drop_entry(index, DropReason::reassembly_full);
    buffered_bytes_ -= e.buffer.capacity();
    e.buffer.reserve(want);
    buffered_bytes_ += e.buffer.capacity();
  }

  if (!fill_holes(e, offset, len, more)) {
    if (is_duplicate(e, offset, payload)) {
      ++stats_.duplicates;
      return Outcome{};
    }
    return drop_entry(index, DropReason::fragment_overlap);
  }
  if (e.extents.size() >= config_.max_fragments) return drop_entry(index, DropReason::reassembly_full);
  e.extents.push_back(Extent{offset, len});
  if (e.buffer.size() < need) e.buffer.resize(need);
  if (len > 0) std::memcpy(e.buffer.data() + offset, payload.data(), len);
  if (offset == 0) e.first_header = ip;

  if (!e.holes.empty()) return Outcome{};

  // RFC 815 step 8: no hole left, the datagram is complete.
  Outcome out;
  out.status = Status::complete;
  out.header = e.first_header;
  out.header.more_frags = false;
  out.header.frag_offset = 0;
  out.header.payload_len = *e.total_len;
  completed_.swap(e.buffer);
  completed_.resize(*e.total_len);
  out.payload = Bytes(completed_.data(), completed_.size());
  // The swapped-in old buffer goes away with the entry; account for it, not the new one.
  buffered_bytes_ += e.buffer.capacity();
  buffered_bytes_ -= completed_.capacity();
  erase(index);
  ++stats_.completed;
  return out;
}

void Reassembler::poll(Instant now) {
  // Entries are in creation order, which is expiry order (one fixed timeout).
  while (!entries_.empty() && entries_.front().expires <= now) {
    erase(0);
    drops_.add(DropReason::fragment_timeout);
  }
}

std::optional<Instant> Reassembler::poll_at() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.front().expires;
}

}  // namespace tapwire::net
