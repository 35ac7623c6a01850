// DHCPv4 parse/emit (RFC 2131 §2-§3, RFC 2132, RFC 3396, RFC 3397). See dhcp.h for
// the canonical emit order and the concatenation rule.
#include "stack/wire/dhcp.h"

#include <algorithm>

namespace tapwire::wire {

namespace {

constexpr std::size_t kMaxOptionChunk = 255;

// ---- option parsing helpers ---------------------------------------------------

Result<Ipv4Addr> one_address(const std::vector<std::uint8_t>& data, const char* reason) {
  if (data.size() != 4) return make_error(Errc::malformed, reason);
  return Ipv4Addr::from_bytes(data.data());
}

// RFC 2132 §3.5, §3.8: minimum length 4, multiples of 4.
Result<std::vector<Ipv4Addr>> address_list(const std::vector<std::uint8_t>& data, const char* reason) {
  if (data.empty() || data.size() % 4 != 0) return make_error(Errc::malformed, reason);
  std::vector<Ipv4Addr> out;
  for (std::size_t i = 0; i < data.size(); i += 4) out.push_back(Ipv4Addr::from_bytes(data.data() + i));
  return out;
}

// Interprets one known option from its concatenated data.
Status apply_known(std::uint8_t code, const std::vector<std::uint8_t>& data, DhcpOptions& o) {
  namespace opt = dhcp_option;
  switch (code) {
    case opt::subnet_mask: {
      TW_TRY(auto a, one_address(data, "dhcp: subnet mask length != 4"));
      o.subnet_mask = a;
      break;
    }
    case opt::routers: {
      TW_TRY(auto list, address_list(data, "dhcp: routers length not a positive multiple of 4"));
      o.routers = std::move(list);
      break;
    }
    case opt::dns_servers: {
      TW_TRY(auto list, address_list(data, "dhcp: DNS servers length not a positive multiple of 4"));
      o.dns_servers = std::move(list);
      break;
    }
    case opt::host_name:
      o.host_name = std::string(data.begin(), data.end());
      break;
    case opt::domain_name:
      o.domain_name = std::string(data.begin(), data.end());
      break;
    case opt::interface_mtu:
      if (data.size() != 2) return make_error(Errc::malformed, "dhcp: interface MTU length != 2");
      o.interface_mtu = load_be16(data.data());
      break;
    case opt::broadcast_address: {
      TW_TRY(auto a, one_address(data, "dhcp: broadcast address length != 4"));
      o.broadcast_address = a;
      break;
    }
    case opt::requested_ip: {
      TW_TRY(auto a, one_address(data, "dhcp: requested IP length != 4"));
      o.requested_ip = a;
      break;
    }
    case opt::lease_time:
      if (data.size() != 4) return make_error(Errc::malformed, "dhcp: lease time length != 4");
      o.lease_time = load_be32(data.data());
      break;
    case opt::message_type:
      if (data.size() != 1) return make_error(Errc::malformed, "dhcp: message type length != 1");
      o.message_type = static_cast<DhcpMessageType>(data[0]);
      break;
    case opt::server_id: {
      TW_TRY(auto a, one_address(data, "dhcp: server identifier length != 4"));
      o.server_id = a;
      break;
    }
    case opt::parameter_request_list:
      o.parameter_request_list = data;
      break;
    case opt::client_id:
      o.client_id = data;
      break;
    case opt::domain_search:
      o.domain_search = data;
      break;
    default:
      break;
  }
  return {};
}

// ---- option emission ----------------------------------------------------------

class OptionWriter {
 public:
  explicit OptionWriter(std::uint8_t* p) : p_(p) {}
  // With no output pointer the writer only measures. Data longer than 255 bytes is
  // split into consecutive instances of the same code (RFC 3396 §7).
  void put(std::uint8_t code, Bytes data) {
    std::size_t done = 0;
    do {
      const std::size_t chunk = std::min(kMaxOptionChunk, data.size() - done);
      if (p_ != nullptr) {
        p_[len_] = code;
        p_[len_ + 1] = static_cast<std::uint8_t>(chunk);
        std::copy_n(data.data() + done, chunk, p_ + len_ + 2);
      }
      len_ += 2 + chunk;
      done += chunk;
    } while (done < data.size());
  }
  void put_address(std::uint8_t code, Ipv4Addr a) {
    std::uint8_t b[4];
    a.write(b);
    put(code, Bytes(b, 4));
  }
  void put_addresses(std::uint8_t code, const std::vector<Ipv4Addr>& list) {
    if (list.empty()) return;
    std::vector<std::uint8_t> b(list.size() * 4);
    for (std::size_t i = 0; i < list.size(); ++i) list[i].write(b.data() + 4 * i);
    put(code, Bytes(b));
  }
  void put_string(std::uint8_t code, const std::string& s) {
    put(code, Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
  }
  std::size_t len() const { return len_; }

 private:
  std::uint8_t* p_;
  std::size_t len_ = 0;
};

// The canonical order of dhcp.h: 53, the other known codes ascending, unknown, END.
void write_options(const DhcpOptions& o, OptionWriter& w) {
  namespace opt = dhcp_option;
  if (o.message_type) {
    const std::uint8_t t = static_cast<std::uint8_t>(*o.message_type);
    w.put(opt::message_type, Bytes(&t, 1));
  }
  if (o.subnet_mask) w.put_address(opt::subnet_mask, *o.subnet_mask);
  w.put_addresses(opt::routers, o.routers);
  w.put_addresses(opt::dns_servers, o.dns_servers);
  if (o.host_name) w.put_string(opt::host_name, *o.host_name);
  if (o.domain_name) w.put_string(opt::domain_name, *o.domain_name);
  if (o.interface_mtu) {
    std::uint8_t b[2];
    store_be16(b, *o.interface_mtu);
    w.put(opt::interface_mtu, Bytes(b, 2));
  }
  if (o.broadcast_address) w.put_address(opt::broadcast_address, *o.broadcast_address);
  if (o.requested_ip) w.put_address(opt::requested_ip, *o.requested_ip);
  if (o.lease_time) {
    std::uint8_t b[4];
    store_be32(b, *o.lease_time);
    w.put(opt::lease_time, Bytes(b, 4));
  }
  if (o.server_id) w.put_address(opt::server_id, *o.server_id);
  if (o.parameter_request_list) w.put(opt::parameter_request_list, Bytes(*o.parameter_request_list));
  if (o.client_id) w.put(opt::client_id, Bytes(*o.client_id));
  if (o.domain_search) w.put(opt::domain_search, Bytes(*o.domain_search));
  for (const auto& u : o.unknown) w.put(u.code, Bytes(u.data));
}

std::size_t options_wire_len(const DhcpOptions& o) {
  OptionWriter measure(nullptr);
  write_options(o, measure);
  return measure.len();
}

}  // namespace

bool dhcp_option::is_known(std::uint8_t code) {
  switch (code) {
    case pad: case subnet_mask: case routers: case dns_servers: case host_name: case domain_name:
    case interface_mtu: case broadcast_address: case requested_ip: case lease_time: case message_type:
    case server_id: case parameter_request_list: case client_id: case domain_search: case end:
      return true;
    default:
      return false;
  }
}

// ---- DhcpPacket ----------------------------------------------------------------

Result<DhcpPacket> DhcpPacket::check(Bytes bytes) {
  if (bytes.size() < kDhcpMinLen) return make_error(Errc::truncated, "dhcp: shorter than BOOTP header + cookie");
  if (load_be32(bytes.data() + kBootpFixedLen) != kDhcpMagicCookie)
    return make_error(Errc::bad_version, "dhcp: magic cookie is not 99.130.83.99");
  if (bytes[2] > 16) return make_error(Errc::bad_length, "dhcp: hlen > 16");
  return DhcpPacket(bytes);
}

// ---- DhcpRepr ------------------------------------------------------------------

Result<DhcpRepr> DhcpRepr::parse(const DhcpPacket& packet) {
  DhcpRepr r;
  if (packet.op() != 1 && packet.op() != 2) return make_error(Errc::malformed, "dhcp: op is neither 1 nor 2");
  r.op = static_cast<DhcpOp>(packet.op());
  r.htype = packet.htype();
  r.hlen = packet.hlen();
  r.hops = packet.hops();
  r.xid = packet.xid();
  r.secs = packet.secs();
  r.flags = packet.flags();
  r.ciaddr = packet.ciaddr();
  r.yiaddr = packet.yiaddr();
  r.siaddr = packet.siaddr();
  r.giaddr = packet.giaddr();
  std::copy_n(packet.chaddr().data(), r.chaddr.size(), r.chaddr.data());
  std::copy_n(packet.sname().data(), r.sname.size(), r.sname.data());
  std::copy_n(packet.file().data(), r.file.size(), r.file.data());

  // Pass 1: walk the options (RFC 2132 §2), concatenating repeats per code (RFC 3396 §7)
  // and remembering the order of first appearance.
  const Bytes area = packet.options();
  std::vector<std::vector<std::uint8_t>> data(256);
  std::vector<bool> seen(256, false);
  std::vector<std::uint8_t> order;
  std::size_t i = 0;
  bool ended = false;
  while (i < area.size()) {
    const std::uint8_t code = area[i];
    if (code == dhcp_option::pad) {
      ++i;
      continue;
    }
    if (code == dhcp_option::end) {
      ended = true;
      ++i;
      break;
    }
    if (i + 1 >= area.size()) return make_error(Errc::truncated, "dhcp: option length byte missing");
    const std::size_t len = area[i + 1];
    if (len > area.size() - i - 2) return make_error(Errc::truncated, "dhcp: option runs past the end");
    if (!seen[code]) {
      seen[code] = true;
      order.push_back(code);
    }
    data[code].insert(data[code].end(), area.begin() + static_cast<std::ptrdiff_t>(i + 2),
                      area.begin() + static_cast<std::ptrdiff_t>(i + 2 + len));
    i += 2 + len;
  }
  if (!ended) return make_error(Errc::truncated, "dhcp: no END option");
  r.padding = area.size() - i;

  // Pass 2: interpret.
  for (std::uint8_t code : order) {
    if (dhcp_option::is_known(code)) {
      Status s = apply_known(code, data[code], r.options);
      if (!s.ok()) return s.error();
    } else {
      r.options.unknown.push_back(DhcpRawOption{code, std::move(data[code])});
    }
  }
  return r;
}

std::size_t DhcpRepr::buffer_len() const { return kDhcpMinLen + options_wire_len(options) + 1 + padding; }

void DhcpRepr::emit(MutBytes out) const {
  std::uint8_t* p = out.data();
  p[0] = static_cast<std::uint8_t>(op);
  p[1] = htype;
  p[2] = hlen;
  p[3] = hops;
  store_be32(p + 4, xid);
  store_be16(p + 8, secs);
  store_be16(p + 10, flags);
  ciaddr.write(p + 12);
  yiaddr.write(p + 16);
  siaddr.write(p + 20);
  giaddr.write(p + 24);
  std::copy(chaddr.begin(), chaddr.end(), p + 28);
  std::copy(sname.begin(), sname.end(), p + 44);
  std::copy(file.begin(), file.end(), p + 108);
  store_be32(p + kBootpFixedLen, kDhcpMagicCookie);
  OptionWriter w(p + kDhcpMinLen);
  write_options(options, w);
  std::uint8_t* q = p + kDhcpMinLen + w.len();
  *q++ = dhcp_option::end;
  std::fill_n(q, padding, std::uint8_t{0});
}

std::vector<std::uint8_t> DhcpRepr::to_bytes() const {
  std::vector<std::uint8_t> out(buffer_len());
  emit(MutBytes(out));
  return out;
}

void DhcpRepr::set_client_mac(MacAddr mac) {
  htype = 1;
  hlen = 6;
  chaddr.fill(0);
  mac.write(chaddr.data());
}

void DhcpRepr::pad_to_bootp_minimum() {
  const std::size_t len = buffer_len();
  if (len < kBootpMinMessageLen) padding += kBootpMinMessageLen - len;
}

// ---- RFC 3397 domain search ------------------------------------------------------

Result<std::vector<std::uint8_t>> encode_domain_search(const std::vector<std::string>& names) {
  std::vector<std::uint8_t> out;
  for (std::string_view name : names) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty()) return make_error(Errc::invalid_argument, "dhcp: empty search domain");
    const std::size_t start = out.size();
    std::size_t pos = 0;
    while (pos <= name.size()) {
      std::size_t dot = name.find('.', pos);
      if (dot == std::string_view::npos) dot = name.size();
      const std::size_t label_len = dot - pos;
      if (label_len == 0) return make_error(Errc::invalid_argument, "dhcp: empty label in search domain");
      if (label_len > 63) return make_error(Errc::invalid_argument, "dhcp: search domain label > 63 bytes");
      out.push_back(static_cast<std::uint8_t>(label_len));
      out.insert(out.end(), name.begin() + static_cast<std::ptrdiff_t>(pos),
                 name.begin() + static_cast<std::ptrdiff_t>(dot));
      pos = dot + 1;
    }
    out.push_back(0);
    if (out.size() - start > 255) return make_error(Errc::invalid_argument, "dhcp: search domain > 255 bytes");
  }
  return out;
}

