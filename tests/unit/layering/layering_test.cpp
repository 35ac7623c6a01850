#define BOOST_TEST_MODULE layering
#include <boost/test/unit_test.hpp>

// The determinism and layering rules of docs/architecture.md §Determinism, checked by
// reading the source tree. Every folder of the core (stack/*, except stack/posix, the
// daemon's driver) and of the simulator (sim/*) is scanned; none of them may
//  - include a socket, epoll, eventfd, timerfd, thread, future or process header;
//  - call a socket or epoll function, getenv, the rand/random/drand48 family,
//    getrandom, time(...), std::clock, timespec_get, clock_gettime, gettimeofday;
//  - name a std::chrono clock or call ::now();
//  - use std::thread, std::async, std::future or pthread_create;
//  - start a process (fork, popen, system, exec*, posix_spawn, waitpid).
// Two allowances, each in exactly one place:
//  - sim/core/wallclock.cpp reads the wall clock, only to report the simulator's own
//    speed (sim/cli reads it through sim::WallClock for progress and speed reports);
//  - sim/cli may start worker processes (posix_spawn, waitpid) for parallel sweeps.
// Comments and the contents of string and character literals (raw strings too) are
// blanked before matching, so documentation may name what it forbids and a "//" in a
// string does not hide the code after it. A call is told from a member call
// (`rng.fork(...)`), a qualified call of our own (`Rng::fork`) and a declaration
// (`Rng fork(std::string_view)`) by what precedes the name.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Violation {
  std::string file;
  int line;
  std::string what;
};

bool is_source(const fs::path& p) {
  static const char* exts[] = {".h", ".hpp", ".hh", ".cpp", ".cc", ".cxx", ".c", ".ipp", ".inc"};
  const std::string ext = p.extension().string();
  return std::any_of(std::begin(exts), std::end(exts), [&](const char* e) { return ext == e; });
}

// Whether the rules apply to a file, from its path relative to the repository root.
bool scanned(const std::string& rel) {
  if (rel.rfind("stack/posix/", 0) == 0) return false;
  return rel.rfind("stack/", 0) == 0 || rel.rfind("sim/", 0) == 0;
}

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The identifier that ends just before `end` in `s` (empty if none).
std::string_view ident_before(std::string_view s, std::size_t end) {
  std::size_t b = end;
  while (b > 0 && ident_char(s[b - 1])) --b;
  return s.substr(b, end - b);
}

// ---------------------------------------------------------------------------------
// Comment and literal stripping

