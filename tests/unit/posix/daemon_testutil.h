// Running the `tapwire` binary from a test: a temporary folder, a child process with
// its output in files, bounded waits, a unix socket client and a control-socket client.
#pragma once

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace tapwire::daemon_test {

inline const std::string kBinary = std::string(TAPWIRE_BINARY_DIR) + "/bin/tapwire";

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/tw-daemon-cli-XXXXXX";
    const char* p = ::mkdtemp(tmpl);
    BOOST_REQUIRE(p != nullptr);
    path = p;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Child {
  pid_t pid = -1;
  std::string out_path, err_path;
};

// `nofile`: the child's RLIMIT_NOFILE (soft and hard) when given, as `prlimit --nofile=N`.
inline Child spawn(const std::vector<std::string>& args, const TempDir& dir, const std::string& tag,
                   std::optional<rlim_t> nofile = std::nullopt) {
  Child c;
  c.out_path = dir.file(tag + ".out");
  c.err_path = dir.file(tag + ".err");
  c.pid = ::fork();
  BOOST_REQUIRE(c.pid >= 0);
  if (c.pid == 0) {
    int out = ::open(c.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(c.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (nofile) {
      const rlimit limit{*nofile, *nofile};
      if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(126);
    }
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kBinary.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(kBinary.c_str(), argv.data());
    ::_exit(127);
  }
  return c;
}

// Waits (bounded) for the child; returns its exit code, or -1 after killing it.
inline int wait_exit(const Child& c, int timeout_ms = 10000) {
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    int status = 0;
    pid_t r = ::waitpid(c.pid, &status, WNOHANG);
    if (r == c.pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(c.pid, SIGKILL);
  ::waitpid(c.pid, nullptr, 0);
  return -1;
}

struct Run {
  int code;
  std::string out, err;
};

inline Run run(const std::vector<std::string>& args) {
  TempDir dir;
  Child c = spawn(args, dir, "run");
  int code = wait_exit(c);
  return Run{code, slurp(c.out_path), slurp(c.err_path)};
}

inline bool wait_for_file(const std::string& path, int timeout_ms = 5000) {
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    if (::access(path.c_str(), F_OK) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Connects to a daemon's Unix socket. The file appears at bind(), a moment before the
// daemon's listen(): ECONNREFUSED until then, so refusals are retried for up to 5 s.
inline int connect_unix(const std::string& path, int type) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  int fd = -1;
  for (int waited = 0;; waited += 10) {
    fd = ::socket(AF_UNIX, type, 0);
    BOOST_REQUIRE(fd >= 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    const int err = errno;
    ::close(fd);
    BOOST_REQUIRE_MESSAGE((err == ECONNREFUSED || err == ENOENT) && waited < 5000,
                          "connect " << path << ": " << std::strerror(err));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Reads exactly n bytes (bounded by the socket's receive timeout).
inline std::vector<unsigned char> read_exactly(int fd, std::size_t n) {
  std::vector<unsigned char> out(n);
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd, out.data() + got, n - got, 0);
    BOOST_REQUIRE(r > 0);
    got += static_cast<std::size_t>(r);
  }
  return out;
}

// A connected control-socket client with line reads (JSON answers; null when the
// daemon closed the connection or did not answer within the receive timeout).
struct ControlClient {
  int fd = -1;
  std::string buf;
  explicit ControlClient(const std::string& path) : fd(connect_unix(path, SOCK_STREAM)) {}
  ~ControlClient() { ::close(fd); }
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;
  void send_text(const std::string& text) {
    BOOST_REQUIRE(::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size()));
  }
  nlohmann::json read_json() {
    for (;;) {
      auto nl = buf.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        return nlohmann::json::parse(line, nullptr, false);
      }
      char tmp[65536];
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return nlohmann::json();  // null: closed or timed out
      buf.append(tmp, static_cast<std::size_t>(n));
    }
  }
  // One request, one answer.
  nlohmann::json request(const nlohmann::json& req) {
    send_text(req.dump() + "\n");
    return read_json();
  }
};

}  // namespace tapwire::daemon_test
