#define BOOST_TEST_MODULE flow_table
#include <boost/test/unit_test.hpp>

#include "stack/proxy/flow_table.h"

namespace tapwire::proxy {
namespace {

const wire::Ipv4Addr kGuest = wire::Ipv4Addr::from_octets(192, 168, 65, 3);
const wire::Ipv4Addr kAlias = wire::Ipv4Addr::from_octets(192, 168, 65, 2);

FlowGuestSide guest_side(std::uint16_t sport, std::uint32_t conn_index) {
  return FlowGuestSide{tcp::Endpoint{kGuest, sport}, tcp::Endpoint{kAlias, 80}, tcp::ConnId{conn_index, 1}};
}
FlowHostSide host_side(std::uint32_t handle_index) {
  return FlowHostSide{host::Handle{handle_index, 1}, host::Endpoint{wire::Ipv4Addr::loopback(), 80}};
}

BOOST_AUTO_TEST_CASE(lookups_by_conn_handle_and_tuple) {
  FlowTable t;
  Flow& a = t.add(Instant::epoch(), guest_side(40000, 5), host_side(7));
  const FlowId a_id = a.id;
  t.add(Instant::epoch(), guest_side(40001, 6), host_side(8));
  BOOST_CHECK_EQUAL(t.size(), 2u);
  BOOST_REQUIRE(t.by_conn(tcp::ConnId{5, 1}) != nullptr);
  BOOST_CHECK(t.by_conn(tcp::ConnId{5, 1})->id == a_id);
  BOOST_CHECK(t.by_conn(tcp::ConnId{5, 2}) == nullptr);  // another generation
  BOOST_REQUIRE(t.by_handle(host::Handle{8, 1}) != nullptr);
  BOOST_CHECK_EQUAL(t.by_handle(host::Handle{8, 1})->guest.src.port, 40001);
  BOOST_CHECK(t.by_handle(host::Handle{8, 2}) == nullptr);
  BOOST_CHECK(t.owns(host::Handle{7, 1}));
  BOOST_REQUIRE(t.by_guest_tuple(tcp::Endpoint{kGuest, 40000}, tcp::Endpoint{kAlias, 80}) != nullptr);
  BOOST_CHECK(t.by_guest_tuple(tcp::Endpoint{kGuest, 40002}, tcp::Endpoint{kAlias, 80}) == nullptr);
}

BOOST_AUTO_TEST_CASE(remove_refused_while_host_handle_open) {
  FlowTable t;
  Flow& f = t.add(Instant::epoch(), guest_side(40000, 1), host_side(3));
  const FlowId id = f.id;
  BOOST_CHECK(!t.remove(id));  // vpnkit#214: close the host socket first
  BOOST_CHECK_EQUAL(t.size(), 1u);
  t.clear_handle(*t.find(id));
  BOOST_CHECK(!t.owns(host::Handle{3, 1}));
  BOOST_CHECK_EQUAL(t.open_handles(), 0u);
  BOOST_CHECK(t.remove(id));
  BOOST_CHECK(t.empty());
  BOOST_CHECK(t.find(id) == nullptr);
  BOOST_CHECK(t.by_conn(tcp::ConnId{1, 1}) == nullptr);
  BOOST_CHECK(t.by_guest_tuple(tcp::Endpoint{kGuest, 40000}, tcp::Endpoint{kAlias, 80}) == nullptr);
  BOOST_CHECK(!t.remove(id));  // stale id
}

BOOST_AUTO_TEST_CASE(slot_reuse_bumps_generation_and_serial) {
  FlowTable t;
  Flow& f = t.add(Instant::epoch(), guest_side(40000, 1), host_side(3));
  const FlowId old_id = f.id;
  const std::uint64_t old_serial = f.serial;
  t.clear_handle(f);
  BOOST_REQUIRE(t.remove(old_id));
  Flow& g = t.add(Instant::epoch(), guest_side(40000, 2), host_side(4));
  BOOST_CHECK_EQUAL(g.id.index, old_id.index);
  BOOST_CHECK_NE(g.id.generation, old_id.generation);
  BOOST_CHECK_GT(g.serial, old_serial);
  BOOST_CHECK(t.find(old_id) == nullptr);
  BOOST_CHECK(t.at_index(old_id.index) == &g);
}

BOOST_AUTO_TEST_CASE(rows_and_log_prefix) {
  FlowTable t;
  Flow& f = t.add(Instant::epoch() + Duration::seconds(1), guest_side(40000, 1), host_side(3));
  f.state = FlowState::guest_closed;
  f.bytes_guest_to_host = 10;
  f.bytes_host_to_guest = 20;
  f.last_activity = Instant::epoch() + Duration::seconds(4);
  BOOST_CHECK_EQUAL(FlowTable::describe(f), "flow 1 tcp 192.168.65.3:40000 -> 192.168.65.2:80 (127.0.0.1:80)");
  const auto rows = t.rows(Instant::epoch() + Duration::seconds(6));
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  BOOST_CHECK_EQUAL(rows[0].serial, 1u);
  BOOST_CHECK_EQUAL(rows[0].protocol, "tcp");
  BOOST_CHECK_EQUAL(rows[0].state, "GUEST_CLOSED");
  BOOST_CHECK_EQUAL(rows[0].guest_src, "192.168.65.3:40000");
  BOOST_CHECK_EQUAL(rows[0].guest_dst, "192.168.65.2:80");
  BOOST_CHECK_EQUAL(rows[0].host_remote, "127.0.0.1:80");
  BOOST_CHECK(rows[0].host_open);
  BOOST_CHECK_EQUAL(rows[0].bytes_guest_to_host, 10u);
  BOOST_CHECK_EQUAL(rows[0].bytes_host_to_guest, 20u);
  BOOST_CHECK(rows[0].age == Duration::seconds(5));
  BOOST_CHECK(rows[0].idle == Duration::seconds(2));
}

BOOST_AUTO_TEST_CASE(state_names) {
  BOOST_CHECK_EQUAL(to_string(FlowState::connecting), "CONNECTING");
  BOOST_CHECK_EQUAL(to_string(FlowState::established), "ESTABLISHED");
  BOOST_CHECK_EQUAL(to_string(FlowState::host_closed), "HOST_CLOSED");
  BOOST_CHECK_EQUAL(to_string(FlowState::closing), "CLOSING");
}

}  // namespace
}  // namespace tapwire::proxy
