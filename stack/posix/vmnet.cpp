#include "stack/posix/vmnet.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack/posix/randomness.h"

namespace tapwire::posix {
namespace vmnet {

wire::MacAddr mac_for_uuid(std::string_view uuid) {
  // A fixed key: the MAC must be the same in every daemon run, not secret.
  static constexpr SipKey kKey = {'t', 'a', 'p', 'w', 'i', 'r', 'e', '-', 'v', 'm', 'n', 'e', 't', '-', 'm', 'a'};
  const std::uint64_t h = siphash24(kKey, reinterpret_cast<const std::uint8_t*>(uuid.data()), uuid.size());
  wire::MacAddr mac;
  for (int i = 0; i < 6; ++i) mac.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(h >> (8 * i));
  mac.bytes[0] = static_cast<std::uint8_t>((mac.bytes[0] & 0xfc) | 0x02);  // local, unicast
  return mac;
}

void write_init(std::uint8_t* out, std::string_view commit) {
  std::memset(out, 0, kInitSize);
  std::memcpy(out, "VMN3T", 5);
  store_le32(out + 5, kVersion);
  std::memcpy(out + 9, commit.data(), std::min<std::size_t>(commit.size(), 40));
}

void write_vif_response(std::uint8_t* out, std::uint16_t mtu, const wire::MacAddr& mac) {
  std::memset(out, 0, kResponseSize);
  out[0] = static_cast<std::uint8_t>(ResponseType::vif);
  store_le16(out + 1, mtu);
  store_le16(out + 3, static_cast<std::uint16_t>(mtu + 50));  // max_packet_size
  mac.write(out + 5);
}

void write_disconnect_response(std::uint8_t* out, std::string_view message) {
  std::memset(out, 0, kResponseSize);
  out[0] = static_cast<std::uint8_t>(ResponseType::disconnect);
  const std::size_t len = std::min<std::size_t>(message.size(), kResponseSize - 2);
  out[1] = static_cast<std::uint8_t>(len);
  std::memcpy(out + 2, message.data(), len);
}

}  // namespace vmnet

namespace {

constexpr std::uint64_t kListenerTag = 1;
constexpr std::uint64_t kConnTag = 2;
constexpr std::string_view kCommit = "tapwire";

FrameStreamConfig stream_config(const VmnetConfig& c) {
  FrameStreamConfig f;
  f.prefix = LengthPrefix::le16;
  f.max_frame_in = std::size_t{c.mtu} + 14;
  f.oversize = OversizePolicy::drop;
  f.out_capacity = c.out_capacity;
  f.max_reads_per_wakeup = c.max_reads_per_wakeup;
  return f;
}

}  // namespace

VmnetTransport::VmnetTransport(EventLoop& loop, VmnetConfig config)
    : loop_(loop), config_(config), stream_(stream_config(config)) {
  no_peer_.resize(65535);
  loop_.add_deferred(this);
}

VmnetTransport::~VmnetTransport() {
  loop_.remove_deferred(this);
  loop_.remove(conn_reg_);
  loop_.remove(listener_reg_);
  conn_.reset();
  listener_.reset();
  if (!owned_path_.empty()) unlink_socket_file(owned_path_);
}

Result<std::unique_ptr<VmnetTransport>> VmnetTransport::listen(EventLoop& loop, const std::string& path,
                                                               VmnetConfig config) {
  StreamAddress address;
  address.path = path;
  TW_TRY(UniqueFd fd, listen_stream(address, 4));
  std::unique_ptr<VmnetTransport> t(new VmnetTransport(loop, config));
  TW_TRY(Registration reg, loop.add(fd.get(), Interest{true, false}, t.get(), kListenerTag));
  t->listener_ = std::move(fd);
  t->listener_reg_ = reg;
  t->owned_path_ = path;
  return t;
}

Result<std::unique_ptr<VmnetTransport>> VmnetTransport::adopt(EventLoop& loop, UniqueFd connected,
                                                              VmnetConfig config) {
  std::unique_ptr<VmnetTransport> t(new VmnetTransport(loop, config));
  Status st = set_nonblocking(connected.get());
  if (!st) return st.error();
  st = t->attach(std::move(connected));
  if (!st) return st.error();
  return t;
}

Status VmnetTransport::attach(UniqueFd fd) {
  TW_TRY(Registration reg, loop_.add(fd.get(), Interest{true, true}, this, kConnTag));
  conn_ = std::move(fd);
  conn_reg_ = reg;
  phase_ = Phase::awaiting_init;
  hs_len_ = 0;
  vif_ = VifInfo{};
  broken_ = false;
  more_to_read_ = true;
  ++counters_.connections;
  return {};
}

void VmnetTransport::disconnect(Instant now, const char* reason) {
  if (!conn_) return;
  const bool was_attached = attached();
  loop_.remove(conn_reg_);
  conn_.reset();
  stream_.detach();
  more_to_read_ = false;
  broken_ = false;
  last_error_ = reason;
  if (was_attached && receiver_ != nullptr) receiver_->on_link_down(now, reason);
  if (listener_) accept_all(now);
}

void VmnetTransport::accept_all(Instant now) {
  (void)now;
  for (;;) {
    const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    UniqueFd owned(fd);
    if (conn_) {
      ++rejected_;
      continue;
    }
    (void)attach(std::move(owned));
  }
}

bool VmnetTransport::send_all(const std::uint8_t* data, std::size_t len) {
  // Handshake answers go out on an idle socket: they fit in its buffer at once.
  std::size_t done = 0;
  while (done < len) {
    const ssize_t n = ::send(conn_.get(), data + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool VmnetTransport::handshake(Instant now) {
  while (phase_ != Phase::frames) {
    const std::size_t need = phase_ == Phase::awaiting_init ? vmnet::kInitSize : vmnet::kCommandSize;
    const ssize_t n = ::recv(conn_.get(), hs_.data() + hs_len_, need - hs_len_, MSG_DONTWAIT);
    if (n == 0) {
      disconnect(now, "vmnet: client closed during the handshake");
      return false;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      disconnect(now, "vmnet: read failed during the handshake");
      return false;
    }
    hs_len_ += static_cast<std::size_t>(n);
    if (hs_len_ < need) continue;
    hs_len_ = 0;
    if (phase_ == Phase::awaiting_init) {
      if (std::memcmp(hs_.data(), "VMN3T", 5) != 0) {
        ++counters_.protocol_errors;
        disconnect(now, "vmnet: bad magic in the client's init message");
        return false;
      }
      vif_.client_version = load_le32(hs_.data() + 5);
      std::uint8_t init[vmnet::kInitSize];
      vmnet::write_init(init, kCommit);
      if (!send_all(init, sizeof init)) {
        disconnect(now, "vmnet: could not send our init message");
        return false;
      }
      phase_ = Phase::awaiting_command;
      continue;
    }
    // awaiting_command
    std::uint8_t response[vmnet::kResponseSize];
    const auto type = static_cast<vmnet::CommandType>(hs_[0]);
    if (type != vmnet::CommandType::ethernet && type != vmnet::CommandType::preferred_ipv4) {
      vmnet::write_disconnect_response(response, "unsupported command");
      (void)send_all(response, sizeof response);
      ++counters_.protocol_errors;
      disconnect(now, "vmnet: unsupported command from the client");
      return false;
    }
    vif_.uuid.assign(reinterpret_cast<const char*>(hs_.data() + 1), vmnet::kUuidSize);
    vif_.mac = vmnet::mac_for_uuid(vif_.uuid);
    // The address is a little-endian u32 whose value is the address in host order
    // (VPNKit reads it with LE.get_uint32 and Ipaddr.V4.of_int32).
    if (type == vmnet::CommandType::preferred_ipv4)
      vif_.preferred_ip = wire::Ipv4Addr{load_le32(hs_.data() + 1 + vmnet::kUuidSize)};
    vmnet::write_vif_response(response, config_.mtu, vif_.mac);
    if (!send_all(response, sizeof response)) {
      disconnect(now, "vmnet: could not send the vif response");
      return false;
    }
    phase_ = Phase::frames;
    stream_.attach(conn_.get());
    if (receiver_ != nullptr) receiver_->on_link_up(now);
  }
  return true;
}

void VmnetTransport::read_some(Instant now) {
  more_to_read_ = false;
  if (phase_ != Phase::frames) {
    if (!handshake(now)) return;
    if (phase_ != Phase::frames) return;
  }
  switch (stream_.read_frames(now, receiver_, counters_)) {
    case FrameStream::ReadOutcome::drained: break;
    case FrameStream::ReadOutcome::more: more_to_read_ = true; break;
    case FrameStream::ReadOutcome::eof: disconnect(now, stream_.error_reason()); break;
    case FrameStream::ReadOutcome::error:
      if (conn_) disconnect(now, stream_.error_reason());
      break;
  }
}

void VmnetTransport::on_io(Instant now, std::uint64_t tag, std::uint32_t events) {
  if (tag == kListenerTag) {
    accept_all(now);
    return;
  }
  if (!conn_) return;
  if ((events & io::writable) && phase_ == Phase::frames) {
    if (stream_.has_unsent() && stream_.flush() == FrameStream::FlushOutcome::error) {
      disconnect(now, stream_.error_reason());
      return;
    }
    if (!stream_.has_unsent() && stream_.refused_egress()) {
      stream_.clear_refused();
      if (link_sink_ != nullptr) link_sink_->on_link_writable(now);
    }
  }
  if (conn_ && (events & (io::readable | io::read_hangup | io::hangup | io::error))) read_some(now);
  if (conn_ && broken_) disconnect(now, stream_.error_reason());
}

void VmnetTransport::run_deferred(Instant now) {
  if (conn_ && broken_) {
    disconnect(now, stream_.error_reason());
    return;
  }
  broken_ = false;
  if (conn_ && more_to_read_) read_some(now);
  if (conn_ && broken_) disconnect(now, stream_.error_reason());
}

MutBytes VmnetTransport::egress(std::size_t len) {
  no_peer_.reset();
  if (!attached() || broken_) return no_peer_.lend(len);
  return stream_.egress(len, counters_);
}

void VmnetTransport::commit(std::size_t len) {
  if (no_peer_.take_commit(counters_)) return;
  stream_.commit(len, counters_);
}

void VmnetTransport::flush() {
  if (!attached() || broken_) return;
  if (stream_.flush() == FrameStream::FlushOutcome::error) broken_ = true;
}

}  // namespace tapwire::posix
