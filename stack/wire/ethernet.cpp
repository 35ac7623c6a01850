#include "stack/wire/ethernet.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace tapwire::wire {

std::uint16_t VlanTag::tci() const {
  return static_cast<std::uint16_t>((std::uint16_t{pcp} & 0x7) << 13 | (dei ? 0x1000 : 0) | (id & 0x0fff));
}

VlanTag VlanTag::from_tci(std::uint16_t tci) {
  return VlanTag{static_cast<std::uint16_t>(tci & 0x0fff), static_cast<std::uint8_t>(tci >> 13), (tci & 0x1000) != 0};
}

// Layout: dst(6) src(6) type(2) | dst(6) src(6) 0x8100(2) TCI(2) type(2).
Result<EthernetFrame> EthernetFrame::check(Bytes bytes) {
  if (bytes.size() < kEthernetHeaderLen) return make_error(Errc::truncated, "ethernet: shorter than 14 bytes");
  if (load_be16(bytes.data() + 12) == kEthertypeVlan) {
    if (bytes.size() < kEthernetHeaderLen + kVlanTagLen)
      return make_error(Errc::truncated, "ethernet: 802.1Q tag cut short");
    return EthernetFrame(bytes, kEthernetHeaderLen + kVlanTagLen);
  }
  return EthernetFrame(bytes, kEthernetHeaderLen);
}

MacAddr EthernetFrame::dst() const { return MacAddr::from_bytes(bytes_.data()); }
MacAddr EthernetFrame::src() const { return MacAddr::from_bytes(bytes_.data() + 6); }
std::uint16_t EthernetFrame::ethertype() const { return load_be16(bytes_.data() + header_len_ - 2); }

std::optional<VlanTag> EthernetFrame::vlan() const {
  if (header_len_ == kEthernetHeaderLen) return std::nullopt;
  return VlanTag::from_tci(load_be16(bytes_.data() + 14));
}

Result<EthernetRepr> EthernetRepr::parse(const EthernetFrame& frame) {
  EthernetRepr r;
  r.dst = frame.dst();
  r.src = frame.src();
  r.ethertype = frame.ethertype();
  r.vlan = frame.vlan();
  r.payload = frame.payload();
  return r;
}

MutBytes EthernetRepr::emit_header(MutBytes out) const {
  assert(out.size() >= header_len());
  std::uint8_t* p = out.data();
  dst.write(p);
  src.write(p + 6);
  if (vlan) {
    store_be16(p + 12, kEthertypeVlan);
    store_be16(p + 14, vlan->tci());
    store_be16(p + 16, ethertype);
  } else {
    store_be16(p + 12, ethertype);
  }
  return out.subspan(header_len());
}

void EthernetRepr::emit(MutBytes out) const {
  assert(out.size() == buffer_len());
  MutBytes rest = emit_header(out);
  if (!payload.empty() && payload.data() != rest.data()) std::memmove(rest.data(), payload.data(), payload.size());
}

bool EthernetRepr::operator==(const EthernetRepr& o) const {
  return dst == o.dst && src == o.src && ethertype == o.ethertype && vlan == o.vlan &&
         std::equal(payload.begin(), payload.end(), o.payload.begin(), o.payload.end());
}

}  // namespace tapwire::wire
