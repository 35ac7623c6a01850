// hyperkit vmnet transport (docs/architecture.md §Transports; the protocol VPNKit
// speaks with hyperkit's virtio-net-vpnkit device). All integers little-endian.
//
// Theory of operation (one VM connection at a time on a listening unix socket)
//   awaiting_init     the client sends Init (49 bytes: "VMN3T", u32 version, 40-byte
//                     commit); a wrong magic closes the connection. We answer with our
//                     own Init (version 22). The client's version is recorded
//                     (VifInfo::client_version), not enforced: hyperkit checks ours.
//   awaiting_command  the client sends a Command (41 bytes: u8 type, 36-byte UUID, u32
//                     IPv4 used by type 8). Type 1 (Ethernet) and 8 (Preferred_ipv4) get
//                     a Vif response (258 bytes: u8 1, u16 mtu, u16 max_packet_size =
//                     mtu+50, 6-byte MAC, zero padding); any other type gets Disconnect
//                     (u8 2, u8 length, message) and the connection is closed.
//   frames            u16 length + Ethernet frame, both ways. Frames from the VM longer
//                     than mtu+14 (or empty) are dropped and counted, as VPNKit does.
// The handshake reads exactly the bytes each message needs (the client waits for our
// answer before sending more), so no frame byte is ever consumed by it.
// The MAC is derived from the UUID (SipHash under a fixed key, locally administered,
// unicast), so a VM that reconnects, or a daemon that restarts, gives it the same MAC;
// the owner reads vif() on on_link_up to pin the VM's IP to the UUID in DHCP.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/result.h"
#include "stack/posix/event_loop.h"
#include "stack/posix/frame_stream.h"
#include "stack/posix/socket_util.h"
#include "stack/posix/transport.h"
#include "stack/wire/addr.h"

namespace tapwire::posix::vmnet {

inline constexpr std::size_t kInitSize = 49;
inline constexpr std::size_t kCommandSize = 41;
inline constexpr std::size_t kResponseSize = 258;
inline constexpr std::size_t kUuidSize = 36;
inline constexpr std::uint32_t kVersion = 22;

enum class CommandType : std::uint8_t { ethernet = 1, bind_ipv4 = 6, preferred_ipv4 = 8 };
enum class ResponseType : std::uint8_t { vif = 1, disconnect = 2 };

// The MAC a VM with this UUID gets (deterministic; locally administered, unicast).
wire::MacAddr mac_for_uuid(std::string_view uuid);

void write_init(std::uint8_t* out /* kInitSize */, std::string_view commit);
void write_vif_response(std::uint8_t* out /* kResponseSize */, std::uint16_t mtu, const wire::MacAddr& mac);
void write_disconnect_response(std::uint8_t* out /* kResponseSize */, std::string_view message);

}  // namespace tapwire::posix::vmnet

namespace tapwire::posix {

struct VmnetConfig {
  std::uint16_t mtu = 1500;
  std::size_t out_capacity = 1 << 20;
  std::size_t max_reads_per_wakeup = 64;
};

struct VifInfo {
  std::string uuid;
  wire::MacAddr mac;
  std::optional<wire::Ipv4Addr> preferred_ip;  // from a type-8 command
  std::uint32_t client_version = 0;
};

class VmnetTransport final : public VmTransport, public IoHandler, public DeferredWork {
 public:
  static Result<std::unique_ptr<VmnetTransport>> listen(EventLoop& loop, const std::string& path,
                                                        VmnetConfig config = {});
  // An already connected client (tests).
  static Result<std::unique_ptr<VmnetTransport>> adopt(EventLoop& loop, UniqueFd connected, VmnetConfig config = {});
  ~VmnetTransport() override;

  MutBytes egress(std::size_t len) override;
  void commit(std::size_t len) override;
  void flush() override;

  bool attached() const override { return conn_.valid() && phase_ == Phase::frames; }
  // The attached VM's identity (nullptr before the handshake completes).
  const VifInfo* vif() const { return attached() ? &vif_ : nullptr; }
  std::uint64_t rejected() const { return rejected_; }
  void disconnect(Instant now, const char* reason);

  void on_io(Instant now, std::uint64_t tag, std::uint32_t events) override;
  bool has_deferred() const override { return (conn_.valid() && more_to_read_) || broken_; }
  void run_deferred(Instant now) override;

 private:
  enum class Phase { awaiting_init, awaiting_command, frames };
  VmnetTransport(EventLoop& loop, VmnetConfig config);
  Status attach(UniqueFd fd);
  void accept_all(Instant now);
  void read_some(Instant now);
  // Returns false when the connection was closed.
  bool handshake(Instant now);
  bool send_all(const std::uint8_t* data, std::size_t len);

  EventLoop& loop_;
  VmnetConfig config_;
  FrameStream stream_;
  UniqueFd listener_;
  Registration listener_reg_;
  std::string owned_path_;
  UniqueFd conn_;
  Registration conn_reg_;
  Phase phase_ = Phase::awaiting_init;
  std::array<std::uint8_t, vmnet::kInitSize> hs_{};
  std::size_t hs_len_ = 0;
  VifInfo vif_;
  bool more_to_read_ = false;
  bool broken_ = false;
  NoPeerDiscard no_peer_;  // frames while no VM is attached
  std::uint64_t rejected_ = 0;
};

}  // namespace tapwire::posix
