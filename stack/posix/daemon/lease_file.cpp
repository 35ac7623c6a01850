#include "stack/posix/daemon/lease_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "stack/config/json_reader.h"
#include "stack/posix/daemon/cli.h"

namespace tapwire::daemon {

namespace {

using nlohmann::json;

std::string hex_of(const proxy::DhcpClientId& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

std::optional<proxy::DhcpClientId> bytes_of(const std::string& hex) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.empty() || hex.size() % 2 != 0) return std::nullopt;
  proxy::DhcpClientId out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return out;
}

void read_lease(config::JsonReader& r, const config::JsonNode& n, proxy::DhcpLeaseSnapshot& out) {
  if (!r.object(n, {"mac", "ip", "client_id", "state"})) return;
  proxy::DhcpLeaseSnapshot lease;
  if (auto mac = r.required(n, "mac")) r.read(*mac, lease.mac);
  if (auto ip = r.required(n, "ip")) r.read(*ip, lease.ip);
  std::string text;
  if (auto id = r.required(n, "client_id")) {
    r.read(*id, text);
    auto bytes = bytes_of(text);
    if (!r.failed() && !bytes) r.fail(id->path, "expected hex bytes like \"01025000000042\"");
    if (bytes) lease.client = *bytes;
  }
  if (auto state = r.required(n, "state")) {
    r.read(*state, text);
    auto parsed = proxy::dhcp_lease_state_from_string(text);
    if (!r.failed() && (!parsed || *parsed == proxy::DhcpLeaseState::declined)) {
      r.fail(state->path, "expected offered, bound or released, got " + config::json_quote(text));
    }
    if (parsed) lease.state = *parsed;
  }
  if (!r.failed()) out = lease;
}

}  // namespace

std::string lease_file_text(const std::vector<proxy::DhcpLeaseSnapshot>& leases) {
  json rows = json::array();
  for (const proxy::DhcpLeaseSnapshot& l : leases) {
    rows.push_back(json{{"mac", l.mac.to_string()},
                        {"ip", l.ip.to_string()},
                        {"client_id", hex_of(l.client)},
                        {"state", std::string(proxy::to_string(l.state))}});
  }
  return json{{"version", 1}, {"leases", rows}}.dump(1) + "\n";
}

config::ConfigResult<std::vector<proxy::DhcpLeaseSnapshot>> parse_lease_file(const std::string& text,
                                                                             const std::string& origin) {
  auto parsed = config::parse_json_text(text, origin);
  if (!parsed) return parsed.error();
  config::JsonReader r(origin);
  config::JsonNode root{&parsed.value(), "$"};
  std::vector<proxy::DhcpLeaseSnapshot> leases;
  if (r.object(root, {"version", "leases"})) {
    int version = 0;
    if (auto v = r.required(root, "version")) r.read_int(*v, 1, 1, version);
    if (auto list = r.required(root, "leases")) r.read_list(*list, leases, read_lease);
  }
  if (r.failed()) return *r.error();
  return leases;
}

LeaseFileContents load_lease_file(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return {};
  std::string error;
  auto text = read_text_file(path, error);
  if (!text) return LeaseFileContents{{}, path + ": cannot read: " + error + "; starting with no leases"};
  auto leases = parse_lease_file(*text, path);
  if (!leases) return LeaseFileContents{{}, leases.error().to_string() + "; starting with no leases"};
  return LeaseFileContents{std::move(leases.value()), std::nullopt};
}

std::optional<std::string> write_lease_file(const std::string& path,
                                            const std::vector<proxy::DhcpLeaseSnapshot>& leases) {
  const std::string tmp = path + ".tmp";
  const std::string text = lease_file_text(leases);
  auto failed = [&](const char* what) { return path + ": cannot " + what + ": " + std::strerror(errno); };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return failed("create the temporary file");
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto err = failed("write the temporary file");
      ::close(fd);
      ::unlink(tmp.c_str());
      return err;
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    auto err = failed("flush the temporary file");
    ::unlink(tmp.c_str());
    return err;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = failed("rename the temporary file");
    ::unlink(tmp.c_str());
    return err;
  }
  return std::nullopt;
}

}  // namespace tapwire::daemon
