"""The source registry: what the built-in declarations say, discovery order and cost, and how
bad declarations and plug-ins are handled."""

from __future__ import annotations

import importlib.metadata
import io
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from logwarden.errors import UsageError
from logwarden.shippers import autodetect, capabilities, registry
from logwarden.shippers.base import Event, ListSink
from logwarden.shippers.filetail import FileTail
from logwarden.shippers.source import PARSER_LINE, Source, SourceError

ROOT = Path(__file__).resolve().parents[2]
# the order autodetect tried the formats in before the contract existed (most specific first)
HISTORICAL_ORDER = ["cef", "cisco_asa", "pfsense", "panos", "fortigate", "iptables", "symantec", "eset", "clamav",
                    "winfirewall"]
# with the incident's devices (docs/devices.md) at their priorities
SIGNATURE_ORDER = ["cef", "huawei_usg", "cisco_asa", "pfsense", "panos", "sangfor", "secgate", "fortigate", "iptables",
                   "symantec", "eset", "ruijie", "clamav", "winfirewall"]


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    registry.reset()
    autodetect.reset()
    yield
    registry.reset()
    autodetect.reset()


def test_builtin_sources_and_their_capabilities() -> None:
    found = registry.sources()
    assert sorted(found) == sorted([*SIGNATURE_ORDER, "huorong", "windows"])
    assert [s.name for s in registry.signatures()] == SIGNATURE_ORDER
    assert [name for name in SIGNATURE_ORDER if name in HISTORICAL_ORDER] == HISTORICAL_ORDER
    assert {n: s.dataset for n, s in found.items() if s.dataset != "firewall"} == {
        "clamav": "av", "eset": "av", "symantec": "av", "huorong": "av", "windows": "windows"}
    assert registry.names(lambda s: s.tailable) == sorted(set(found) - {"windows"})
    assert registry.names(lambda s: s.positions != "offset") == ["huorong", "windows"]
    assert capabilities.row_reader("huorong") is not None and capabilities.row_reader("iptables") is None
    for s in found.values():
        assert callable(s.stream_parser())
        if s.line_oriented:
            assert callable(s.line_parser()) and hasattr(s.new_line_session(), "feed")
        fields = s.fields_file()
        assert fields is not None and fields.name == "fields.yml"


def test_declarations_state_only_what_differs() -> None:
    """The conventional references are derived, never spelled out: a line parser is the
    package's parser.parse_line, a stream parser over its lines is derived from it."""
    for s in registry.sources().values():
        assert s.parse_line in (None, PARSER_LINE), s.name
        if s.parse_line is not None:
            parser = importlib.import_module(f"{s.package}.parser")
            assert s.line_parser() is parser.parse_line, s.name
    assert registry.source("windows").parse_line is None and not registry.source("windows").line_oriented
    bare = Source(name="bare", package="logwarden.shippers.iptables", dataset="firewall", summary="t")
    raw = b"IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP\n"
    items = list(bare.stream_parser()("f", io.BytesIO(raw)))
    assert [type(i).__name__ for i in items] == ["Event"] and bare.line_oriented


def test_declared_fields_files_exist() -> None:
    missing = {n for n, s in registry.sources().items() if not (f := s.fields_file()) or not f.is_file()}
    assert missing == set()


