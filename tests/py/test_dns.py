"""DNS on the gateway from Python: forwarding, the host resolver's clean-up, NXDOMAIN vs
NODATA, truncation and the TCP retry, 0x20, failover, and the modes without an answer."""

import pytest

import tapwire
from helpers import GATEWAY

UPSTREAM = "10.0.0.53"
FORWARD = {"dns": {"upstreams": [UPSTREAM]}}
CHAIN = [
    "a.test CNAME b.test 60",
    "b.test CNAME c.test 60",
    "c.test CNAME d.test 60",
    "d.test A 1.1.1.1 60",
    "d.test A 2.2.2.2 60",
    "d.test A 3.3.3.3 60",
]
CHAIN_ANSWER = [
    ("a.test", "CNAME", 60, "b.test"),
    ("b.test", "CNAME", 60, "c.test"),
    ("c.test", "CNAME", 60, "d.test"),
    ("d.test", "A", 60, "1.1.1.1"),
    ("d.test", "A", 60, "2.2.2.2"),
    ("d.test", "A", 60, "3.3.3.3"),
]


def ask(sim, name, qtype="A", wait=15, **kwargs):
    q = sim.guest.dns_query(name, qtype, **kwargs)
    sim.run_until(lambda: q.done, timeout=wait, what=f"the answer to {name} {qtype}")
    return q


@pytest.mark.sim(proxy=FORWARD)
def test_rr_order_is_kept_exactly(sim):
    sim.host.add_dns_server(f"{UPSTREAM}:53", CHAIN, latency="5ms")
    q = ask(sim, "a.test", id=0x1234, strict=True)
    assert q.rcode == "NOERROR"
    assert q.answers == CHAIN_ANSWER
    assert q.id == 0x1234 and q.raw[:2] == b"\x12\x34"
    assert q.flags["qr"] and q.flags["ra"] and not q.flags["tc"]
    assert q.rejected is None and q.ok
    d = ask(sim, "d.test")
    assert [a[3] for a in d.answers] == ["1.1.1.1", "2.2.2.2", "3.3.3.3"]
    assert sim.leaks() == {}


@pytest.mark.sim(proxy={"dns": {"mode": "host"}})
def test_host_resolver_answer_is_deduplicated_and_ordered(sim):
    sim.host.set_resolver(CHAIN + ["x.test CNAME y.test 60", "p.test CNAME q.test", "q.test CNAME p.test"],
                          quirk="old_macos", ttl_drift=True, delay="10ms")
    q = ask(sim, "a.test", strict=True)
    assert (q.rcode, q.answers, q.rejected) == ("NOERROR", CHAIN_ANSWER, None)
    dangling = ask(sim, "x.test", strict=True)
    assert (dangling.rcode, dangling.answers) == ("NOERROR", [("x.test", "CNAME", 60, "y.test")])
    loop = ask(sim, "p.test")
    assert sorted(a[0] for a in loop.answers) == ["p.test", "q.test"]
    assert sim.proxy.stats()["dns.host_lookups"] == 3


@pytest.mark.sim(proxy=FORWARD)
def test_nxdomain_only_for_a_name_with_nothing(sim):
    sim.host.add_dns_server(f"{UPSTREAM}:53", ["svc.test A 203.0.113.5", "_sip._tcp.svc.test SRV 10 60 5060 svc.test",
                                               "svc.test TXT \"hello world\""])
    nodata = ask(sim, "svc.test", "AAAA")
    assert (nodata.rcode, nodata.answers) == ("NOERROR", [])
    srv = ask(sim, "_sip._tcp.svc.test", "SRV")
    assert srv.answers == [("_sip._tcp.svc.test", "SRV", 300, "10 60 5060 svc.test")]
    txt = ask(sim, "svc.test", "TXT")
    assert txt.answers == [("svc.test", "TXT", 300, '"hello world"')]
    missing = ask(sim, "nothing.test")
    assert (missing.rcode, missing.answers) == ("NXDOMAIN", [])
    builtin_mx = ask(sim, "gateway.internal", "MX")
    assert (builtin_mx.rcode, builtin_mx.answers, builtin_mx.flags["aa"]) == ("NOERROR", [], True)


@pytest.mark.sim(proxy=FORWARD)
def test_truncated_udp_answer_is_retried_over_tcp(sim):
    sim.host.add_dns_server(f"{UPSTREAM}:53", [f"big.test A 198.51.100.{i} 60" for i in range(1, 65)])
    q = ask(sim, "big.test")
    assert q.fell_back_to_tcp and q.transport == "tcp" and not q.truncated
    assert [a[3] for a in q.answers] == [f"198.51.100.{i}" for i in range(1, 65)]
    stats = sim.proxy.stats()
    assert stats["dns.truncated"] >= 1 and stats["dns.upstream_tcp"] >= 1
    without_fallback = ask(sim, "big.test", tcp_fallback=False)
    assert without_fallback.truncated and without_fallback.transport == "udp"
    assert len(without_fallback.answers) < 64


