"""Packet formats: tapwire.wire.parse(frame) -> nested dict of layers, and builders
of common frames (tcp, tcp_syn, udp, icmp_echo, arp_request, ethernet) returning bytes.
The work is done by the proxy's own parsers and emitters (stack/wire)."""

from ._tapwire.wire import (  # noqa: F401
    GATEWAY_MAC,
    GUEST_MAC,
    arp_request,
    ethernet,
    icmp_echo,
    parse,
    tcp,
    tcp_syn,
    udp,
)

__all__ = ["parse", "ethernet", "tcp", "tcp_syn", "udp", "icmp_echo", "arp_request", "GUEST_MAC", "GATEWAY_MAC"]