Result<std::vector<std::string>> decode_domain_search(Bytes data) {
  std::vector<std::string> names;
  std::size_t next = 0;  // where the next name starts
  while (next < data.size()) {
    std::string name;
    std::size_t wire_len = 1;  // the final zero octet
    std::size_t pos = next;
    std::size_t hops = 0;
    bool jumped = false;
    while (true) {
      if (pos >= data.size()) return make_error(Errc::malformed, "dhcp: search name runs past the option");
      const std::uint8_t len = data[pos];
      if (len == 0) {
        if (!jumped) next = pos + 1;
        break;
      }
      if ((len & 0xc0) == 0xc0) {
        // Compression pointer (RFC 1035 §4.1.4): strictly backwards, bounded hops.
        if (pos + 1 >= data.size()) return make_error(Errc::malformed, "dhcp: search pointer truncated");
        const std::size_t target = (static_cast<std::size_t>(len & 0x3f) << 8) | data[pos + 1];
        if (target >= pos) return make_error(Errc::malformed, "dhcp: search pointer does not point backwards");
        if (++hops > 127) return make_error(Errc::malformed, "dhcp: too many search pointer hops");
        if (!jumped) next = pos + 2;
        jumped = true;
        pos = target;
        continue;
      }
      if ((len & 0xc0) != 0) return make_error(Errc::malformed, "dhcp: reserved label type in search name");
      if (pos + 1 + len > data.size()) return make_error(Errc::malformed, "dhcp: search label runs past the option");
      wire_len += 1 + len;
      if (wire_len > 255) return make_error(Errc::malformed, "dhcp: search name > 255 bytes");
      const auto* label = reinterpret_cast<const char*>(data.data() + pos + 1);
      if (std::find(label, label + len, '.') != label + len)
        return make_error(Errc::malformed, "dhcp: '.' inside a search label");
      if (!name.empty()) name.push_back('.');
      name.append(label, len);
      pos += 1 + len;
    }
    if (name.empty()) return make_error(Errc::malformed, "dhcp: root name in search list");
    names.push_back(std::move(name));
  }
  return names;
}