// The text with comments and the contents of string and character literals replaced
// by spaces; newlines stay, so line numbers hold. The header name of an #include
// line is kept.
std::string code_only(std::string_view in) {
  std::string out(in);
  std::size_t i = 0;
  bool line_start = true;  // only whitespace since the last newline
  auto blank = [&](std::size_t from, std::size_t to) {
    for (std::size_t k = from; k < to && k < out.size(); ++k)
      if (out[k] != '\n') out[k] = ' ';
  };
  while (i < in.size()) {
    const char c = in[i];
    if (c == '\n') {
      line_start = true;
      ++i;
      continue;
    }
    if (line_start && c == '#') {
      // A preprocessor line: keep an #include's header name as it is.
      std::size_t k = i + 1;
      while (k < in.size() && (in[k] == ' ' || in[k] == '\t')) ++k;
      if (in.compare(k, 7, "include") == 0) {
        k += 7;
        while (k < in.size() && (in[k] == ' ' || in[k] == '\t')) ++k;
        if (k < in.size() && (in[k] == '<' || in[k] == '"')) {
          const char close = in[k] == '<' ? '>' : '"';
          const std::size_t e = in.find_first_of(std::string{close, '\n'}, k + 1);
          i = e == std::string_view::npos ? in.size() : e + (in[e] == close ? 1 : 0);
          line_start = false;
          continue;
        }
      }
    }
    if (c != ' ' && c != '\t') line_start = false;
    if (in.compare(i, 2, "//") == 0) {
      std::size_t e = in.find('\n', i);
      if (e == std::string_view::npos) e = in.size();
      blank(i, e);
      i = e;
      continue;
    }
    if (in.compare(i, 2, "/*") == 0) {
      std::size_t e = in.find("*/", i + 2);
      e = e == std::string_view::npos ? in.size() : e + 2;
      blank(i, e);
      i = e;
      continue;
    }
    if (c == '"') {
      const std::string_view prefix = ident_before(in, i);
      const bool raw = !prefix.empty() && prefix.back() == 'R' &&
                       (prefix == "R" || prefix == "u8R" || prefix == "uR" || prefix == "UR" || prefix == "LR");
      if (raw) {
        // R"delim( ... )delim"
        const std::size_t open = in.find('(', i + 1);
        if (open == std::string_view::npos) break;
        const std::string close = ")" + std::string(in.substr(i + 1, open - i - 1)) + "\"";
        std::size_t e = in.find(close, open + 1);
        e = e == std::string_view::npos ? in.size() : e + close.size();
        blank(i + 1, e - 1);
        i = e;
        continue;
      }
      std::size_t k = i + 1;
      while (k < in.size() && in[k] != '"' && in[k] != '\n') k += in[k] == '\\' ? 2 : 1;
      blank(i + 1, k);
      i = k + 1;
      continue;
    }
    if (c == '\'') {
      // A digit separator (1'000) is not a character literal.
      const std::string_view token = ident_before(in, i);
      const bool prefix = token == "L" || token == "u" || token == "U" || token == "u8";
      if (!token.empty() && !prefix) {
        ++i;
        continue;
      }
      std::size_t k = i + 1;
      while (k < in.size() && in[k] != '\'' && in[k] != '\n') k += in[k] == '\\' ? 2 : 1;
      blank(i + 1, k);
      i = k + 1;
      continue;
    }
    ++i;
  }
  return out;
}

// ---------------------------------------------------------------------------------
// Rules

enum class Kind {
  text,  // any match is a violation
  call,  // a match is a violation when it is a call of the free (or std::) function
};

struct Rule {
  std::string what;
  std::regex pattern;  // for Kind::call, matches the function name followed by '('
  Kind kind;
  std::string allowed;  // the one path prefix where it is allowed ("" = nowhere)
  std::string planted;  // a line of code the rule must catch (the self-test)
};

// Is the name at `pos` in `line` a call of the free function (or std::/:: qualified)?
bool is_free_call(const std::string& line, std::size_t pos) {
  std::size_t p = pos;
  while (p > 0 && (line[p - 1] == ' ' || line[p - 1] == '\t')) --p;
  if (p == 0) return true;
  const char b = line[p - 1];
  if (b == '.') return false;                            // member call
  if (b == '>' && p >= 2 && line[p - 2] == '-') return false;  // member call through a pointer
  if (b == '>') return false;                            // after a template type: a declaration
  if (b == '~') return false;                            // a destructor
  if (b == ':' && p >= 2 && line[p - 2] == ':') {
    std::size_t q = p - 2;
    while (q > 0 && (line[q - 1] == ' ' || line[q - 1] == '\t')) --q;
    const std::string_view scope = ident_before(line, q);
    return scope.empty() || scope == "std";  // ::f( and std::f( are the C library's
  }
  if (ident_char(b)) {
    // After a type name: a declaration. After a keyword: a call.
    static const std::set<std::string_view> kKeywords = {"return", "co_return", "co_await", "co_yield", "throw",
                                                          "case",   "else",      "do",       "not",      "and",
                                                          "or",     "sizeof",    "noexcept"};
    return kKeywords.count(ident_before(line, p)) > 0;
  }
  return true;
}

Rule header(const std::string& name, const std::string& why, const std::string& allowed = "") {
  const std::string escaped = std::regex_replace(name, std::regex(R"([./])"), R"(\$&)");
  return {"includes <" + name + "> (" + why + ")", std::regex(R"(^\s*#\s*include\s*[<"])" + escaped + R"([>"])"),
          Kind::text, allowed, "#include <" + name + ">"};
}

