"""Values that look like addresses, ports or protocol numbers but are not valid ones (issue 7).

Each stays visible as text (`<side>.address`, event.original), is kept out of its typed field
(`ip`, `long`: one bad value there would fail the document in a bulk request) and flags the
document in log.flags.
"""

from __future__ import annotations

from typing import Any

from logwarden import schema
from logwarden.shippers import textlog as t
from logwarden.shippers.base import Event
from logwarden.shippers.fortigate.parser import parse_line as fortigate_line
from logwarden.shippers.iptables.parser import parse_line as iptables_line

IPTABLES = ("Apr 14 00:20:11 gw01 kernel: IPTABLES-DROP: IN=eth0 OUT= SRC={src} DST={dst} LEN=52 "
            "PROTO=TCP SPT={spt} DPT={dpt} WINDOW=8192 SYN URGP=0")
FORTIGATE = ('date=2020-04-14 time=00:22:01 devname="FG100E-EDGE" type="traffic" subtype="forward" '
             'srcip=203.0.113.45 srcport=51234 dstip=192.168.10.21 dstport=3389 proto={proto} action="accept"')


def _doc(line: str, parse: Any = iptables_line) -> dict[str, Any]:
    result = parse(line.encode(), "test.log", 0)
    assert isinstance(result, Event), result
    return result.doc


def _no_schema_problem(doc: dict[str, Any], source: str) -> None:
    """No field undeclared or of the wrong type (cef.extensions.* holds whatever keys a device sent)."""
    fields = schema.load_fields(schema.source_files()[source])
    assert [p for p in schema.document_problems(doc, fields) if not p.startswith("cef.extensions.")] == []


def test_leading_zero_ipv4_is_not_an_ip() -> None:
    assert t.ip_or_none("010.0.0.2") is None
    assert t.ip_or_none("203.01.113.45") is None
    assert t.ip_or_none("10.0.0.2") == "10.0.0.2"
    assert t.ip_or_none("0.0.0.0") == "0.0.0.0"


def test_leading_zero_address_kept_as_text_and_flagged() -> None:
    doc = _doc(IPTABLES.format(src="010.0.0.2", dst="203.01.113.45", spt="51234", dpt="3389"))
    assert "ip" not in doc["source"] and "ip" not in doc["destination"]
    assert doc["source"]["address"] == "010.0.0.2"
    assert doc["destination"]["address"] == "203.01.113.45"
    assert doc["source"]["port"] == 51234
    assert "source.ip-invalid" in doc["log"]["flags"]
    assert "destination.ip-invalid" in doc["log"]["flags"]
    assert "010.0.0.2" not in str(doc.get("related", {}).get("ip", []))
    _no_schema_problem(doc, "iptables")


def test_out_of_range_and_non_numeric_ports_flagged() -> None:
    doc = _doc(IPTABLES.format(src="203.0.113.45", dst="192.168.10.21", spt="70000", dpt="-5"))
    assert doc["source"]["ip"] == "203.0.113.45"
    assert "port" not in doc["source"] and "port" not in doc["destination"]
    assert {"source.port-invalid", "destination.port-invalid"} <= set(doc["log"]["flags"])
    _no_schema_problem(doc, "iptables")


def test_valid_values_are_not_flagged() -> None:
    doc = _doc(IPTABLES.format(src="203.0.113.45", dst="192.168.10.21", spt="0", dpt="65535"))
    assert doc["source"]["port"] == 0 and doc["destination"]["port"] == 65535
    assert "flags" not in doc.get("log", {})


def test_protocol_number_out_of_range_flagged() -> None:
    doc = _doc(FORTIGATE.format(proto="300"), fortigate_line)
    assert "iana_number" not in doc.get("network", {}) and "transport" not in doc.get("network", {})
    assert "network.iana_number-invalid" in doc["log"]["flags"]
    assert "proto=300" in doc["event"]["original"]
    ok = _doc(FORTIGATE.format(proto="6"), fortigate_line)
    assert ok["network"]["iana_number"] == "6" and ok["network"]["transport"] == "tcp"
    assert "flags" not in ok.get("log", {})


def test_flags_accumulate_with_timestamp_missing() -> None:
    doc: dict[str, Any] = {}
    t.endpoint(doc, "source", "999.1.1.1", "x")
    t.flag(doc, "timestamp-missing")
    t.flag(doc, "timestamp-missing")
    assert doc["log"]["flags"] == ["source.ip-invalid", "source.port-invalid", "timestamp-missing"]


SEP = ("<54>Apr 14 00:57:05 sepm01 SymantecServer: Virus found,IP Address: {ip},Computer name: SRV-TAX01,"
       "Source: Auto-Protect scan,Risk name: Ransom.Phobos,Occurrences: 1,File path: C:\\x\\eight.exe,"
       "Actual action: Quarantined,Event time: 2020-04-14 00:57:00")
CEF = "CEF:0|Acme|FW|1|1|x|5|src=203.0.113.45 dst=192.168.10.21 dvc={ip} dvchost=fw rt=1586795401000"


def test_host_ip_of_an_av_alert() -> None:
    from logwarden.shippers.symantec.parser import parse_line as sep_line

    bad = _doc(SEP.format(ip="192.168.010.21"), sep_line)
    assert "ip" not in bad.get("host", {})
    assert bad["log"]["flags"] == ["host.ip-invalid"]
    assert "192.168.010.21" in bad["event"]["original"]
    _no_schema_problem(bad, "symantec")
    good = _doc(SEP.format(ip="192.168.10.21"), sep_line)
    assert good["host"]["ip"] == ["192.168.10.21"] and "flags" not in good.get("log", {})


def test_observer_ip_of_a_cef_line() -> None:
    from logwarden.shippers.cef.parser import parse_line as cef_line

    bad = _doc(CEF.format(ip="010.1.1.1"), cef_line)
    assert "ip" not in bad["observer"] and bad["log"]["flags"] == ["observer.ip-invalid"]
    _no_schema_problem(bad, "cef")
    good = _doc(CEF.format(ip="192.0.2.1"), cef_line)
    assert good["observer"]["ip"] == "192.0.2.1"
    _no_schema_problem(good, "cef")  # observer.ip is declared (it was not)
