"""The capture fixture pcaps/dns_rr_order.pcap: the dns_rr_order scenario's frames at the
proxy's end of the link, re-recorded with

    build/bin/tapwire-sim run scenarios/dns_rr_order.json --seed 1 --pcap pcaps/dns_rr_order.pcap

It must stay what the scenario produces (a change that alters the proxy's frames
re-records it with that command), and Wireshark's dissector must read the reply's answer
section exactly: the CNAME chain in order, then the three addresses, nothing twice.
"""
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("TAPWIRE_BIN_DIR", ROOT / "build" / "bin"))
FIXTURE = ROOT / "pcaps" / "dns_rr_order.pcap"


def test_the_fixture_is_what_the_scenario_records(tmp_path):
    out = tmp_path / "dns_rr_order.pcap"
    subprocess.run([str(BIN / "tapwire-sim"), "run", str(ROOT / "scenarios" / "dns_rr_order.json"), "--seed", "1",
                    "--pcap", str(out), "--quiet"], check=True, capture_output=True, timeout=120)
    assert out.read_bytes() == FIXTURE.read_bytes(), "re-record pcaps/dns_rr_order.pcap (see this file's docstring)"


def test_tshark_reads_the_answer_section_in_order():
    r = subprocess.run(["tshark", "-r", str(FIXTURE), "-Y", "dns.flags.response == 1 && dns.id == 0x1234",
                        "-T", "fields", "-e", "dns.resp.name", "-e", "dns.resp.type", "-e", "dns.cname",
                        "-e", "dns.a", "-e", "dns.count.answers", "-e", "dns.flags.rcode",
                        "-e", "dns.flags.recavail", "-E", "separator=|", "-E", "aggregator=,"],
                       capture_output=True, text=True, timeout=60, check=True)
    lines = [l for l in r.stdout.splitlines() if l]
    assert len(lines) == 1, r.stdout
    names, types, cnames, addrs, count, rcode, ra = lines[0].split("|")
    assert names.split(",") == ["a.test", "b.test", "c.test", "d.test", "d.test", "d.test"]
    assert types.split(",") == ["5", "5", "5", "1", "1", "1"]
    assert cnames.split(",") == ["b.test", "c.test", "d.test"]
    assert addrs.split(",") == ["1.1.1.1", "2.2.2.2", "3.3.3.3"]
    assert (count, rcode, ra) == ("6", "0", "1")