Rule call(const std::string& names, const std::string& why, const std::string& planted,
          const std::string& allowed = "") {
  std::string shown = std::regex_replace(names, std::regex(R"(\|)"), "/");
  return {"calls " + shown + " (" + why + ")",
          std::regex(R"(\b()" + names + R"()\s*\()"), Kind::call, allowed, planted};
}

Rule text(const std::string& pattern, const std::string& what, const std::string& planted,
          const std::string& allowed = "") {
  return {what, std::regex(pattern), Kind::text, allowed, planted};
}

constexpr const char* kSockets = "host sockets are reached through host::HostNet";
constexpr const char* kThreads = "the core and the simulator are single-threaded";
constexpr const char* kRandom = "randomness comes from a seeded tapwire::Rng";
constexpr const char* kClock = "time is the `now` the driver passes in";
constexpr const char* kProcess = "only sim/cli starts processes";
constexpr const char* kEnv = "configuration is passed in, never read from the environment";
const std::string kCli = "sim/cli/";
const std::string kWallClock = "sim/core/wallclock.cpp";

const std::vector<Rule>& rules() {
  static const std::vector<Rule> r = [] {
    std::vector<Rule> v;
    // Headers.
    for (const char* h : {"sys/socket.h", "sys/epoll.h", "netinet/in.h", "netinet/tcp.h", "arpa/inet.h", "netdb.h",
                          "sys/un.h", "poll.h", "sys/poll.h", "sys/select.h", "sys/eventfd.h", "sys/timerfd.h"})
      v.push_back(header(h, kSockets));
    for (const char* h : {"thread", "future", "pthread.h"}) v.push_back(header(h, kThreads));
    v.push_back(header("sys/random.h", kRandom));
    v.push_back(header("sys/time.h", kClock));
    v.push_back(header("spawn.h", kProcess, kCli));
    v.push_back(header("sys/wait.h", kProcess, kCli));
    // Socket and epoll calls. Names that are also methods of our own (connect, send,
    // poll, ...) count only when written as the C library's (::connect, std::...).
    v.push_back(call("socket|socketpair|accept4|sendto|sendmsg|sendmmsg|recvfrom|recvmsg|recvmmsg|setsockopt|"
                     "getsockopt|getsockname|getpeername|getaddrinfo|gethostbyname|ppoll|pselect|eventfd|"
                     "timerfd_create|timerfd_settime",
                     kSockets, "int fd = socket(AF_INET, SOCK_STREAM, 0);"));
    v.push_back(text(R"((^|[^\w:]\s*)::\s*(connect|bind|listen|accept|send|recv|shutdown|poll|select)\s*\()",
                     std::string("calls a socket function (") + kSockets + ")", "if (::connect(fd, sa, len) < 0) {"));
    v.push_back(text(R"(\bstd\s*::\s*(connect|bind|listen|accept|send|recv|shutdown|poll|select)\s*\()",
                     std::string("calls a socket function (") + kSockets + ")", "std::send(fd, p, n, 0);"));
    v.push_back(call("epoll_create|epoll_create1|epoll_ctl|epoll_wait|epoll_pwait|epoll_pwait2", kSockets,
                     "int n = epoll_wait(ep, events, 64, -1);"));
    // The environment.
    v.push_back(call("getenv|secure_getenv", kEnv, "const char* home = std::getenv(\"HOME\");"));
    // Randomness.
    v.push_back(text(R"(\brandom_device\b)", std::string("uses std::random_device (") + kRandom + ")",
                     "std::random_device rd;"));
    v.push_back(call("rand|srand|rand_r", kRandom, "int r = rand() % 6;"));
    v.push_back(call("random|srandom|initstate", kRandom, "long r = random();"));
    v.push_back(call("drand48|erand48|lrand48|nrand48|mrand48|jrand48|srand48|seed48|lcong48", kRandom,
                     "double r = drand48();"));
    v.push_back(call("arc4random|arc4random_uniform", kRandom, "auto r = arc4random();"));
    v.push_back(call("getrandom|getentropy", kRandom, "getrandom(buf, sizeof buf, 0);"));
    // Clocks.
    v.push_back(call("time", kClock, "seed = time(nullptr);", kWallClock));
    v.push_back(call("clock", kClock, "auto c = std::clock();", kWallClock));
    v.push_back(call("timespec_get|timespec_getres", kClock, "timespec_get(&ts, TIME_UTC);", kWallClock));
    v.push_back(call("clock_gettime|gettimeofday|ftime", kClock, "clock_gettime(CLOCK_MONOTONIC, &ts);", kWallClock));
    for (const char* c : {"system_clock", "steady_clock", "high_resolution_clock", "utc_clock", "tai_clock",
                          "gps_clock", "file_clock"}) {
      v.push_back(text(std::string(R"(\b)") + c + R"(\b)", std::string("names std::chrono::") + c + " (" + kClock + ")",
                       std::string("auto t = std::chrono::") + c + "::now();", kWallClock));
    }
    v.push_back(text(R"(::\s*now\s*\()", std::string("calls ::now() (") + kClock + ")", "auto t = Clock::now();",
                     kWallClock));
    // Threads.
    v.push_back(text(R"(\bstd\s*::\s*j?thread\b)", std::string("uses std::thread (") + kThreads + ")",
                     "std::thread worker([] {});"));
    v.push_back(text(R"(\bstd\s*::\s*(async|future|shared_future|promise|packaged_task)\b)",
                     std::string("uses std::async/std::future (") + kThreads + ")",
                     "auto f = std::async(std::launch::async, work);"));
    v.push_back(call("pthread_create", kThreads, "pthread_create(&t, nullptr, run, nullptr);"));
    // Processes.
    v.push_back(call("fork|vfork|clone", kProcess, "pid_t pid = fork();"));
    v.push_back(call("popen", kProcess, "FILE* p = popen(\"ls\", \"r\");"));
    v.push_back(call("system", kProcess, "std::system(\"make\");"));
    v.push_back(call("execl|execlp|execle|execv|execvp|execvpe|execve|fexecve", kProcess,
                     "execvp(argv[0], argv);"));
    v.push_back(call("posix_spawn|posix_spawnp", kProcess, "posix_spawn(&pid, path, nullptr, nullptr, argv, env);",
                     kCli));
    v.push_back(call("waitpid|waitid|wait3|wait4", kProcess, "waitpid(pid, &status, 0);", kCli));
    return v;
  }();
  return r;
}

