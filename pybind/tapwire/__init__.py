"""Tapwire from Python: the deterministic simulator and the packet formats.

    import tapwire
    sim = tapwire.Sim(seed=1, vm={"ip": "192.168.65.9"})
    sim.host.add_server("127.0.0.1:7", "echo")
    conn = sim.guest.tcp_connect("192.168.65.2", 7)
    sim.run_until(lambda: conn.state == "ESTABLISHED", timeout=1)

Names: Sim (see help(tapwire.Sim)), run_scenario, wire (parse and build frames), and
the view classes the simulator returns (Guest, Host, Proxy, Link, Rule, Connection,
HostConnection, Listener, Lease, Ping, Datagram, DnsQuery, ScenarioResult, Expectation).
The pytest plugin is tapwire.pytest_plugin (a seeded `sim` fixture).
"""

from ._tapwire import (  # noqa: F401
    Datagram,
    DnsQuery,
    Expectation,
    Guest,
    Host,
    HostConnection,
    Lease,
    Link,
    Listener,
    Connection,
    Ping,
    Proxy,
    Rule,
    ScenarioResult,
    Sim,
    run_scenario,
)
from . import wire  # noqa: F401

__all__ = [
    "Sim",
    "run_scenario",
    "wire",
    "Guest",
    "Host",
    "Proxy",
    "Link",
    "Rule",
    "Connection",
    "HostConnection",
    "Listener",
    "Lease",
    "Ping",
    "Datagram",
    "DnsQuery",
    "ScenarioResult",
    "Expectation",
]
