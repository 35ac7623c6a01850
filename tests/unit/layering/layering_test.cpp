#define BOOST_TEST_MODULE layering
#include <boost/test/unit_test.hpp>

// DESIGN.md §1 layering rules, checked by reading the source tree:
//  - outside stack/posix (in stack/ and sim/): no socket, epoll, eventfd or timerfd
//    headers, no <thread>, no std::thread / std::jthread / pthread_create / std::async,
//    no std::random_device, rand(), srand();
//  - in stack/ outside stack/posix: no clock reads (steady_clock, system_clock,
//    high_resolution_clock, gettimeofday, clock_gettime, time(nullptr));
//  - in sim/: the same clock ban, except in files whose name contains "wallclock"
//    (the one named place where the simulator measures its own speed).
// Comments are ignored, so documentation may name what it forbids.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
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

// Which rules apply to a file, from its path relative to the repository root.
enum class Zone { exempt, stack, sim, sim_wallclock };

Zone zone_of(const std::string& rel) {
  if (rel.rfind("stack/posix/", 0) == 0) return Zone::exempt;
  if (rel.rfind("stack/", 0) == 0) return Zone::stack;
  if (rel.rfind("sim/", 0) == 0) {
    const std::string name = fs::path(rel).filename().string();
    return name.find("wallclock") != std::string::npos ? Zone::sim_wallclock : Zone::sim;
  }
  return Zone::exempt;
}

bool is_source(const fs::path& p) {
  static const char* exts[] = {".h", ".hpp", ".hh", ".cpp", ".cc", ".cxx", ".c", ".ipp", ".inc"};
  const std::string ext = p.extension().string();
  return std::any_of(std::begin(exts), std::end(exts), [&](const char* e) { return ext == e; });
}

// Removes // and /* */ comments, carrying block-comment state across lines. String
// literals are kept (a forbidden call inside a string is still suspicious).
class CommentStripper {
 public:
  std::string strip(std::string_view line) {
    std::string out;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (in_block_) {
        if (line.compare(i, 2, "*/") == 0) {
          in_block_ = false;
          ++i;
        }
        continue;
      }
      if (line.compare(i, 2, "//") == 0) break;
      if (line.compare(i, 2, "/*") == 0) {
        in_block_ = true;
        ++i;
        out += ' ';
        continue;
      }
      out += line[i];
    }
    return out;
  }

 private:
  bool in_block_ = false;
};

struct Rule {
  std::regex pattern;
  std::string what;
};

const std::vector<Rule>& determinism_rules() {
  static const std::vector<Rule> rules = [] {
    std::vector<Rule> r;
    for (const char* header : {"sys/socket.h", "sys/epoll.h", "netinet/in.h", "arpa/inet.h", "sys/eventfd.h",
                               "sys/timerfd.h", "thread"}) {
      std::string escaped = std::regex_replace(std::string(header), std::regex(R"([./])"), R"(\$&)");
      r.push_back({std::regex(R"(^\s*#\s*include\s*<)" + escaped + R"(>)"), std::string("includes <") + header + ">"});
    }
    r.push_back({std::regex(R"(\bstd\s*::\s*j?thread\b)"), "uses std::thread (no threads outside stack/posix)"});
    r.push_back({std::regex(R"(\bpthread_create\s*\()"), "calls pthread_create (no threads outside stack/posix)"});
    r.push_back({std::regex(R"(\bstd\s*::\s*async\s*\()"), "calls std::async (no threads outside stack/posix)"});
    r.push_back({std::regex(R"(\brandom_device\b)"), "uses std::random_device (randomness comes from tapwire::Rng)"});
    r.push_back({std::regex(R"(\bs?rand\s*\()"), "calls rand()/srand() (randomness comes from tapwire::Rng)"});
    return r;
  }();
  return rules;
}

const std::vector<Rule>& clock_rules() {
  static const std::vector<Rule> rules = [] {
    std::vector<Rule> r;
    for (const char* clock : {"steady_clock", "system_clock", "high_resolution_clock"})
      r.push_back({std::regex(std::string(R"(\b)") + clock + R"(\b)"), std::string("reads a clock (") + clock + ")"});
    r.push_back({std::regex(R"(\bgettimeofday\s*\()"), "reads a clock (gettimeofday)"});
    r.push_back({std::regex(R"(\bclock_gettime\s*\()"), "reads a clock (clock_gettime)"});
    r.push_back({std::regex(R"(\btime\s*\(\s*(nullptr|NULL|0)\s*\))"), "reads a clock (time(nullptr))"});
    return r;
  }();
  return rules;
}

// The scanner: checks one comment-free line of `rel` and appends what it breaks.
void scan_line(const std::string& rel, int lineno, const std::string& code, std::vector<Violation>& out) {
  const Zone zone = zone_of(rel);
  if (zone == Zone::exempt) return;
  for (const Rule& rule : determinism_rules())
    if (std::regex_search(code, rule.pattern)) out.push_back({rel, lineno, rule.what});
  if (zone == Zone::stack || zone == Zone::sim) {
    for (const Rule& rule : clock_rules())
      if (std::regex_search(code, rule.pattern))
        out.push_back({rel, lineno, rule.what + (zone == Zone::sim ? " outside a *wallclock* file" : "")});
  }
}

