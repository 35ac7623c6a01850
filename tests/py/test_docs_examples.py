"""The documented examples work.

- Every shell command of the READMEs (and docs/) that runs a Tapwire binary is found; the
  ones that need neither root nor a VM (--help, --check-config, `tapwire-sim run`,
  `tapwire-sim decode`) are run from the repository root and must exit 0.
- Every daemon flag the docs show (in `tapwire ...` commands, the README's daemon section
  and the `proxy` section of scenarios/README.md) is one that `tapwire --help` lists.
- The pytest example of tests/py/README.md runs in an empty temporary folder with only
  the module on PYTHONPATH and the documented one-line conftest.py.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("TAPWIRE_BIN_DIR", ROOT / "build" / "bin"))
PYTHONPATH = Path(os.environ.get("TAPWIRE_PYTHONPATH", ROOT / "build" / "python"))


def doc_files():
    files = [ROOT / "README.md", ROOT / "scenarios" / "README.md", ROOT / "tests" / "py" / "README.md"]
    files += sorted((ROOT / "docs").glob("**/*.md")) if (ROOT / "docs").is_dir() else []
    return [f for f in files if f.is_file()]


def code_blocks(text, languages=("sh", "")):
    """The bodies of fenced code blocks in one of `languages`."""
    return [m.group(2) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M) if m.group(1) in languages]


BINARY = re.compile(r"^(?:\$ )?((?:build/bin/)?tapwire(?:-sim)?)(\s|$)")


def commands(block):
    """Lines of a shell block that run a Tapwire binary, continuations joined, comments cut."""
    out = []
    for line in block.replace("\\\n", " ").splitlines():
        line = line.strip()
        if BINARY.match(line):
            out.append(line[2:] if line.startswith("$ ") else line)
    return out


def documented_commands():
    found = []
    for f in doc_files():
        for block in code_blocks(f.read_text()):
            for command in commands(block):
                found.append((f.relative_to(ROOT).as_posix(), command))
    return found


def argv_of(command):
    words = shlex.split(command, comments=True)
    name = Path(words[0]).name
    return [str(BIN / name)] + words[1:]


def runs_without_root_or_vm(argv):
    name, args = Path(argv[0]).name, argv[1:]
    if name == "tapwire":
        return "--help" in args or "--check-config" in args
    return bool(args) and (args[0] in ("run", "decode", "--help"))


COMMANDS = documented_commands()
SAFE = [(f, c) for f, c in COMMANDS if runs_without_root_or_vm(argv_of(c))]


def test_the_docs_show_commands_and_some_are_safe_to_run():
    assert len(COMMANDS) >= 8, COMMANDS
    assert {Path(argv_of(c)[0]).name for _, c in SAFE} == {"tapwire", "tapwire-sim"}, SAFE


@pytest.mark.parametrize("doc,command", SAFE, ids=[f"{f}: {c[:60]}" for f, c in SAFE])
def test_documented_command_exits_0(doc, command):
    r = subprocess.run(argv_of(command), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{doc}: `{command}` exited {r.returncode}:\n{r.stderr[-2000:]}"
    if "--check-config" in command:
        assert r.stdout.lstrip().startswith("{"), r.stdout[:200]


def daemon_help_flags():
    text = subprocess.run([str(BIN / "tapwire"), "--help"], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"^  (--[a-z][a-z0-9-]*)", text, re.M))


FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def section(text, heading, stop):
    start = text.index(heading)
    end = text.find(stop, start + len(heading))
    return text[start:] if end < 0 else text[start:end]


def documented_daemon_flags():
    """(where, flag) for every flag the docs attribute to the daemon."""
    found = []
    for doc, command in COMMANDS:
        words = shlex.split(command, comments=True)
        if Path(words[0]).name == "tapwire" and words[1:2] != ["ctl"]:
            found += [(doc, w.split("=")[0]) for w in words[1:] if w.startswith("--")]
    readme = (ROOT / "README.md").read_text()
    prose = [("README.md#the-daemon", section(readme, "## The daemon", "### End-to-end tests")),
             ("scenarios/README.md#proxy", section((ROOT / "scenarios" / "README.md").read_text(), "## `proxy`",
                                                   "\n## "))]
    for where, text in prose:
        for span in re.findall(r"`([^`\n]+)`", text):
            found += [(where, flag) for flag in FLAG.findall(span) if span.lstrip().startswith(("--", "tapwire "))]
    return found


def test_every_documented_daemon_flag_is_accepted():
    accepted = daemon_help_flags()
    flags = documented_daemon_flags()
    assert len({f for _, f in flags}) >= 10, flags
    unknown = sorted({(where, f) for where, f in flags if f not in accepted})
    assert not unknown, f"documented flags that `tapwire --help` does not list: {unknown}"
    for flag in ("--dhcp-lease-time", "--tcp-sack", "--connect-timeout", "--check-config", "--forward"):
        assert flag in accepted


def test_readme_pytest_example_runs_in_an_empty_folder(tmp_path):
    readme = (ROOT / "tests" / "py" / "README.md").read_text()
    blocks = code_blocks(readme, ("python",))
    conftest = [b for b in blocks if b.strip().startswith("pytest_plugins")]
    example = [b for b in blocks if "def test_" in b]
    assert conftest == ['pytest_plugins = ["tapwire.pytest_plugin"]\n'], conftest
    assert len(example) == 1, example
    (tmp_path / "conftest.py").write_text(conftest[0])
    (tmp_path / "test_my_bug.py").write_text(example[0])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PYTHON"))}
    env["PYTHONPATH"] = str(PYTHONPATH)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "1 passed" in r.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "__pycache__") == ["conftest.py", "test_my_bug.py"]
