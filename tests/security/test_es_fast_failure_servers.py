"""An Elasticsearch that cannot be used, through the real CLI on the secured lab: a loopback port
nobody listens on, a wrong password, an untrusted CA, http:// to the HTTPS port. `index --once`
says so in one line naming the server and the cause, exit 3, before it consumes anything
(logwarden/es_preflight.py; before: the outage backoff waited 62-64 s of `--once` patience, and a
wrong password's line was the client's raw exception). A refusal stops the service (`index`
without `--once`) too; the lab's least-privilege users pass the probe.

No timed assertions: each run has a subprocess timeout below the old 60 s patience, so a return
of the wait fails loudly; the time each took is printed (`pytest -s`). `detect` and `setup`,
which never waited but said "Connection error" or "TLS error", go through the same probe."""

from __future__ import annotations

import copy
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from logwarden import es_io, es_preflight
from logwarden.config import Config
from logwarden.errors import ServerError
from logwarden.runtime import certs
from logwarden.runtime.lab import Lab
from tests.support.cli import cli

pytestmark = pytest.mark.servers

WRONG = "wrong-password-3Hd"
PATIENCE_BOUND = 40  # seconds: well below the 60 s of --once patience the old code waited


@pytest.fixture
def secured(ns: Config, lab: Lab) -> Config:
    if not lab.secure:
        pytest.fail("the lab runs without security (a plaintext lab was found on its ports)", pytrace=False)
    return ns


@pytest.fixture
def waiting(secured: Config, tmp_path: Path) -> Config:
    """The namespace with one event in Kafka, so that `index --once` has something to index (the
    old code met the outage at its first bulk request)."""
    from logwarden.shippers.windows import synth

    xml = tmp_path / "security.xml"
    event = synth.security_4625("SRV-01", datetime(2020, 4, 14, 0, 22), 1, target_user="admin", ip="203.0.113.5")
    xml.write_text(f'<?xml version="1.0" encoding="utf-8"?>\n<Events>\n{event}\n</Events>\n', encoding="utf-8")
    shipped = cli(secured, "ship", "evtx", str(xml), "--no-progress", timeout=120)
    assert shipped.returncode == 0, shipped.stderr[-2000:]
    return secured


def _variant(cfg: Config, tmp_path: Path, how: str, refused_port: Callable[[], int] | None = None) -> Config:
    bad = copy.copy(cfg)
    if how == "closed port":
        assert refused_port is not None, "a closed port needs the refused_port fixture"
        bad.elasticsearch = f"https://127.0.0.1:{refused_port()}"
    elif how == "wrong password":
        bad.es_password = WRONG
    elif how == "untrusted CA":
        bad.es_ca_file = str(certs.untrusted_ca(tmp_path))
    elif how == "http to the HTTPS port":
        bad.elasticsearch = cfg.elasticsearch.replace("https://", "http://")
    return bad


EXPECTED = {
    "closed port": "unreachable (connection refused)",
    "wrong password": "refused the credentials (401; check es_api_key or es_user/es_password)",
    "untrusted CA": "its certificate is not trusted",
    "http to the HTTPS port": "unreachable (the connection was closed without an answer",
}


