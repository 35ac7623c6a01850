#define BOOST_TEST_MODULE flow_table
#include <boost/test/unit_test.hpp>

#include "stack/proxy/flow_table.h"

namespace tapwire::proxy {
namespace {

const wire::Ipv4Addr kGuest = wire::Ipv4Addr::from_octets(192, 168, 65, 3);
const wire::Ipv4Addr kAlias = wire::Ipv4Addr::from_octets(192, 168, 65, 2);
const wire::Ipv4Addr kGateway = wire::Ipv4Addr::from_octets(192, 168, 65, 1);

FlowSide guest_side(std::uint16_t sport, std::uint32_t conn_index) {
  return FlowSide{Pif::guest, tcp::Endpoint{kGuest, sport}, tcp::Endpoint{kAlias, 80}, tcp::ConnId{conn_index, 1}, {}};
}
FlowSide host_side(std::uint32_t handle_index) {
  return FlowSide{Pif::host, tcp::Endpoint{wire::Ipv4Addr::loopback(), 80}, {}, {}, host::Handle{handle_index, 1}};
}
Flow& add_tcp(FlowTable& t, std::uint16_t sport, std::uint32_t conn, std::uint32_t handle,
              Instant at = Instant::epoch()) {
  return t.add(at, FlowProtocol::tcp, guest_side(sport, conn), host_side(handle));
}

BOOST_AUTO_TEST_CASE(lookups_by_conn_handle_and_guest_endpoints) {
  FlowTable t;
  Flow& a = add_tcp(t, 40000, 5, 7);
  const FlowId a_id = a.id;
  add_tcp(t, 40001, 6, 8);
  BOOST_CHECK_EQUAL(t.size(), 2u);
  BOOST_CHECK_EQUAL(t.size(FlowProtocol::tcp), 2u);
  BOOST_CHECK_EQUAL(t.size(FlowProtocol::udp), 0u);
  BOOST_REQUIRE(t.by_conn(tcp::ConnId{5, 1}) != nullptr);
  BOOST_CHECK(t.by_conn(tcp::ConnId{5, 1})->id == a_id);
  BOOST_CHECK(t.by_conn(tcp::ConnId{5, 2}) == nullptr);  // another generation
  BOOST_REQUIRE(t.by_handle(host::Handle{8, 1}) != nullptr);
  BOOST_CHECK_EQUAL(t.by_handle(host::Handle{8, 1})->guest().peer.port, 40001);
  BOOST_CHECK(t.by_handle(host::Handle{8, 2}) == nullptr);
  BOOST_REQUIRE(t.by_guest(FlowProtocol::tcp, tcp::Endpoint{kGuest, 40000}, tcp::Endpoint{kAlias, 80}) != nullptr);
  BOOST_CHECK(t.by_guest(FlowProtocol::tcp, tcp::Endpoint{kGuest, 40002}, tcp::Endpoint{kAlias, 80}) == nullptr);
  // The same endpoints under another protocol are another flow.
  BOOST_CHECK(t.by_guest(FlowProtocol::udp, tcp::Endpoint{kGuest, 40000}, tcp::Endpoint{kAlias, 80}) == nullptr);
}

BOOST_AUTO_TEST_CASE(remove_refused_while_host_handle_open) {
  FlowTable t;
  const FlowId id = add_tcp(t, 40000, 1, 3).id;
  BOOST_CHECK(!t.remove(id));  // vpnkit#214: close the host socket first
  BOOST_CHECK_EQUAL(t.size(), 1u);
  t.clear_handle(*t.find(id));
  BOOST_CHECK(t.by_handle(host::Handle{3, 1}) == nullptr);
  BOOST_CHECK_EQUAL(t.open_handles(), 0u);
  BOOST_CHECK(t.remove(id));
  BOOST_CHECK(t.empty());
  BOOST_CHECK_EQUAL(t.size(FlowProtocol::tcp), 0u);
  BOOST_CHECK(t.find(id) == nullptr);
  BOOST_CHECK(t.by_conn(tcp::ConnId{1, 1}) == nullptr);
  BOOST_CHECK_EQUAL(t.connections(), 0u);
  BOOST_CHECK(t.by_guest(FlowProtocol::tcp, tcp::Endpoint{kGuest, 40000}, tcp::Endpoint{kAlias, 80}) == nullptr);
  BOOST_CHECK(!t.remove(id));  // stale id
}

BOOST_AUTO_TEST_CASE(slot_reuse_bumps_generation_and_serial) {
  FlowTable t;
  Flow& f = add_tcp(t, 40000, 1, 3);
  const FlowId old_id = f.id;
  const std::uint64_t old_serial = f.serial;
  t.clear_handle(f);
  BOOST_REQUIRE(t.remove(old_id));
  Flow& g = add_tcp(t, 40000, 2, 4);
  BOOST_CHECK_EQUAL(g.id.index, old_id.index);
  BOOST_CHECK_NE(g.id.generation, old_id.generation);
  BOOST_CHECK_GT(g.serial, old_serial);
  BOOST_CHECK(t.find(old_id) == nullptr);
  BOOST_CHECK(t.find(g.id) == &g);
}

BOOST_AUTO_TEST_CASE(set_handle_moves_the_index) {
  FlowTable t;
  Flow& f = t.add(Instant::epoch(), FlowProtocol::tcp, guest_side(40000, 1), FlowSide{Pif::host, {}, {}, {}, {}});
  BOOST_CHECK_EQUAL(t.open_handles(), 0u);
  t.set_handle(f, host::Handle{9, 1});
  BOOST_CHECK(t.by_handle(host::Handle{9, 1}) == &f);
  t.set_handle(f, host::Handle{10, 1});
  BOOST_CHECK(t.by_handle(host::Handle{9, 1}) == nullptr);
  BOOST_CHECK(t.by_handle(host::Handle{10, 1}) == &f);
  BOOST_CHECK_EQUAL(t.open_handles(), 1u);
}

BOOST_AUTO_TEST_CASE(rows_and_log_prefix) {
  FlowTable t;
  Flow& f = add_tcp(t, 40000, 1, 3, Instant::epoch() + Duration::seconds(1));
  f.state = FlowState::guest_closed;
  f.bytes_guest_to_host = 10;
  f.bytes_host_to_guest = 20;
  f.last_activity = Instant::epoch() + Duration::seconds(4);
  BOOST_CHECK_EQUAL(FlowTable::describe(f), "flow 1 tcp 192.168.65.3:40000 -> 192.168.65.2:80 (127.0.0.1:80)");
  const auto rows = t.rows(Instant::epoch() + Duration::seconds(6));
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  BOOST_CHECK_EQUAL(rows[0].serial, 1u);
  BOOST_CHECK_EQUAL(rows[0].protocol, "tcp");
  BOOST_CHECK_EQUAL(rows[0].initiator, "guest");
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

// A port forward's shape: the host initiates, the guest is the target. The same
// table, indexes and rows serve it.
BOOST_AUTO_TEST_CASE(host_initiated_flow) {
  FlowTable t;
  const FlowSide host_client{Pif::host, tcp::Endpoint{wire::Ipv4Addr::loopback(), 55555},
                             tcp::Endpoint{wire::Ipv4Addr::loopback(), 8080}, {}, host::Handle{4, 1}};
  const FlowSide guest_server{Pif::guest, tcp::Endpoint{kGuest, 80}, tcp::Endpoint{kGateway, 61000},
                              tcp::ConnId{2, 1}, {}};
  Flow& f = t.add(Instant::epoch(), FlowProtocol::tcp, host_client, guest_server);
  BOOST_CHECK(!f.guest_initiated());
  BOOST_CHECK(&f.guest() == &f.target);
  BOOST_CHECK(&f.host() == &f.initiator);
  BOOST_CHECK(t.by_conn(tcp::ConnId{2, 1}) == &f);
  BOOST_CHECK(t.by_handle(host::Handle{4, 1}) == &f);
  BOOST_CHECK(t.by_guest(FlowProtocol::tcp, tcp::Endpoint{kGuest, 80}, tcp::Endpoint{kGateway, 61000}) == &f);
  BOOST_CHECK_EQUAL(FlowTable::describe(f),
                    "flow 1 tcp host 127.0.0.1:55555 -> 127.0.0.1:8080 (guest 192.168.65.3:80)");
  const auto rows = t.rows(Instant::epoch());
  BOOST_REQUIRE_EQUAL(rows.size(), 1u);
  BOOST_CHECK_EQUAL(rows[0].initiator, "host");
  BOOST_CHECK_EQUAL(rows[0].guest_src, "192.168.65.1:61000");  // the gateway opened it
  BOOST_CHECK_EQUAL(rows[0].guest_dst, "192.168.65.3:80");
  BOOST_CHECK_EQUAL(rows[0].host_remote, "127.0.0.1:55555");
}

BOOST_AUTO_TEST_CASE(datagram_flows_share_the_table) {
  FlowTable t;
  const FlowSide udp_guest{Pif::guest, tcp::Endpoint{kGuest, 5000}, {}, {}, {}};
  const FlowSide udp_host{Pif::host, {}, {}, {}, host::Handle{1, 1}};
  const FlowId u = t.add(Instant::epoch(), FlowProtocol::udp, udp_guest, udp_host).id;
  const FlowSide ping_guest{Pif::guest, tcp::Endpoint{kGuest, 77}, tcp::Endpoint{kAlias, 0}, {}, {}};
  const FlowSide ping_host{Pif::host, tcp::Endpoint{wire::Ipv4Addr::loopback(), 1}, {}, {}, host::Handle{2, 1}};
  const FlowId p = t.add(Instant::epoch(), FlowProtocol::icmp, ping_guest, ping_host).id;
  add_tcp(t, 40000, 1, 3);  // (references from add() do not survive a later add)
  BOOST_CHECK(t.find(u)->state == FlowState::active);
  BOOST_CHECK(t.find(p)->state == FlowState::active);
  BOOST_CHECK_EQUAL(t.size(FlowProtocol::udp), 1u);
  BOOST_CHECK_EQUAL(t.size(FlowProtocol::icmp), 1u);
  BOOST_CHECK_EQUAL(t.size(FlowProtocol::tcp), 1u);
  BOOST_CHECK(t.by_guest(FlowProtocol::udp, tcp::Endpoint{kGuest, 5000}, {}) == t.find(u));
  BOOST_CHECK(t.by_guest(FlowProtocol::icmp, tcp::Endpoint{kGuest, 77}, tcp::Endpoint{kAlias, 0}) == t.find(p));
  BOOST_CHECK(t.by_handle(host::Handle{2, 1}) == t.find(p));
  const auto rows = t.rows(Instant::epoch());
  BOOST_REQUIRE_EQUAL(rows.size(), 3u);
  BOOST_CHECK_EQUAL(rows[0].protocol, "udp");
  BOOST_CHECK_EQUAL(rows[0].state, "ACTIVE");
  BOOST_CHECK_EQUAL(rows[0].guest_src, "192.168.65.3:5000");
  BOOST_CHECK_EQUAL(rows[1].protocol, "icmp");
  BOOST_CHECK_EQUAL(rows[1].guest_src, "192.168.65.3 id 77");
  BOOST_CHECK_EQUAL(rows[1].guest_dst, "192.168.65.2");
  BOOST_CHECK_EQUAL(rows[1].host_remote, "127.0.0.1");
  BOOST_CHECK_EQUAL(rows[2].protocol, "tcp");
}

BOOST_AUTO_TEST_CASE(state_names) {
  BOOST_CHECK_EQUAL(to_string(FlowState::connecting), "CONNECTING");
  BOOST_CHECK_EQUAL(to_string(FlowState::established), "ESTABLISHED");
  BOOST_CHECK_EQUAL(to_string(FlowState::guest_closed), "GUEST_CLOSED");
  BOOST_CHECK_EQUAL(to_string(FlowState::host_closed), "HOST_CLOSED");
  BOOST_CHECK_EQUAL(to_string(FlowState::closing), "CLOSING");
  BOOST_CHECK_EQUAL(to_string(FlowState::active), "ACTIVE");
}

}  // namespace
}  // namespace tapwire::proxy