std::vector<Violation> scan_text(const std::string& rel, const std::string& text) {
  std::vector<Violation> out;
  CommentStripper stripper;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) scan_line(rel, ++lineno, stripper.strip(line), out);
  return out;
}

std::string format(const std::vector<Violation>& violations) {
  std::string out;
  for (const Violation& v : violations) out += v.file + ":" + std::to_string(v.line) + ": " + v.what + "\n";
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(scanner_reports_each_forbidden_construct) {
  struct Case {
    const char* file;
    const char* line;
    bool reported;
  };
  const Case cases[] = {
      {"stack/tcp/x.cpp", "#include <thread>", true},
      {"sim/core/x.cpp", "  #  include <sys/socket.h>", true},
      {"stack/net/x.h", "#include <sys/epoll.h>", true},
      {"stack/net/x.h", "#include <netinet/in.h>", true},
      {"stack/net/x.h", "#include <arpa/inet.h>", true},
      {"stack/net/x.h", "#include <sys/eventfd.h>", true},
      {"stack/net/x.h", "#include <sys/timerfd.h>", true},
      {"sim/link/x.cpp", "std::thread worker([] {});", true},
      {"sim/link/x.cpp", "std::jthread worker;", true},
      {"stack/proxy/x.cpp", "std::random_device rd;", true},
      {"stack/proxy/x.cpp", "int r = rand();", true},
      {"stack/proxy/x.cpp", "srand(42);", true},
      {"stack/proxy/x.cpp", "int r = std::rand();", true},
      {"stack/tcp/x.cpp", "auto t = std::chrono::steady_clock::now();", true},
      {"stack/tcp/x.cpp", "auto t = std::chrono::system_clock::now();", true},
      {"stack/tcp/x.cpp", "auto t = high_resolution_clock::now();", true},
      {"stack/tcp/x.cpp", "gettimeofday(&tv, nullptr);", true},
      {"stack/tcp/x.cpp", "clock_gettime(CLOCK_MONOTONIC, &ts);", true},
      {"stack/tcp/x.cpp", "seed = time(nullptr);", true},
      {"sim/core/world.cpp", "auto t = std::chrono::steady_clock::now();", true},
      // Allowed:
      {"sim/core/wallclock.cpp", "auto t = std::chrono::steady_clock::now();", false},
      {"sim/scenario/report_wallclock.h", "auto t = std::chrono::steady_clock::now();", false},
      {"stack/posix/loop.cpp", "#include <sys/epoll.h>", false},
      {"stack/posix/loop.cpp", "clock_gettime(CLOCK_MONOTONIC, &ts);", false},
      {"stack/tcp/x.cpp", "int v = operand(3);", false},
      {"stack/tcp/x.cpp", "Duration runtime(Duration d);", false},
      {"stack/tcp/x.cpp", "#include \"stack/base/time.h\"", false},
      {"stack/tcp/x.cpp", "int thread_count = 1;", false},
      {"stack/tcp/x.cpp", "// std::thread is forbidden here", false},
      {"stack/tcp/x.cpp", "int a; /* steady_clock */ int b;", false},
      {"tests/unit/x.cpp", "#include <thread>", false},
  };
  for (const Case& c : cases) {
    const auto found = scan_text(c.file, c.line);
    BOOST_TEST(!found.empty() == c.reported, c.file << ": \"" << c.line << "\" reported: " << format(found));
    if (c.reported && !found.empty()) {
      BOOST_TEST(found[0].file == c.file);
      BOOST_TEST(found[0].line == 1);
    }
  }
}

BOOST_AUTO_TEST_CASE(scanner_names_the_line_and_follows_block_comments) {
  const std::string text =
      "/* a comment naming std::thread\n"
      "   and <thread> */\n"
      "#include <vector>\n"
      "#include <thread>\n";
  const auto found = scan_text("sim/core/x.cpp", text);
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found[0].line == 4);
  BOOST_TEST(format(found) == "sim/core/x.cpp:4: includes <thread>\n");
}

BOOST_AUTO_TEST_CASE(stack_and_sim_follow_the_layering_rules) {
  const fs::path root = TAPWIRE_SOURCE_DIR;
  std::vector<Violation> violations;
  std::size_t files = 0;
  bool saw_time_header = false;
  for (const char* top : {"stack", "sim"}) {
    if (!fs::is_directory(root / top)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      if (!entry.is_regular_file() || !is_source(entry.path())) continue;
      const std::string rel = fs::relative(entry.path(), root).generic_string();
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      const auto found = scan_text(rel, text.str());
      violations.insert(violations.end(), found.begin(), found.end());
      ++files;
      if (rel == "stack/base/time.h") saw_time_header = true;
    }
  }
  BOOST_TEST_MESSAGE("layering: scanned " << files << " source files under stack/ and sim/");
  BOOST_TEST(saw_time_header, "the walk did not reach stack/base/time.h: wrong TAPWIRE_SOURCE_DIR?");
  BOOST_TEST(violations.empty(), "layering violations (DESIGN.md §1):\n" << format(violations));
}
