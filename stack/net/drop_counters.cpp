#include "stack/net/drop_counters.h"

namespace tapwire::net {

namespace {
// Indexed by DropReason; the static_assert below keeps it in step with the enum.
constexpr std::string_view kDropReasonNames[] = {
    "not_for_us",     "bad_ethernet",     "unknown_ethertype", "bad_arp",          "bad_ipv4",
    "bad_checksum",   "bad_fragment",     "fragment_overlap",  "fragment_too_big", "fragment_timeout",
    "reassembly_full", "unresolved_mac",  "link_full",         "too_big",
};
static_assert(std::size(kDropReasonNames) == static_cast<std::size_t>(DropReason::count_),
              "kDropReasonNames must name every DropReason");
}  // namespace

std::string_view to_string(DropReason reason) {
  const auto i = static_cast<std::size_t>(reason);
  return i < std::size(kDropReasonNames) ? kDropReasonNames[i] : std::string_view("unknown");
}

}  // namespace tapwire::net
