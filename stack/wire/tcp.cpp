// TCP segment view, option parsing and canonical option emission. See tcp.h for the
// option layout emit() produces (it mirrors Linux's tcp_options_write order).
#include "stack/wire/tcp.h"

#include <algorithm>

namespace tapwire::wire {

namespace {

// Option kinds and lengths (RFC 9293 §3.2, RFC 7323 §2.2 and §3.2, RFC 2018 §2 and §3).
constexpr std::uint8_t kOptEnd = 0;
constexpr std::uint8_t kOptNop = 1;
constexpr std::uint8_t kOptMss = 2;
constexpr std::uint8_t kOptWindowScale = 3;
constexpr std::uint8_t kOptSackPermitted = 4;
constexpr std::uint8_t kOptSack = 5;
constexpr std::uint8_t kOptTimestamps = 8;
constexpr std::uint8_t kLenMss = 4;
constexpr std::uint8_t kLenWindowScale = 3;
constexpr std::uint8_t kLenSackPermitted = 2;
constexpr std::uint8_t kLenTimestamps = 10;
constexpr std::size_t kSackBlockLen = 8;

// Unpadded length of the option layout (see tcp.h). `aligned` is the Linux layout with
// its NOPs; the compact layout (no NOPs) is the fallback when that does not fit.
std::size_t unpadded_options_len(const TcpOptions& o, bool aligned) {
  std::size_t n = 0;
  if (o.mss) n += kLenMss;
  if (aligned) {
    if (o.timestamps) n += 12;                           // (SACK-perm | NOP NOP) + TS
    else if (o.sack_permitted) n += 4;                   // NOP NOP SACK-perm
    if (o.window_scale) n += 4;                          // NOP WS
    if (o.sack_count > 0) n += 4 + kSackBlockLen * o.sack_count;  // NOP NOP SACK
  } else {
    if (o.sack_permitted) n += kLenSackPermitted;
    if (o.timestamps) n += kLenTimestamps;
    if (o.window_scale) n += kLenWindowScale;
    if (o.sack_count > 0) n += 2 + kSackBlockLen * o.sack_count;
  }
  n += o.unknown_len;
  return n;
}

std::size_t padded(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// Whether emit uses the aligned (Linux) layout: whenever it fits in 40 bytes.
bool use_aligned_layout(const TcpOptions& o) { return padded(unpadded_options_len(o, true)) <= kTcpMaxOptionsLen; }

// Parses the option area (RFC 9293 §3.1 "Options"; §3.2 for the list rules).
Status parse_options(Bytes area, TcpOptions& out) {
  std::size_t i = 0;
  while (i < area.size()) {
    const std::uint8_t kind = area[i];
    if (kind == kOptEnd) break;  // End of Option List: the rest is padding
    if (kind == kOptNop) {
      ++i;
      continue;
    }
    if (i + 1 >= area.size()) return make_error(Errc::malformed, "tcp: option length byte missing");
    const std::uint8_t len = area[i + 1];
    if (len < 2) return make_error(Errc::malformed, "tcp: option length < 2");
    if (len > area.size() - i) return make_error(Errc::malformed, "tcp: option runs past the header");
    const std::uint8_t* data = area.data() + i + 2;
    switch (kind) {
      case kOptMss:
        if (len != kLenMss) return make_error(Errc::malformed, "tcp: MSS option length != 4");
        out.mss = load_be16(data);
        break;
      case kOptWindowScale:
        if (len != kLenWindowScale) return make_error(Errc::malformed, "tcp: window scale option length != 3");
        out.window_scale = data[0];
        break;
      case kOptSackPermitted:
        if (len != kLenSackPermitted) return make_error(Errc::malformed, "tcp: SACK-permitted option length != 2");
        out.sack_permitted = true;
        break;
      case kOptSack: {
        // RFC 2018 §3: length 2 + 8n; n >= 1 (the 40-byte option area allows n <= 4).
        const std::size_t body = static_cast<std::size_t>(len) - 2;
        if (body == 0 || body % kSackBlockLen != 0 || body / kSackBlockLen > out.sack.size())
          return make_error(Errc::malformed, "tcp: SACK option length not 2 + 8n (n = 1..4)");
        out.sack_count = static_cast<std::uint8_t>(body / kSackBlockLen);
        for (std::size_t b = 0; b < out.sack_count; ++b) {
          out.sack[b].left = load_be32(data + b * kSackBlockLen);
          out.sack[b].right = load_be32(data + b * kSackBlockLen + 4);
        }
        for (std::size_t b = out.sack_count; b < out.sack.size(); ++b) out.sack[b] = SackBlock{};
        break;
      }
      case kOptTimestamps:
        if (len != kLenTimestamps) return make_error(Errc::malformed, "tcp: timestamps option length != 10");
        out.timestamps = TcpTimestamps{load_be32(data), load_be32(data + 4)};
        break;
      default:
        // Unknown kind: kept verbatim, in order. Fits: the option area is <= 40 bytes.
        std::copy_n(area.data() + i, len, out.unknown.data() + out.unknown_len);
        out.unknown_len = static_cast<std::uint8_t>(out.unknown_len + len);
        break;
    }
    i += len;
  }
  return {};
}

// Writes the layout of tcp.h into exactly encoded_len() bytes.
void emit_options(const TcpOptions& o, std::uint8_t* p, std::size_t padded_len) {
  std::uint8_t* const start = p;
  const bool aligned = use_aligned_layout(o);
  if (o.mss) {
    *p++ = kOptMss;
    *p++ = kLenMss;
    store_be16(p, *o.mss);
    p += 2;
  }
  if (o.sack_permitted && (o.timestamps || !aligned)) {
    *p++ = kOptSackPermitted;
    *p++ = kLenSackPermitted;
  } else if (aligned && (o.timestamps || o.sack_permitted)) {
    *p++ = kOptNop;
    *p++ = kOptNop;
    if (!o.timestamps) {
      *p++ = kOptSackPermitted;
      *p++ = kLenSackPermitted;
    }
  }
  if (o.timestamps) {
    *p++ = kOptTimestamps;
    *p++ = kLenTimestamps;
    store_be32(p, o.timestamps->value);
    store_be32(p + 4, o.timestamps->echo);
    p += 8;
  }
  if (o.window_scale) {
    if (aligned) *p++ = kOptNop;
    *p++ = kOptWindowScale;
    *p++ = kLenWindowScale;
    *p++ = *o.window_scale;
  }
  if (o.sack_count > 0) {
    const std::size_t n = std::min<std::size_t>(o.sack_count, o.sack.size());
    if (aligned) {
      *p++ = kOptNop;
      *p++ = kOptNop;
    }
    *p++ = kOptSack;
    *p++ = static_cast<std::uint8_t>(2 + kSackBlockLen * n);
    for (std::size_t b = 0; b < n; ++b) {
      store_be32(p, o.sack[b].left);
      store_be32(p + 4, o.sack[b].right);
      p += kSackBlockLen;
    }
  }
  p = std::copy_n(o.unknown.data(), std::min<std::size_t>(o.unknown_len, o.unknown.size()), p);
  // End of Option List, then zero padding up to the 32-bit boundary (RFC 9293 §3.1).
  std::fill(p, start + padded_len, std::uint8_t{0});
}

}  // namespace

std::size_t TcpOptions::encoded_len() const {
  return padded(unpadded_options_len(*this, use_aligned_layout(*this)));
}

bool TcpOptions::operator==(const TcpOptions& o) const {
  if (mss != o.mss || window_scale != o.window_scale || sack_permitted != o.sack_permitted ||
      sack_count != o.sack_count || timestamps != o.timestamps || unknown_len != o.unknown_len)
    return false;
  const std::size_t blocks = std::min<std::size_t>(sack_count, sack.size());
  const std::size_t unknown_bytes = std::min<std::size_t>(unknown_len, unknown.size());
  return std::equal(sack.begin(), sack.begin() + static_cast<std::ptrdiff_t>(blocks), o.sack.begin()) &&
         std::equal(unknown.begin(), unknown.begin() + static_cast<std::ptrdiff_t>(unknown_bytes), o.unknown.begin());
}

// ---- TcpSegment ----------------------------------------------------------------

Result<TcpSegment> TcpSegment::check(Bytes bytes) {
  if (bytes.size() < kTcpHeaderLen) return make_error(Errc::truncated, "tcp: shorter than the 20-byte header");
  const std::size_t offset_words = bytes[12] >> 4;
  if (offset_words < 5) return make_error(Errc::bad_length, "tcp: data offset < 5");
  if (offset_words * 4 > bytes.size()) return make_error(Errc::truncated, "tcp: data offset past the end");
  return TcpSegment(bytes);
}

std::uint16_t TcpSegment::src_port() const { return load_be16(bytes_.data()); }
std::uint16_t TcpSegment::dst_port() const { return load_be16(bytes_.data() + 2); }
std::uint32_t TcpSegment::seq() const { return load_be32(bytes_.data() + 4); }
std::uint32_t TcpSegment::ack() const { return load_be32(bytes_.data() + 8); }
std::size_t TcpSegment::header_len() const { return static_cast<std::size_t>(bytes_[12] >> 4) * 4; }
std::uint8_t TcpSegment::flags() const { return bytes_[13]; }
std::uint16_t TcpSegment::window() const { return load_be16(bytes_.data() + 14); }
std::uint16_t TcpSegment::checksum() const { return load_be16(bytes_.data() + 16); }
std::uint16_t TcpSegment::urgent() const { return load_be16(bytes_.data() + 18); }
Bytes TcpSegment::options() const { return bytes_.subspan(kTcpHeaderLen, header_len() - kTcpHeaderLen); }
Bytes TcpSegment::payload() const { return bytes_.subspan(header_len()); }

bool TcpSegment::verify_checksum(Ipv4Addr src, Ipv4Addr dst) const {
  // A segment longer than 65535 bytes cannot come from IPv4; it fails here.
  if (bytes_.size() > 0xffff) return false;
  Checksum c = Checksum::pseudo_header(src, dst, kIpProtoTcp, static_cast<std::uint16_t>(bytes_.size()));
  c.add(bytes_);
  return c.verifies();
}

// ---- TcpRepr -------------------------------------------------------------------

std::uint32_t TcpRepr::seq_len() const {
  std::uint32_t n = static_cast<std::uint32_t>(payload.size());
  if (has(tcp_flags::SYN)) ++n;
  if (has(tcp_flags::FIN)) ++n;
  return n;
}

Result<TcpRepr> TcpRepr::parse(const TcpSegment& seg, Ipv4Addr src, Ipv4Addr dst, ChecksumPolicy policy) {
  if (policy == ChecksumPolicy::verify && !seg.verify_checksum(src, dst))
    return make_error(Errc::bad_checksum, "tcp: bad checksum");
  TcpRepr r;
  r.src_port = seg.src_port();
  r.dst_port = seg.dst_port();
  r.seq = seg.seq();
  r.ack = seg.ack();
  r.flags = seg.flags();
  r.window = seg.window();
  r.urgent = seg.urgent();
  Status options = parse_options(seg.options(), r.options);
  if (!options.ok()) return options.error();
  r.payload = seg.payload();
  return r;
}

void TcpRepr::emit(MutBytes out, Ipv4Addr src, Ipv4Addr dst) const {
  const std::size_t options_len = options.encoded_len();
  const std::size_t hl = kTcpHeaderLen + options_len;
  std::uint8_t* p = out.data();
  store_be16(p, src_port);
  store_be16(p + 2, dst_port);
  store_be32(p + 4, seq);
  store_be32(p + 8, ack);
  p[12] = static_cast<std::uint8_t>((hl / 4) << 4);  // data offset; reserved bits zero
  p[13] = flags;
  store_be16(p + 14, window);
  store_be16(p + 16, 0);
  store_be16(p + 18, urgent);
  emit_options(options, p + kTcpHeaderLen, options_len);
  std::copy(payload.begin(), payload.end(), p + hl);

  const std::size_t total = hl + payload.size();
  Checksum c = Checksum::pseudo_header(src, dst, kIpProtoTcp, static_cast<std::uint16_t>(total));
  c.add(Bytes(p, total));
  store_be16(p + 16, c.finish());
}

bool TcpRepr::operator==(const TcpRepr& o) const {
  return src_port == o.src_port && dst_port == o.dst_port && seq == o.seq && ack == o.ack && flags == o.flags &&
         window == o.window && urgent == o.urgent && options == o.options &&
         std::equal(payload.begin(), payload.end(), o.payload.begin(), o.payload.end());
}

}  // namespace tapwire::wire