def _timed(cfg: Config, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = cli(cfg, *args, timeout=PATIENCE_BOUND)  # TimeoutExpired: the old wait is back
    return done, time.monotonic() - started


def _one_line_exit_3(done: subprocess.CompletedProcess[str], command: str, *needles: str) -> str:
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-2000:]  # no outage warning before the error any more
    assert lines[0].startswith(f"logwarden {command}: Elasticsearch at "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("how", sorted(EXPECTED))
def test_index_once_fails_at_once_when_elasticsearch_cannot_be_used(waiting: Config, tmp_path: Path,
                                                                   refused_port: Callable[[], int],
                                                                   how: str) -> None:
    bad = _variant(waiting, tmp_path, how, refused_port)
    done, took = _timed(bad, "index", "--once", "--json")
    _one_line_exit_3(done, "index", EXPECTED[how])
    assert WRONG not in done.stderr + done.stdout and waiting.es_password not in done.stderr + done.stdout
    assert done.stdout == ""  # nothing consumed, no summary
    print(f"\nindex --once, {how}: exit 3 after {took:.1f}s")
    # nothing was consumed: the same event is still there for a working indexer
    after = cli(waiting, "index", "--once", "--json", timeout=120)
    assert after.returncode == 0, after.stderr[-2000:]
    assert '"created": 1' in after.stdout, after.stdout


@pytest.mark.parametrize("how", ["wrong password", "untrusted CA"])
def test_the_indexer_service_stops_on_a_refusal_too(waiting: Config, tmp_path: Path, how: str) -> None:
    """A refusal is not an outage: without --once the service would otherwise retry it forever
    (the untrusted CA) or fail only at its first batch."""
    done, took = _timed(_variant(waiting, tmp_path, how), "index", "--json")
    _one_line_exit_3(done, "index", EXPECTED[how])
    print(f"\nindex (service), {how}: exit 3 after {took:.1f}s")


@pytest.mark.parametrize("user", ["logwarden-indexer", "logwarden-detector"])
def test_a_least_privilege_user_passes_the_probe(secured: Config, lab: Lab, user: str) -> None:
    """`_security/_authenticate` needs no role: the probe never refuses a user the run would accept."""
    cfg = copy.copy(secured)
    cfg.es_user, cfg.es_password = user, lab.passwords()[f"es:{user}"]
    es_preflight.check(cfg, es_io.client(cfg), drain=True)  # returns: no ServerError
    cfg.es_password = WRONG
    with pytest.raises(ServerError, match=f"refused the credentials .*unable to authenticate user \\[{user}\\]"):
        es_preflight.check(cfg, es_io.client(cfg), drain=False)


@pytest.mark.parametrize("how", sorted(EXPECTED))
@pytest.mark.parametrize("command", [("detect", "--once", "--no-silence"), ("setup", "--no-kafka"),
                                     ("dashboards", "query")])
def test_detect_and_setup_say_the_same_line(secured: Config, tmp_path: Path, how: str,
                                            refused_port: Callable[[], int],
                                           command: tuple[str, ...]) -> None:
    """They never waited, but said "Connection error" or "TLS error" (detect) and "refused the
    setup: Connection error" for a closed port (setup): now the probe's line."""
    done, took = _timed(_variant(secured, tmp_path, how, refused_port), *command)
    line = _one_line_exit_3(done, command[0], EXPECTED[how])
    assert WRONG not in line
    assert done.stdout == ""  # dashboards query: no panel ran
    print(f"\n{' '.join(command)}, {how}: exit 3 after {took:.1f}s")


def test_dashboards_query_never_shows_a_password_in_its_url(secured: Config, refused_port: Callable[[], int]) -> None:
    """A password inside the Elasticsearch URL: the line names the server by its bare URL (before:
    `dashboards query` printed the URL as configured, password and all)."""
    bad = copy.copy(secured)
    bad.elasticsearch = f"https://{secured.es_user}:{secured.es_password}@127.0.0.1:{refused_port()}"
    bad.es_user = bad.es_password = ""  # the URL's credentials only (both is a configuration error)
    done, _ = _timed(bad, "dashboards", "query")
    line = _one_line_exit_3(done, "dashboards", EXPECTED["closed port"])
    assert secured.es_password not in done.stderr + done.stdout, line


def test_detect_interval_stops_on_a_refusal(secured: Config) -> None:
    """A pass every --interval would meet the same 401 again and again: exit 3 at once."""
    done, took = _timed(_variant(secured, Path(), "wrong password"), "detect", "--interval", "1h", "--no-silence")
    _one_line_exit_3(done, "detect", EXPECTED["wrong password"])
    print(f"\ndetect --interval 1h, wrong password: exit 3 after {took:.1f}s")