bool allowed_in(const Rule& rule, const std::string& rel) {
  return !rule.allowed.empty() && rel.rfind(rule.allowed, 0) == 0;
}

std::vector<Violation> scan_text(const std::string& rel, std::string_view text) {
  std::vector<Violation> out;
  if (!scanned(rel)) return out;
  std::istringstream in(code_only(text));
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    for (const Rule& rule : rules()) {
      if (allowed_in(rule, rel)) continue;
      for (auto it = std::sregex_iterator(line.begin(), line.end(), rule.pattern); it != std::sregex_iterator();
           ++it) {
        if (rule.kind == Kind::call && !is_free_call(line, static_cast<std::size_t>(it->position(1)))) continue;
        out.push_back({rel, lineno, rule.what});
        break;
      }
    }
  }
  return out;
}

std::string format(const std::vector<Violation>& violations) {
  std::string out;
  for (const Violation& v : violations) out += v.file + ":" + std::to_string(v.line) + ": " + v.what + "\n";
  return out;
}

}  // namespace

// Every rule catches its planted violation, in the core and in the simulator, and is
// silent only where it is allowed.
BOOST_AUTO_TEST_CASE(every_rule_catches_a_planted_violation) {
  BOOST_TEST(rules().size() >= 30u);
  for (const Rule& rule : rules()) {
    BOOST_TEST_CONTEXT(rule.what << ": " << rule.planted) {
      for (const char* file : {"stack/proxy/planted.cpp", "stack/base/planted.h", "sim/core/planted.cpp",
                               "sim/scenario/planted.cpp", "sim/link/planted.h"}) {
        const auto found = scan_text(file, "int a;\n" + rule.planted + "\n");
        const bool named = std::any_of(found.begin(), found.end(), [&](const Violation& v) {
          return v.what == rule.what && v.line == 2 && v.file == file;
        });
        BOOST_TEST(named, file << " not caught; found:\n" << format(found));
      }
      const std::string elsewhere = rule.allowed == kCli ? kWallClock : "sim/cli/planted.cpp";
      if (!rule.allowed.empty()) {
        const std::string allowed = rule.allowed == kCli ? "sim/cli/run_command.cpp" : rule.allowed;
        for (const Violation& v : scan_text(allowed, rule.planted))
          BOOST_TEST(v.what != rule.what, "reported where allowed: " << format({v}));
      }
      const auto found = scan_text(elsewhere, rule.planted);
      BOOST_TEST(std::any_of(found.begin(), found.end(), [&](const Violation& v) { return v.what == rule.what; }),
                 elsewhere << " not caught");
    }
  }
}

