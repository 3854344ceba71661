"""The CLI wiring of `ship syslog` / `ship file`, with the Kafka sink replaced by a ListSink: a
unit test of the command's logic (exit codes, checkpoint, which errors count as Kafka's). Each
feature it covers also runs on the real servers:

- a file with a dead letter: exit 1, the good records shipped, `--json` counts, a rerun from the
  checkpoint ships nothing: textlogs/test_syslog_servers.py::test_ship_file_exact_counts;
  `--source auto`: reconcile/test_ship_reconcile_servers.py; `--state`:
  test_syslog_servers.py::test_ship_file_sigkill_then_resume; `--host`: textlogs/test_huorong_servers.py
- usage errors (no such file, unknown source, a source `ship file` cannot read, `ship syslog`
  without a listener), one line exit 2: textlogs/test_ship_text_servers.py::test_ship_usage_errors_are_exit_2
- Kafka not reachable, exit 3: test_ship_text_servers.py::test_ship_file_kafka_not_listening_is_exit_3
  (and a login Kafka refuses: ::test_ship_file_kafka_refusing_the_login_is_exit_3)
- `ship syslog --max-messages` stops by itself, exit 0:
  test_syslog_servers.py::test_syslog_mixed_udp_tcp_to_elasticsearch
- a bug in the sink stays a bug (exit 70), not "Kafka not reachable": only here (a real Kafka
  client does not raise TypeError).
"""

from __future__ import annotations

import argparse
import logging
import socket
import threading
from pathlib import Path

import pytest

from logwarden import errors
from logwarden.commands import ship_text
from logwarden.errors import InputError, ServerError, UsageError
from logwarden.shippers.base import ListSink


class ClosingSink(ListSink):
    closed = False

    def close(self, grace: float | None = None) -> None:
        self.closed = True

    def accepting(self) -> bool:
        return True


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
    monkeypatch.setattr(ship_text, "_syslog_sink", lambda cfg, args: s)
    return s


def test_ship_file(tmp_path: Path, sink: ClosingSink, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "asa.log"
    log.write_text("%ASA-6-302013: Built inbound TCP connection 1 for outside:1.2.3.4/5 (1.2.3.4/5) to "
                   "inside:10.0.0.1/3389 (10.0.0.1/3389)\nnot asa\n")
    args = parser().parse_args(["file", str(log), "--source", "auto", "--state", str(tmp_path / "s.json"),
                                "--host", "h1", "--json"])
    with pytest.raises(InputError, match="1 of 2 records were dead letters"):  # exit 1, README
        args.func(args)
    assert len(sink.events) == 1 and len(sink.dead) == 1 and sink.closed  # the good one shipped
    assert '"sent": 2' in capsys.readouterr().out
    assert args.func(args) == 0  # checkpoint: nothing repeated, no new dead letter
    assert len(sink.events) == 1


def test_ship_file_usage_errors(tmp_path: Path, sink: ClosingSink) -> None:
    args = parser().parse_args(["file", str(tmp_path / "nope.log"), "--source", "fortigate"])
    with pytest.raises(UsageError, match="no such file"):
        args.func(args)
    args = parser().parse_args(["file", str(tmp_path), "--source", "nosuch"])
    with pytest.raises(UsageError, match="unknown source 'nosuch'"):
        args.func(args)
    args = parser().parse_args(["file", str(tmp_path), "--source", "windows"])  # a record parser only
    with pytest.raises(UsageError, match="not read by `ship file`"):
        args.func(args)


def test_ship_file_a_bug_is_not_reported_as_kafka(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only Kafka's own errors mean "not reachable"; any other exception stays a bug (exit 70)."""
    def broken(cfg: object) -> None:
        raise TypeError("a bug in the sink")

    from logwarden import kafka_io

    monkeypatch.setattr(kafka_io, "KafkaSink", broken)
    log = tmp_path / "a.log"
    log.write_text("x\n")
    args = parser().parse_args(["file", str(log), "--source", "auto", "--state", str(tmp_path / "s.json")])
    with pytest.raises(TypeError) as info:
        args.func(args)
    assert errors.exit_code_for(info.value) == errors.EXIT_BUG


def test_ship_file_kafka_unreachable_is_a_server_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kafka.errors import KafkaConnectionError

    from logwarden import kafka_io

    def unreachable(cfg: object) -> None:  # what KafkaProducer raises after its bootstrap timeout (30 s)
        raise KafkaConnectionError("no broker answered")

    monkeypatch.setattr(kafka_io, "KafkaSink", unreachable)
    monkeypatch.setenv("LOGWARDEN_KAFKA", "127.0.0.1:9")
    log = tmp_path / "a.log"
    log.write_text("x\n")
    args = parser().parse_args(["file", str(log), "--source", "auto", "--state", str(tmp_path / "s.json")])
    with pytest.raises(ServerError, match="Kafka at 127.0.0.1:9 not reachable"):
        args.func(args)


class _Listening(logging.Handler):
    """Holds the UDP address from `ship syslog`'s "listening" line, once the receiver has bound it
    (a datagram sent before the bind is lost)."""

    def __init__(self) -> None:
        super().__init__()
        self.bound = threading.Event()
        self.udp_address: tuple[str, int] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("listening udp="):
            address = record.args[0] if isinstance(record.args, tuple) else None  # server.udp_address
            if isinstance(address, tuple):
                self.udp_address = (str(address[0]), int(address[1]))
            self.bound.set()


def test_ship_syslog_max_messages(sink: ClosingSink) -> None:
    listening = _Listening()
    logger = logging.getLogger(ship_text.__name__)
    logger.addHandler(listening)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    args = parser().parse_args(["syslog", "--udp", "127.0.0.1:0", "--max-messages", "3", "--duration", "60"])
    result: list[int] = []
    th = threading.Thread(target=lambda: result.append(args.func(args)))
    th.start()
    try:
        assert listening.bound.wait(60), "the receiver never logged that it listens"
    finally:
        logger.removeHandler(listening)
        logger.setLevel(old_level)
    assert listening.udp_address is not None
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(3):
        u.sendto(b"<13>Apr 14 00:00:00 h clamd[1]: /x: Eicar FOUND", listening.udp_address)
    u.close()
    th.join(60)
    assert result == [0] and len(sink.events) == 3 and sink.closed


def test_ship_syslog_needs_a_listener(sink: ClosingSink) -> None:
    args = parser().parse_args(["syslog"])
    with pytest.raises(UsageError, match="--udp and/or --tcp"):
        args.func(args)
