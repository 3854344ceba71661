"""`ship syslog --parse-workers K`: every line a parse process logs names its process. The K
processes' sinks each say what a single receiver's would (Kafka refused, the spool replayed), and
their lines reach the receiver's stderr through the handlers inherited at the fork
(docs/architecture.md, 61); the receiver's own lines stay as they were. Without servers: Kafka is
a refused port, so every message goes to the processes' spools."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from logwarden.config import Config
from logwarden.logs import TextFormatter
from logwarden.shippers.syslog import SyslogServer
from logwarden.shippers.syslog_parse_process import name_log_lines
from logwarden.shippers.syslog_spread import NoSink, ParsePlan, Spreader
from logwarden.shippers.syslog_workers import open_sink
from tests.syslog.sequenced import line

NAMED = re.compile(r"^\S+ \w+ [\w.]+: syslog parse process (\d+): ")


def test_each_handler_writes_the_process_name_once_and_the_arguments_still_apply() -> None:
    root = logging.getLogger("lwtest_names")
    root.propagate = False
    root.setLevel(logging.INFO)
    streams = [io.StringIO(), io.StringIO()]
    handlers = [logging.StreamHandler(stream) for stream in streams]
    try:
        for handler in handlers:
            handler.setFormatter(TextFormatter())
            root.addHandler(handler)
        name_log_lines(3, root)
        child = logging.getLogger("lwtest_names.sink")
        child.error("spool %s holds %d message(s)", "/var/spool/100%", 7)
        child.info("100% of the spool replayed")  # a "%" without arguments stays text
    finally:
        for handler in handlers:
            root.removeHandler(handler)
    for stream in streams:
        written = stream.getvalue().splitlines()
        assert [NAMED.sub("", text) for text in written] == ["spool /var/spool/100% holds 7 message(s)",
                                                             "100% of the spool replayed"], written
        assert all(text.count("syslog parse process") == 1 and NAMED.match(text).group(1) == "3"  # type: ignore[union-attr]
                   for text in written), written


@pytest.fixture
def logwarden_to_file(tmp_path: Path) -> Iterator[Path]:
    """The `logwarden` logger at INFO to a file (opened to append: the forked processes share it)."""
    root = logging.getLogger("logwarden")
    path = tmp_path / "log.txt"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(TextFormatter())
    level, propagate = root.level, root.propagate
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(level)
        root.propagate = propagate


def test_the_parse_processes_lines_name_their_process_and_the_receivers_do_not(
        tmp_path: Path, logwarden_to_file: Path, refused_port: Callable[[], int]) -> None:
    cfg = Config(topic_prefix="lw.", kafka=f"127.0.0.1:{refused_port()}")
    spreader = Spreader(ParsePlan(cfg, "s1", tmp_path / "spool", 1 << 30, 0.5, producer_wait=0.1), 2, open_sink)
    server = SyslogServer(NoSink(), tcp=("127.0.0.1", 0), session="s1", spread=spreader)
    for n in range(0, 40, 10):
        server.handle_frames([line(i).rstrip(b"\n") for i in range(n, n + 10)], "tcp", "10.0.0.1:514")
    totals = spreader.finish(0.5)
    assert totals["parsed"] == 40 and totals["parse_died"] == 0, totals
    logging.getLogger("logwarden.shippers.syslog_spread").info("the receiver's own line")
    written = logwarden_to_file.read_text(encoding="utf-8").splitlines()
    theirs = [text for text in written if "logwarden.shippers.syslog_spread" not in text]
    assert all(NAMED.match(text) for text in theirs), written
    assert {NAMED.match(text).group(1) for text in theirs} == {"0", "1"}, written  # type: ignore[union-attr]
    finals = [text for text in theirs if "message(s) parsed" in text]
    assert sorted(NAMED.sub("", text) for text in finals) == ["20 message(s) parsed, 0 dead letter(s), 0 dropped"] * 2
    assert written[-1].endswith("logwarden.shippers.syslog_spread: the receiver's own line"), written
