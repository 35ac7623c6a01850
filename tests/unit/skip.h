// Skipping what a machine cannot run, through Boost.Test's own mechanism.
//
// A test case that needs root (network namespaces, a tap device) says so:
//
//   BOOST_AUTO_TEST_CASE(tap_reads_frames, *tapwire::testing::needs_root_and_tun()) { ... }
//
// Boost.Test then skips the case with the reason ("precondition failed: needs root ...").
// When no case of the executable ran and some were skipped, the executable prints
// "SKIPPED: <reason>" and exits with kSkipExitCode, which tests/unit/CMakeLists.txt
// registers as every test's SKIP_RETURN_CODE: ctest reports it as skipped ("Not Run"),
// never as passed. An executable that ran some cases reports as usual; its skipped
// cases are listed at --log_level=test_suite. Include this header in one file per
// test executable (it registers a global fixture).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace tapwire::testing {

inline constexpr int kSkipExitCode = 77;

// At the end of the run: exits with kSkipExitCode when every case was skipped.
class SkipReporter final : public boost::unit_test::test_observer {
 public:
  void test_unit_skipped(const boost::unit_test::test_unit&, boost::unit_test::const_string reason) override {
    reason_.assign(reason.begin(), reason.end());
  }
  void test_finish() override {
    namespace utf = boost::unit_test;
    const utf::test_results& r = utf::results_collector.results(utf::framework::master_test_suite().p_id);
    if (r.p_test_cases_passed != 0 || r.p_test_cases_failed != 0 || r.p_test_cases_aborted != 0 ||
        r.p_test_cases_skipped == 0)
      return;
    std::cout << "SKIPPED: " << r.p_test_cases_skipped << " test case" << (r.p_test_cases_skipped == 1 ? "" : "s")
              << ", " << reason_ << std::endl;
    std::_Exit(kSkipExitCode);
  }

 private:
  std::string reason_;
};

struct SkipReporterRegistration {
  SkipReporterRegistration() {
    static SkipReporter reporter;
    boost::unit_test::framework::register_observer(reporter);
  }
};
BOOST_TEST_GLOBAL_FIXTURE(SkipReporterRegistration);

// Root and a usable /dev/net/tun, with the reason when not.
inline boost::test_tools::assertion_result root_and_tun_available(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result ok(true);
  if (::geteuid() != 0) {
    ok = false;
    ok.message() << "needs root (network namespaces, a tap device)";
  } else if (::access("/dev/net/tun", R_OK | W_OK) != 0) {
    ok = false;
    ok.message() << "needs /dev/net/tun";
  }
  return ok;
}

// Root (unshare(CLONE_NEWNET) in a child process), with the reason when not.
inline boost::test_tools::assertion_result root_available(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result ok(::geteuid() == 0);
  if (!ok) ok.message() << "needs root (unshare(CLONE_NEWNET))";
  return ok;
}

// The decorators: BOOST_AUTO_TEST_CASE(name, *tapwire::testing::needs_root()).
inline boost::unit_test::precondition needs_root_and_tun() {
  return boost::unit_test::precondition(&root_and_tun_available);
}
inline boost::unit_test::precondition needs_root() { return boost::unit_test::precondition(&root_available); }

}  // namespace tapwire::testing