// ---- message builders ------------------------------------------------------------

Result<DhcpRepr> make_dhcp_reply(const DhcpRepr& request, DhcpMessageType type, const DhcpLease& lease) {
  // RFC 2131 §4.3.1 Table 3: fields and options of a server's reply.
  DhcpRepr r;
  r.op = DhcpOp::reply;
  r.htype = request.htype;
  r.hlen = request.hlen;
  r.xid = request.xid;
  r.flags = request.flags;
  r.giaddr = request.giaddr;
  r.chaddr = request.chaddr;
  r.options.message_type = type;
  r.options.server_id = lease.server_ip;
  const bool inform = request.options.message_type == DhcpMessageType::inform;
  if (type != DhcpMessageType::nak) {
    if (inform) {
      r.ciaddr = request.ciaddr;  // §4.3.5: no yiaddr, no lease time
    } else {
      r.yiaddr = lease.client_ip;
      r.options.lease_time = lease.lease_seconds;
    }
    r.options.subnet_mask = lease.subnet_mask;
    const Ipv4Addr client = inform ? request.ciaddr : lease.client_ip;
    r.options.broadcast_address = Ipv4Addr{client.value | ~lease.subnet_mask.value};
    r.options.routers = lease.routers;
    r.options.dns_servers = lease.dns_servers;
    r.options.domain_name = lease.domain_name;
    r.options.interface_mtu = lease.mtu;
    if (!lease.domain_search.empty()) {
      TW_TRY(auto search, encode_domain_search(lease.domain_search));
      r.options.domain_search = std::move(search);
    }
  }
  r.pad_to_bootp_minimum();
  return r;
}