BOOST_AUTO_TEST_CASE(the_allowances_are_exactly_sim_cli_and_the_wallclock_file) {
  std::set<std::string> places;
  for (const Rule& rule : rules())
    if (!rule.allowed.empty()) places.insert(rule.allowed);
  BOOST_TEST((places == std::set<std::string>{kCli, kWallClock}));
  // sim/cli may spawn and wait, but not read a clock directly (it asks sim::WallClock),
  // fork or run a shell.
  BOOST_TEST(scan_text("sim/cli/sweep.cpp", "posix_spawn(&pid, p, nullptr, nullptr, argv, env);").empty());
  BOOST_TEST(scan_text("sim/cli/sweep.cpp", "waitpid(pid, &status, 0);").empty());
  BOOST_TEST(scan_text("sim/cli/sweep.cpp", "auto t = std::chrono::steady_clock::now();").size() == 2u);
  BOOST_TEST(scan_text("sim/cli/sweep.cpp", "pid_t p = fork();").size() == 1u);
  BOOST_TEST(scan_text("sim/cli/sweep.cpp", "std::system(\"x\");").size() == 1u);
  // The wall-clock file may read the clock, not spawn.
  BOOST_TEST(scan_text("sim/core/wallclock.cpp", "auto t = std::chrono::steady_clock::now();").empty());
  BOOST_TEST(scan_text("sim/core/wallclock.cpp", "posix_spawn(&pid, p, nullptr, nullptr, argv, env);").size() == 1u);
  // A file merely named like it is not the place.
  BOOST_TEST(scan_text("sim/scenario/report_wallclock.cpp", "auto t = std::chrono::steady_clock::now();").size() ==
             2u);
  // stack/posix is the daemon's driver: everything is allowed there; tests are not scanned.
  BOOST_TEST(scan_text("stack/posix/loop.cpp", "#include <sys/epoll.h>\nfork();").empty());
  BOOST_TEST(scan_text("tests/unit/x.cpp", "#include <thread>").empty());
}

BOOST_AUTO_TEST_CASE(members_declarations_and_our_own_names_are_not_calls) {
  const char* clean[] = {
      "Rng child = rng_.fork(\"net\");",
      "Rng fork(std::string_view label) const;",
      "Rng Rng::fork(std::string_view label) const {",
      "auto r = host_->send(h, bytes);",
      "virtual Result<std::size_t> send(Handle h, Bytes data) = 0;",
      "bool connect(Endpoint to);",
      "proxy.poll(now);",
      "std::optional<Instant> poll_at() const;",
      "double now = WallClock::now_seconds();",
      "Duration runtime(Duration d);",
      "int v = operand(3);",
      "int thread_count = 1;",
      "std::uint64_t time_wait_count() const;",
      "Instant time() const { return now_; }",
      "auto t = world.time();",
      "double random_fraction = rng.uniform();",
      "int x = 1'000'000; int y = rand_r_count;",
      "#include \"stack/base/time.h\"",
      "#include <string>",
  };
  for (const char* line : clean) BOOST_TEST(scan_text("stack/tcp/x.cpp", line).empty(), line);
}