@pytest.mark.parametrize("mode", ["forward", "host"])
def test_0x20_case_is_echoed(make_sim, mode):
    sim = make_sim(vm={"ip": "192.168.65.9"}, proxy={"dns": {"mode": mode, "upstreams": [UPSTREAM]}})
    records = ["www.example.test A 203.0.113.10"]
    sim.host.add_dns_server(f"{UPSTREAM}:53", records)
    sim.host.set_resolver(records)
    q = ask(sim, "www.example.test", randomize_case=True)
    assert q.qname.lower() == "www.example.test" and q.qname != "www.example.test"
    assert q.rejected is None and q.rcode == "NOERROR"
    assert q.answers[0][3] == "203.0.113.10"


@pytest.mark.sim(proxy={"dns": {"upstreams": ["10.0.0.53", "10.0.0.54"], "offline_after": 2, "probe_interval": "1m"}})
def test_failover_to_the_next_group_and_offline_marking(sim):
    sim.host.add_dns_server("10.0.0.53:53", ["www.example.test A 203.0.113.10"], drop=1.0)
    sim.host.add_dns_server("10.0.0.54:53", ["www.example.test A 203.0.113.10", "mail.example.test A 203.0.113.25"])
    first = ask(sim, "www.example.test")
    assert first.rcode == "NOERROR" and first.udp_sends == 1
    assert 2.0 <= first.answered_at - first.sent_at < 2.1  # two 1 s timeouts, then the second group
    assert sim.proxy.stats()["dns.upstream_timeouts"] == 2
    dead = [u for u in sim.proxy.dns_status()["upstreams"] if u["server"] == "10.0.0.53"]
    assert dead and not dead[0]["online"]
    later = ask(sim, "mail.example.test")
    assert later.answered_at - later.sent_at < 0.05
    assert sim.host.dns_server("10.0.0.53:53")["queries_udp"] == 2


def test_servfail_without_upstreams(sim):
    q = ask(sim, "www.example.test")
    assert (q.rcode, q.answers) == ("SERVFAIL", [])
    assert ask(sim, "gateway.internal").answers == [("gateway.internal", "A", 60, GATEWAY)]


@pytest.mark.sim(proxy={"dns": {"mode": "off"}})
def test_mode_off_answers_nothing(sim):
    q = ask(sim, "gateway.internal", timeout=0.5, retries=0)
    assert q.timed_out and q.rcode is None and q.answers == []
    assert sim.guest.counters()["icmp_errors_in"] >= 1  # port unreachable from the gateway
    assert sim.proxy.stats()["dns.queries"] == 0


def test_pipelined_queries_share_one_connection(sim):
    qs = sim.guest.dns_query_pipelined(["gateway.internal", {"name": "host.internal", "id": 7}, "vm.internal"])
    sim.run_until(lambda: all(q.done for q in qs), timeout=5)
    assert [q.answers[0][3] for q in qs] == [GATEWAY, "192.168.65.2", "192.168.65.9"]
    assert qs[1].id == 7 and all(q.transport == "tcp" for q in qs)
    assert sim.stats()["guest.dns.tcp_channels"] == 1


def test_dns_from_a_host_dict(make_sim):
    sim = make_sim(vm={"ip": "192.168.65.9"}, proxy=FORWARD,
                   host={"dns_servers": [{"address": f"{UPSTREAM}:53", "records": ["h.test A 192.0.2.1"]}]})
    assert ask(sim, "h.test").answers == [("h.test", "A", 300, "192.0.2.1")]


def test_bad_arguments_raise_value_error(sim):
    cases = [
        (lambda: sim.guest.dns_query("a.test", "AAA"), "qtype"),
        (lambda: sim.guest.dns_query("a..test"), "name"),
        (lambda: sim.guest.dns_query("a.test", id=70000), "id"),
        (lambda: sim.guest.dns_query("a.test", edns=100), "edns"),
        (lambda: sim.guest.dns_query("a.test", timeout="soon"), "timeout"),
        (lambda: sim.guest.dns_query_pipelined([{"name": "a.test", "tcp": True}]), "unknown key 'tcp'"),
        (lambda: sim.host.add_dns_server("10.0.0.53", []), "address"),
        (lambda: sim.host.add_dns_server("10.0.0.53:53", ["a.test CNAM b.test"]), "CNAM"),
        (lambda: sim.host.add_dns_server("10.0.0.53:53", [], drop=2.0), "drop"),
        (lambda: sim.host.add_dns_server("10.0.0.53:53", [], order="random"), "order"),
        (lambda: sim.host.add_dns_server("10.0.0.53:53", [], rcode="NXDOMIAN"), "rcode"),
        (lambda: sim.host.set_resolver([], quirk="old_macs"), "quirk"),
        (lambda: sim.host.set_resolver(["x"]), "set_resolver"),
    ]
    for call, fragment in cases:
        with pytest.raises(ValueError, match=fragment):
            call()
    with pytest.raises(ValueError, match="hosts_file"):
        tapwire.Sim(proxy={"dns": {"hosts_file": "/etc/hosts"}})
    with pytest.raises(ValueError, match="dns.mode"):
        tapwire.Sim(proxy={"dns": {"mode": "recursive"}})
