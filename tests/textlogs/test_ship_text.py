"""The CLI wiring of `ship syslog` / `ship file`, with the Kafka sink replaced by a ListSink."""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

import pytest

from logwarden.commands import ship_text
from logwarden.shippers.base import ListSink


class ClosingSink(ListSink):
    closed = False

    def close(self) -> None:
        self.closed = True


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--config")
    sub = p.add_subparsers(dest="ship_source")
    ship_text.register_ship(sub)
    return p


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> ClosingSink:
    s = ClosingSink()
    monkeypatch.setattr(ship_text, "_sink", lambda cfg: s)
    return s


def test_ship_file(tmp_path: Path, sink: ClosingSink, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "asa.log"
    log.write_text("%ASA-6-302013: Built inbound TCP connection 1 for outside:1.2.3.4/5 (1.2.3.4/5) to "
                   "inside:10.0.0.1/3389 (10.0.0.1/3389)\nnot asa\n")
    args = parser().parse_args(["file", str(log), "--source", "auto", "--state", str(tmp_path / "s.json"),
                                "--host", "h1", "--json"])
    assert args.func(args) == 0
    assert len(sink.events) == 1 and len(sink.dead) == 1 and sink.closed
    assert '"sent": 2' in capsys.readouterr().out
    assert args.func(args) == 0  # checkpoint: nothing repeated
    assert len(sink.events) == 1


def test_ship_file_usage_errors(tmp_path: Path, sink: ClosingSink) -> None:
    args = parser().parse_args(["file", str(tmp_path / "nope.log"), "--source", "fortigate"])
    assert args.func(args) == 2
    args = parser().parse_args(["file", str(tmp_path), "--source", "nosuch"])
    assert args.func(args) == 2


def test_ship_syslog_max_messages(sink: ClosingSink) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = parser().parse_args(["syslog", "--udp", f"127.0.0.1:{port}", "--max-messages", "3", "--duration", "10"])
    result: list[int] = []
    th = threading.Thread(target=lambda: result.append(args.func(args)))
    th.start()
    time.sleep(0.3)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(3):
        u.sendto(b"<13>Apr 14 00:00:00 h clamd[1]: /x: Eicar FOUND", ("127.0.0.1", port))
    u.close()
    th.join(15)
    assert result == [0] and len(sink.events) == 3 and sink.closed


def test_ship_syslog_needs_a_listener(sink: ClosingSink) -> None:
    args = parser().parse_args(["syslog"])
    assert args.func(args) == 2
