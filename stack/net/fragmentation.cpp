#include "stack/net/fragmentation.h"

#include <algorithm>
#include <cstring>

namespace tapwire::net {

namespace {
constexpr std::uint8_t kOptionEnd = 0;   // End of Option List
constexpr std::uint8_t kOptionNop = 1;   // No Operation
constexpr std::uint8_t kOptionCopied = 0x80;
}  // namespace

// RFC 791 §3.1 "Options": type octet (copied flag, class, number); types 0 and 1 are
// single octets, every other option is type, length (counting type and length), data.
Ipv4Options copied_options(const std::uint8_t* options, std::size_t len) {
  Ipv4Options out;
  std::size_t n = 0;
  std::size_t i = 0;
  while (i < len) {
    const std::uint8_t type = options[i];
    if (type == kOptionEnd) break;
    if (type == kOptionNop) {
      ++i;
      continue;  // padding is not worth copying
    }
    if (i + 1 >= len) return Ipv4Options{};
    const std::size_t opt_len = options[i + 1];
    if (opt_len < 2 || i + opt_len > len) return Ipv4Options{};
    if ((type & kOptionCopied) != 0 && n + opt_len <= out.bytes.size()) {
      std::memcpy(out.bytes.data() + n, options + i, opt_len);
      n += opt_len;
    }
    i += opt_len;
  }
  // Pad with End of Option List to a 4-byte boundary (the array is already zero).
  out.len = static_cast<std::uint8_t>((n + 3) / 4 * 4);
  return out;
}

FragmentPlan::FragmentPlan(const wire::Ipv4Repr& datagram, std::size_t mtu) : datagram_(datagram) {
  rest_options_ = copied_options(datagram.options.data(), datagram.options_len);
  const std::size_t first_header = datagram.header_len();
  const std::size_t rest_header = wire::kIpv4HeaderLen + rest_options_.len;
  if (datagram.buffer_len() <= mtu) {
    fits_ = true;
    valid_ = true;
    count_ = 1;
    first_chunk_ = datagram.payload_len;
    return;
  }
  if (datagram.dont_frag || mtu < first_header + 8 || mtu < rest_header + 8) return;
  first_chunk_ = (mtu - first_header) / 8 * 8;
  rest_chunk_ = (mtu - rest_header) / 8 * 8;
  const std::size_t remaining = datagram.payload_len - first_chunk_;  // > 0: it did not fit
  count_ = 1 + (remaining + rest_chunk_ - 1) / rest_chunk_;
  valid_ = true;
}

FragmentPlan::Fragment FragmentPlan::at(std::size_t payload_offset) const {
  Fragment f;
  f.header = datagram_;
  f.payload_offset = payload_offset;
  if (fits_) {
    f.payload_len = datagram_.payload_len;
    return f;
  }
  const std::size_t chunk = payload_offset == 0 ? first_chunk_ : rest_chunk_;
  f.payload_len = std::min(chunk, datagram_.payload_len - std::min(payload_offset, datagram_.payload_len));
  const bool last = payload_offset + f.payload_len >= datagram_.payload_len;
  f.header.frag_offset = datagram_.frag_offset + static_cast<std::uint32_t>(payload_offset);
  f.header.more_frags = last ? datagram_.more_frags : true;
  f.header.payload_len = f.payload_len;
  if (payload_offset != 0) {
    f.header.options = rest_options_.bytes;
    f.header.options_len = rest_options_.len;
  }
  return f;
}

void FragmentPlan::emit(const Fragment& fragment, Bytes payload, MutBytes out) {
  MutBytes body = fragment.header.emit_header(out);
  if (fragment.payload_len > 0)
    std::memcpy(body.data(), payload.data() + fragment.payload_offset, fragment.payload_len);
}

}  // namespace tapwire::net
