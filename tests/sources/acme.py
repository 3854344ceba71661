"""A made-up log source, "acme" (an Acme firewall's `ACMEFW key=value` lines), written to disk as
a new source package: as a third-party distribution (a `*.dist-info/entry_points.txt` beside it,
found on PYTHONPATH) or as a folder inside a copy of `logwarden/shippers`. Nothing else changes:
the tests check that every command picks it up from its declaration alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

INIT = '''"""Acme firewall (a source made up by the tests)."""

from logwarden.shippers.source import Source


def matches(message: str, app: str) -> bool:
    return message.startswith("ACMEFW ")


SOURCE = Source(
    name="{name}",
    package=__name__,
    dataset="firewall",
    summary="Acme firewall ACMEFW lines",
    matches=matches,  # its line parser: parser.py's parse_line, by convention (no reference)
    priority=55,
    follow=True,
)
'''

PARSER = '''"""ACMEFW act=deny src=IP:PORT dst=IP:PORT proto=tcp -> ECS firewall documents."""

from logwarden.shippers import textlog as t
from logwarden.shippers.keyvalue import kv_pairs

PARSER_IMPORTED = True


def parse(msg, hdr):
    if not msg.startswith("ACMEFW "):
        raise t.ParseError("not an ACMEFW line")
    kv = kv_pairs(msg[7:])
    if "act" not in kv or "src" not in kv:
        raise t.ParseError("missing act or src")
    doc = {{}}
    for side, key in (("source", "src"), ("destination", "dst")):
        ip, _, port = kv.get(key, "").rpartition(":")
        t.endpoint(doc, side, ip, port)
    t.transport(doc, kv.get("proto"))
    t.verdict(doc, kv["act"], allowed=kv["act"] == "allow")
    return doc


parse_line = t.line_parser("{name}", "firewall", parse)
'''

BROKEN_INIT = 'raise RuntimeError("this source package is broken")\n'


def line(i: int, act: str = "deny") -> bytes:
    """One good ACMEFW line (with an RFC 3164 header), distinct per i."""
    return (f"<134>Apr 14 00:20:11 acme-gw ACMEFW act={act} src=203.0.113.{i % 250 + 1}:{1024 + i} "
            f"dst=192.168.10.21:3389 proto=tcp").encode()


def write_package(parent: Path, package: str, name: str) -> Path:
    """The source package `package` (declaring source `name`) under `parent`."""
    pkg = parent / package
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(INIT.format(name=name), encoding="utf-8")
    (pkg / "parser.py").write_text(PARSER.format(name=name), encoding="utf-8")
    return pkg


def write_distribution(site: Path, *, broken: bool = False) -> Path:
    """`site/` holding acme_logs + its dist-info (entry point `acme = acme_logs:SOURCE`); with
    `broken`, also a distribution whose source package raises on import."""
    write_package(site, "acme_logs", "acme")
    dist = site / "acme_logs-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-logs\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[logwarden.sources]\nacme = acme_logs:SOURCE\n", encoding="utf-8")
    if broken:
        (site / "broken_logs").mkdir()
        (site / "broken_logs" / "__init__.py").write_text(BROKEN_INIT, encoding="utf-8")
        dist = site / "broken_logs-0.1.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-logs\nVersion: 0.1\n", encoding="utf-8")
        (dist / "entry_points.txt").write_text("[logwarden.sources]\nbroken = broken_logs:SOURCE\n",
                                               encoding="utf-8")
    return site


def copy_with_source(dest: Path, name: str) -> Path:
    """A copy of the logwarden package under `dest` with a new folder logwarden/shippers/<name>."""
    shutil.copytree(ROOT / "logwarden", dest / "logwarden", symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__", "golden", "testdata"))
    write_package(dest / "logwarden" / "shippers", name, name)
    return dest


def env_with(site: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(base if base is not None else os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
    return env


def cli(*args: str, env: dict[str, str], cwd: Path = ROOT, stdin: bytes | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "logwarden.cli", *args], env=env, cwd=cwd, input=stdin,
                          capture_output=True, timeout=timeout)
