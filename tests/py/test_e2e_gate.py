"""The end-to-end test's gate (tests/e2e/run_e2e.py): a machine that cannot run it gets
one SKIPPED line and a summary that counts it as skipped; a root run that lacks the
daemon binary or a tool fails instead of passing quietly."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
E2E = os.path.join(ROOT, "tests", "e2e")
sys.path.insert(0, E2E)
import run_e2e  # noqa: E402

NOBODY = 65534


def run_script(*args, as_user=None):
    def drop():
        os.setgid(NOBODY)
        os.setuid(as_user)
    return subprocess.run(["/usr/bin/python3", os.path.join(E2E, "run_e2e.py"), *args], capture_output=True,
                          text=True, timeout=60, preexec_fn=drop if as_user is not None else None,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def test_reasons_to_skip_are_not_root_and_no_tun():
    assert "root" in run_e2e.cannot_run_reason(euid=1000)
    assert "/nonexistent/tun" in run_e2e.cannot_run_reason(euid=0, tun="/nonexistent/tun")
    assert run_e2e.cannot_run_reason(euid=0, tun=__file__) is None


def test_missing_binary_and_tools_are_named():
    missing = run_e2e.missing_prerequisites("/nonexistent/tapwire", which=lambda tool: None)
    assert len(missing) == 3
    assert "/nonexistent/tapwire is not built" in missing[0]
    assert any(m.startswith("ip not found") for m in missing)
    assert any(m.startswith("busybox not found") for m in missing)
    assert run_e2e.missing_prerequisites(sys.executable, which=lambda tool: "/bin/" + tool) == []


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/net/tun"), reason="needs root and /dev/net/tun")
def test_root_run_without_the_daemon_fails():
    r = run_script("--tapwire", "/nonexistent/tapwire")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAIL prerequisite: /nonexistent/tapwire is not built" in r.stdout
    assert "SKIPPED" not in r.stdout
    assert r.stdout.strip().splitlines()[-1].startswith("e2e: ")
    assert ", 1 failed," in r.stdout.strip().splitlines()[-1]


def test_a_run_that_cannot_happen_is_skipped_not_passed():
    if os.geteuid() == 0:
        r = run_script("--tapwire", "/nonexistent/tapwire", as_user=NOBODY)
    else:
        r = run_script("--tapwire", "/nonexistent/tapwire")
    out = r.stdout.strip().splitlines()
    skipped = [line for line in out if line.startswith("SKIPPED: ")]
    assert len(skipped) >= 1 and "needs root" in skipped[0], r.stdout + r.stderr
    assert out[-1].startswith("e2e: ") and out[-1].endswith(f"{len(skipped)} skipped"), out[-1]
    assert "0 failed" in out[-1]
    # What ran is the fixture check alone: the skipped run adds nothing to "passed".
    assert out[-1].startswith("e2e: 1 passed") or out[-1].startswith("e2e: 0 passed")
    assert r.returncode == 0