def test_discovery_imports_no_parser_and_help_discovers_nothing() -> None:
    code = (
        "import sys\n"
        "from logwarden.cli import build_parser\n"
        "build_parser().format_help()\n"
        "before = {m for m in sys.modules if m.startswith('logwarden.shippers.')}\n"
        "from logwarden.shippers import registry\n"
        "registry.sources()\n"
        "after = {m for m in sys.modules if m.startswith('logwarden.shippers.')}\n"
        "print(sorted(before)); print(sorted(after))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    before, after = (eval(line) for line in out.stdout.splitlines())  # noqa: S307 - our own repr of a list
    assert not any(m.removeprefix("logwarden.shippers.") in registry.sources() for m in before)
    assert set(registry.sources()) <= {m.removeprefix("logwarden.shippers.") for m in after}
    loaded = [m for m in after if m.endswith((".parser", ".stream", ".normalise", ".textlog"))]
    assert loaded == []


def test_unknown_names_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown source 'nosuch'; known: cef, cisco_asa"):
        capabilities.stream_parser("nosuch")
    with pytest.raises(UsageError, match="not be read by `ship file`"):
        FileTail("x.log", "windows", ListSink())
    assert callable(capabilities.stream_parser("auto")) and capabilities.positions("auto") == "offset"


@pytest.mark.parametrize(("fields", "message"), [
    ({"dataset": "alerts"}, "dataset must be one of windows, firewall, av"),
    ({"name": "Acme-FW"}, "name must be lower-case"),
    ({"parse_line": None}, "needs parse_line or parse_stream"),
    ({"parse_line": None, "parse_stream": ".p:s", "follow": True}, "follow needs parse_line or read_rows"),
    ({"parse_line": "parser.parse_line"}, "is not 'module:attribute'"),
    ({"positions": "bytes"}, "positions must be one of"),
])
def test_declarations_that_break_the_contract(fields: dict, message: str) -> None:
    base = {"name": "acme", "package": "acme_logs", "dataset": "firewall", "summary": "x",
            "parse_line": ".parser:parse_line"}
    with pytest.raises(SourceError, match=message):
        Source(**{**base, **fields})


def test_plugins_that_clash_or_lie_are_left_out(monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    group = registry.ENTRY_POINT_GROUP
    eps = [importlib.metadata.EntryPoint("cef", "logwarden.shippers.cef:SOURCE", group),  # a built-in's name
           importlib.metadata.EntryPoint("other", "logwarden.shippers.eset:SOURCE", group),  # declares "eset"
           importlib.metadata.EntryPoint("nodecl", "logwarden.errors", group),  # no SOURCE in it
           importlib.metadata.EntryPoint("gone", "no_such_module_xyz:SOURCE", group)]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [e for e in eps if e.group == group])
    with caplog.at_level(logging.WARNING, logger="logwarden.shippers.registry"):
        found = registry.sources()
    assert sorted(found) == sorted([*SIGNATURE_ORDER, "huorong", "windows"])
    text = caplog.text
    assert "source 'cef' from entry point ignored: the name is taken" in text
    assert "declares the name 'eset'; ignored" in text
    assert "no Source declaration (got module)" in text
    assert "source 'gone' (no_such_module_xyz:SOURCE) cannot be loaded, ignored: ModuleNotFoundError" in text


def test_a_plugin_signature_takes_its_priority_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party signature runs where its priority puts it: before a broader built-in one."""
    def every_kernel_line(message: str, app: str) -> bool:
        return app == "kernel"

    greedy = Source(name="kernelfw", package="logwarden.shippers.iptables", dataset="firewall", summary="t",
                    parse_line=".parser:parse_line", matches=every_kernel_line, priority=59)
    monkeypatch.setattr(registry, "_plugins", lambda: iter([greedy]))
    order = [s.name for s in registry.signatures()]
    assert order[order.index("kernelfw"):][:2] == ["kernelfw", "iptables"]
    raw = b"<4>Apr 14 00:20:11 gw01 kernel: IPTABLES-DROP: IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP"
    assert autodetect.detect(raw.decode().split("kernel: ", 1)[1], "kernel") == "kernelfw"
    item = autodetect.parse_line(raw, "s", 0)
    assert isinstance(item, Event) and item.doc["event"]["module"] == "iptables"  # its parser, reused


def test_parse_stream_is_derived_from_a_line_parser() -> None:
    only_lines = Source(name="lines", package="logwarden.shippers.iptables", dataset="firewall", summary="t",
                        parse_line=".parser:parse_line")
    raw = b"\nIN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP\n\nnot a line of it\n"
    items = list(only_lines.stream_parser()("f", io.BytesIO(raw)))
    assert [type(i).__name__ for i in items] == ["Event", "DeadLetter"]
    assert [i.position for i in items] == [raw.index(b"IN="), raw.index(b"not")]  # byte offsets of the lines


def test_follow_is_refused_where_the_declaration_says_no(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    once = Source(name="once", package="logwarden.shippers.iptables", dataset="firewall", summary="t",
                  parse_line=".parser:parse_line", follow=False)
    monkeypatch.setattr(registry, "_plugins", lambda: iter([once]))
    log = tmp_path / "a.log"
    log.write_bytes(b"IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP\n")
    with pytest.raises(UsageError, match="source 'once' cannot be followed"):
        FileTail(str(log), "once", ListSink(), follow=True)
    sink = ListSink()
    assert FileTail(str(log), "once", sink).run() == {"sent": 1, "parsed": 1, "dead": 0}
    assert "once" not in registry.names(lambda s: s.follow) and "once" in registry.names(lambda s: s.tailable)
