// stack/base: time arithmetic and text forms, Result, byte order, the seeded Rng and logging.
#define BOOST_TEST_MODULE base
#include <boost/test/unit_test.hpp>

#include <set>
#include <string>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/log.h"
#include "stack/base/result.h"
#include "stack/base/rng.h"
#include "stack/base/time.h"

using namespace tapwire;

BOOST_AUTO_TEST_CASE(duration_parse_and_print) {
  BOOST_TEST(parse_duration("5ms")->ns() == 5'000'000);
  BOOST_TEST(parse_duration("100us")->ns() == 100'000);
  BOOST_TEST(parse_duration("1.5s")->ns() == 1'500'000'000);
  BOOST_TEST(parse_duration("2m")->ns() == 120'000'000'000);
  BOOST_TEST(parse_duration("0.25ms")->ns() == 250'000);
  BOOST_TEST(parse_duration("10ns")->ns() == 10);
  BOOST_TEST(!parse_duration("5"));      // unit required
  BOOST_TEST(!parse_duration("ms"));
  BOOST_TEST(!parse_duration("1.2.3s"));
  BOOST_TEST(!parse_duration("-1s"));
  BOOST_TEST(!parse_duration("5 ms"));
  BOOST_TEST(!parse_duration("99999999999999999999h"));  // overflow is an error, not a wrap
  BOOST_TEST(to_string(Duration::millis(1500)) == "1.5s");
  BOOST_TEST(to_string(Duration::micros(100)) == "100us");
  BOOST_TEST(to_string(Duration::zero()) == "0s");
  BOOST_TEST(to_string(Duration::nanos(7)) == "7ns");
  for (const char* text : {"1.5s", "100us", "3ms", "7ns", "1.000001s"})
    BOOST_TEST(to_string(*parse_duration(text)) == text);
}

BOOST_AUTO_TEST_CASE(instant_arithmetic_saturates) {
  Instant t = Instant::epoch() + Duration::seconds(2);
  BOOST_TEST((t - Instant::epoch()).ns() == 2'000'000'000);
  BOOST_TEST((t + Duration::max() == Instant::never()));
  BOOST_TEST((Instant::epoch() < t));
  BOOST_TEST(to_string(Instant::from_nanos(12'000'345'678)) == "12.000345678s");
}

BOOST_AUTO_TEST_CASE(result_holds_value_or_error) {
  Result<int> good = 7;
  Result<int> bad = make_error(Errc::truncated, "test: short");
  BOOST_TEST(good.ok());
  BOOST_TEST(*good == 7);
  BOOST_TEST(!bad.ok());
  BOOST_TEST((bad.error().code == Errc::truncated));
  BOOST_TEST(std::string(bad.error().reason) == "test: short");
  auto chain = [](Result<int> in) -> Result<int> {
    TW_TRY(int v, in);
    return v + 1;
  };
  BOOST_TEST(*chain(good) == 8);
  BOOST_TEST((chain(bad).error().code == Errc::truncated));
  Status s;
  BOOST_TEST(s.ok());
  BOOST_TEST(to_string(Errc::would_block) == "would_block");
}


// The same Result with an error type of its own (as the pcap module's PcapError and
// the config loaders' ConfigError): the error may own a message.
BOOST_AUTO_TEST_CASE(result_with_an_error_type_of_its_own) {
  struct FileError {
    std::string message;
  };
  Result<std::vector<int>, FileError> good = std::vector<int>{1, 2};
  Result<std::vector<int>, FileError> bad = FileError{"x.pcap: not a capture"};
  BOOST_TEST(good.ok());
  BOOST_TEST(good->size() == 2u);
  BOOST_TEST(!bad.ok());
  BOOST_TEST(bad.error().message == "x.pcap: not a capture");
  auto chain = [](Result<std::vector<int>, FileError> in) -> Result<std::size_t, FileError> {
    TW_TRY(auto v, std::move(in));
    return v.size();
  };
  BOOST_TEST(*chain(good) == 2u);
  BOOST_TEST(chain(bad).error().message == "x.pcap: not a capture");

  Result<void, FileError> done;
  Result<void, FileError> failed = FileError{"disk full"};
  BOOST_TEST(done.ok());
  BOOST_TEST(!failed.ok());
  BOOST_TEST(failed.error().message == "disk full");
}
BOOST_AUTO_TEST_CASE(byte_order) {
  std::uint8_t buf[4];
  store_be32(buf, 0x01020304);
  BOOST_TEST(buf[0] == 1);
  BOOST_TEST(buf[3] == 4);
  BOOST_TEST(load_be32(buf) == 0x01020304u);
  BOOST_TEST(load_le32(buf) == 0x04030201u);
  store_be16(buf, 0xabcd);
  BOOST_TEST(load_be16(buf) == 0xabcd);
  store_le16(buf, 0xabcd);
  BOOST_TEST(buf[0] == 0xcd);
  BOOST_TEST(load_le16(buf) == 0xabcd);
}

// The Rng's sequence is part of the determinism contract: these values are the
// xoshiro256** outputs for seed 1 with SplitMix64 seeding. If this test fails, every
// recorded digest and pcap changes.
BOOST_AUTO_TEST_CASE(rng_sequence_is_fixed) {
  Rng rng(1);
  std::vector<std::uint64_t> got;
  for (int i = 0; i < 3; ++i) got.push_back(rng.next_u64());
  Rng again(1);
  for (int i = 0; i < 3; ++i) BOOST_TEST(again.next_u64() == got[static_cast<std::size_t>(i)]);
  // Known-answer values (computed once from the reference algorithm, see rng.h).
  BOOST_TEST(got[0] == 0xb3f2af6d0fc710c5ULL);
  BOOST_TEST(got[1] == 0x853b559647364ceaULL);
  BOOST_TEST(got[2] == 0x92f89756082a4514ULL);
}

BOOST_AUTO_TEST_CASE(rng_bounds_and_streams) {
  Rng rng(42);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    auto v = rng.below(10);
    BOOST_TEST(v < 10u);
    seen.insert(v);
    auto w = rng.between(5, 7);
    BOOST_TEST((w >= 5 && w <= 7));
    double d = rng.next_double();
    BOOST_TEST((d >= 0.0 && d < 1.0));
  }
  BOOST_TEST(seen.size() == 10u);
  BOOST_TEST(!Rng(3).chance(0.0));
  BOOST_TEST(Rng(3).chance(1.0));
  // Forked streams are independent of each other and of draws on the parent.
  Rng parent(9);
  Rng a1 = parent.fork("a");
  parent.next_u64();
  Rng a2 = parent.fork("a");
  BOOST_TEST(a1.next_u64() == a2.next_u64());
  BOOST_TEST(parent.fork("a").next_u64() != parent.fork("b").next_u64());
  BOOST_TEST(Rng::hash("") == 0xCBF29CE484222325ULL);  // FNV-1a offset basis
  BOOST_TEST(Rng::hash("a") == 0xaf63dc4c8601ec8cULL);   // FNV-1a 64 test vector
}

namespace {
struct RecordingSink : LogSink {
  std::vector<std::string> lines;
  void write(LogLevel level, std::string_view component, std::string_view message) override {
    lines.push_back(std::string(to_string(level)) + " " + std::string(component) + ": " + std::string(message));
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(logger_filters_by_level) {
  RecordingSink sink;
  Logger log(sink, "proxy", LogLevel::info);
  int evaluated = 0;
  auto side_effect = [&] { return ++evaluated; };
  TW_LOG(log, debug, "hidden %d", side_effect());
  TW_LOG(log, warn, "shown %d", 5);
  log.child("tcp").log(LogLevel::error, "%s", std::string(600, 'x').c_str());
  BOOST_TEST(evaluated == 0);  // disabled levels do not evaluate their arguments
  BOOST_REQUIRE(sink.lines.size() == 2u);
  BOOST_TEST(sink.lines[0] == "warn proxy: shown 5");
  BOOST_TEST(sink.lines[1].size() == std::string("error proxy.tcp: ").size() + 600);
  LogLevel parsed;
  BOOST_TEST(parse_log_level("debug", parsed));
  BOOST_TEST((parsed == LogLevel::debug));
  BOOST_TEST(!parse_log_level("loud", parsed));
}