BOOST_AUTO_TEST_CASE(comments_and_string_literals_are_blanked_without_hiding_code) {
  // A forbidden name in a comment or a string is not code...
  BOOST_TEST(scan_text("stack/tcp/x.cpp", "// std::thread is forbidden here").empty());
  BOOST_TEST(scan_text("stack/tcp/x.cpp", "int a; /* steady_clock */ int b;").empty());
  BOOST_TEST(scan_text("stack/tcp/x.cpp", "log(\"fork() failed\");").empty());
  BOOST_TEST(scan_text("stack/tcp/x.cpp", "const char* s = R\"(time(nullptr) \" rand())\";").empty());
  BOOST_TEST(scan_text("stack/tcp/x.cpp", "const char* s = R\"x(a )\" getenv(\"H\") )x\";").empty());
  BOOST_TEST(scan_text("stack/tcp/x.cpp", "char q = '\"'; int n = 0;").empty());
  // ...but a "//" or "/*" inside a string does not start a comment,
  BOOST_TEST(scan_text("stack/tcp/x.cpp", "auto u = \"http://x\"; srand(1);").size() == 1u);
  BOOST_TEST(scan_text("stack/tcp/x.cpp", "auto u = \"/*\"; auto t = time(nullptr); // */").size() == 1u);
  BOOST_TEST(scan_text("stack/tcp/x.cpp", "auto u = \"a\\\"//\"; fork();").size() == 1u);
  BOOST_TEST(scan_text("stack/tcp/x.cpp", "char c = '\\''; char d = '/'; getenv(\"X\"); // '").size() == 1u);
  // nor does one inside a raw string, even over several lines.
  const std::string raw = "const char* s = R\"js(\n  // not a comment\n  /* nor this\n)js\"; pid_t p = fork();\n";
  const auto found = scan_text("sim/guest/x.cpp", raw);
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found[0].line == 4);
  // Block comments span lines; the line of a violation is reported.
  const std::string text =
      "/* a comment naming std::thread\n"
      "   and <thread> */\n"
      "#include <vector>\n"
      "#include <thread>\n";
  const auto block = scan_text("sim/core/x.cpp", text);
  BOOST_REQUIRE_EQUAL(block.size(), 1u);
  BOOST_TEST(format(block) == "sim/core/x.cpp:4: includes <thread> (the core and the simulator are single-threaded)\n");
}

BOOST_AUTO_TEST_CASE(the_core_and_the_simulator_follow_the_rules) {
  const fs::path root = TAPWIRE_SOURCE_DIR;
  std::vector<Violation> violations;
  std::map<std::string, std::size_t> files_per_folder;  // every folder of stack/ (but posix) and sim/
  for (const char* top : {"stack", "sim"}) {
    BOOST_REQUIRE_MESSAGE(fs::is_directory(root / top), (root / top).string() << " missing: wrong TAPWIRE_SOURCE_DIR?");
    for (const auto& dir : fs::directory_iterator(root / top))
      if (dir.is_directory() && dir.path().filename() != "posix")
        files_per_folder[fs::relative(dir.path(), root).generic_string()] = 0;
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      if (!entry.is_regular_file() || !is_source(entry.path())) continue;
      const std::string rel = fs::relative(entry.path(), root).generic_string();
      if (!scanned(rel)) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      const auto found = scan_text(rel, text.str());
      violations.insert(violations.end(), found.begin(), found.end());
      const std::string folder = rel.substr(0, rel.find('/', rel.find('/') + 1));
      ++files_per_folder[folder];
    }
  }
  std::size_t total = 0;
  for (const auto& [folder, n] : files_per_folder) {
    BOOST_TEST_MESSAGE("layering: " << folder << ": " << n << " source files");
    BOOST_TEST(n > 0u, folder << " has no source file the scan reached");
    total += n;
  }
  for (const char* must : {"stack/base", "stack/wire", "stack/tcp", "stack/net", "stack/proxy", "stack/host",
                           "sim/core", "sim/link", "sim/host", "sim/guest", "sim/scenario", "sim/cli"})
    BOOST_TEST(files_per_folder.count(must) == 1u, must << " was not scanned");
  BOOST_TEST(fs::exists(root / kWallClock), "the one wall-clock place is gone: update the allowance");
  BOOST_TEST_MESSAGE("layering: scanned " << total << " source files");
  BOOST_TEST(violations.empty(), "violations of docs/architecture.md §Determinism:\n" << format(violations));
}
