"""Handlers that used to catch every exception and now catch only what the called code raises:
the expected failures keep their old outcome (a dead letter, a rule error, "not healthy"), and
anything else, a bug of ours, is no longer turned into one (no servers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import pytest
from kafka.errors import KafkaTimeoutError
from sigma.exceptions import SigmaRuleNotFoundError

from logwarden.config import Config
from logwarden.detection import compiler
from logwarden.errors import ServerError
from logwarden.runtime import lab as lab_module
from logwarden.shippers.base import DeadLetter
from logwarden.shippers.windows import evtx_reader, xml_reader
from logwarden.shippers.windows.evtx_reader import EVTX_MAGIC


def _raise(exc: BaseException) -> Any:
    def fail(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise exc
    return fail


# -- lab: Kafka health
@pytest.fixture
def lab_on_open_port(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> lab_module.Lab:
    monkeypatch.setattr(lab_module.procs, "port_open", lambda host, port: True)
    return lab_module.Lab(Config(home=str(tmp_path)), insecure=True)


@pytest.mark.parametrize("failure", [KafkaTimeoutError("bootstrap timed out"), ServerError("Kafka refused the login"),
                                     ConnectionRefusedError(111, "refused")])
def test_kafka_not_healthy_when_it_does_not_answer_or_refuses(lab_on_open_port: lab_module.Lab,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              failure: Exception) -> None:
    monkeypatch.setattr("logwarden.kafka_io.admin", _raise(failure))
    assert lab_on_open_port._kafka_healthy() is False


def test_kafka_health_check_does_not_hide_a_bug(lab_on_open_port: lab_module.Lab,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("logwarden.kafka_io.admin", _raise(TypeError("unexpected keyword")))
    with pytest.raises(TypeError):
        lab_on_open_port._kafka_healthy()


# -- EVTX reader: what pyevtx-rs raises is a dead letter
def _evtx_file(tmp_path: Path) -> Path:
    path = tmp_path / "junk.evtx"
    path.write_bytes(EVTX_MAGIC + b"\xff" * 5000)  # pyevtx-rs: RuntimeError (no valid chunk count)
    return path


def test_evtx_parser_error_is_a_dead_letter(tmp_path: Path) -> None:
    items = list(evtx_reader.read_evtx(str(_evtx_file(tmp_path))))
    assert items and all(isinstance(i, DeadLetter) for i in items)
    assert "EVTX parser could not open the file" in items[0].reason  # type: ignore[union-attr]


def test_evtx_reader_does_not_hide_a_bug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evtx_reader, "PyEvtxParser", _raise(TypeError("bad argument")))
    with pytest.raises(TypeError):
        list(evtx_reader.read_evtx(str(_evtx_file(tmp_path))))


# -- XML reader: what ElementTree raises on an event is its dead letter
def _xml_items(text: str) -> list[Any]:
    import io

    return list(xml_reader.read_xml("t.xml", io.BytesIO(text.encode("utf-8", "surrogateescape"))))


@pytest.mark.parametrize("event", [
    "<Event><System><EventID>1</EventID></System><EventData>&#xD800;</EventData></Event>",
    "<Event><System><EventID>1</System></Event>",
    "<Event><System>&undefined;</System></Event>",
])
def test_xml_parser_failures_are_dead_letters(event: str) -> None:
    items = _xml_items(f"<Events>{event}</Events>")
    assert isinstance(items[0], DeadLetter), items
    assert "bad XML" in items[0].reason


def test_xml_reader_does_not_hide_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xml_reader, "_parse", _raise(TypeError("a bug")))
    with pytest.raises(TypeError):
        _xml_items("<Events><Event><System><EventID>1</EventID></System></Event></Events>")


# -- rule compiler: an unresolved reference is a rule error, a bug is not


class _Unresolvable:
    """A parsed collection whose references cannot be resolved, the way `failure` says."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure

    def resolve_rule_references(self) -> None:
        raise self.failure


def test_unresolved_reference_is_a_rule_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiler, "_parse_files",
                        lambda files, errors: (_Unresolvable(SigmaRuleNotFoundError("nope")), {}))
    ruleset = compiler.compile_files([Path("r.yml")])
    assert [e.message for e in ruleset.errors] == ["unresolved correlation reference: nope"]


def test_rule_compiler_does_not_hide_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiler, "_parse_files", lambda files, errors: (_Unresolvable(TypeError("a bug")), {}))
    with pytest.raises(TypeError):
        compiler.compile_files([Path("r.yml")])