namespace {

DhcpRepr client_message(MacAddr mac, std::uint32_t xid, DhcpMessageType type) {
  namespace opt = dhcp_option;
  DhcpRepr r;
  r.op = DhcpOp::request;
  r.xid = xid;
  r.set_client_mac(mac);
  r.options.message_type = type;
  r.options.parameter_request_list =
      std::vector<std::uint8_t>{opt::subnet_mask, opt::routers, opt::dns_servers, opt::domain_name,
                                opt::interface_mtu, opt::broadcast_address, opt::domain_search};
  std::vector<std::uint8_t> id(7);
  id[0] = 1;  // hardware type Ethernet (RFC 2132 §9.14)
  mac.write(id.data() + 1);
  r.options.client_id = std::move(id);
  r.pad_to_bootp_minimum();
  return r;
}

}  // namespace

DhcpRepr make_dhcp_discover(MacAddr mac, std::uint32_t xid) {
  return client_message(mac, xid, DhcpMessageType::discover);
}

DhcpRepr make_dhcp_request(MacAddr mac, std::uint32_t xid, Ipv4Addr requested, Ipv4Addr server_id) {
  // RFC 2131 §4.3.2 SELECTING state: requested IP and server identifier, ciaddr 0.
  DhcpRepr r = client_message(mac, xid, DhcpMessageType::request);
  r.options.requested_ip = requested;
  r.options.server_id = server_id;
  r.padding = 0;
  r.pad_to_bootp_minimum();
  return r;
}

}  // namespace tapwire::wire
