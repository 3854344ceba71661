"""The conventions of Elastic's integrations that the firewall/AV parsers follow, and the known gaps
of issue 8, each asserted on a line of its own (the goldens hold the same lines in full)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta, timezone
from typing import Any

import pytest

from logwarden.shippers import registry, textlog
from logwarden.shippers.base import Event


def parse(source: str, line: str) -> dict[str, Any]:
    item = registry.source(source).line_parser()(line.encode(), "test", 1)
    assert isinstance(item, Event), item
    return item.doc


@pytest.mark.parametrize(("source", "line", "dataset"), [
    ("iptables", "Apr 14 00:20:11 gw01 kernel: DROP: IN=eth0 OUT= SRC=203.0.113.45 DST=192.168.10.21 "
                 "LEN=52 PROTO=TCP SPT=51234 DPT=3389", "iptables.log"),
    ("cisco_asa", "<166>Apr 14 2020 00:20:11: %ASA-6-302013: Built inbound TCP connection 1 for "
                  "outside:203.0.113.45/51234 (203.0.113.45/51234) to inside:192.168.10.21/3389 "
                  "(192.168.10.21/3389)", "cisco_asa.log"),
    ("fortigate", 'date=2020-04-14 time=00:22:01 devname="FG" logid="0000000013" type="traffic" '
                  "srcip=203.0.113.45 dstip=192.168.10.21 action=accept", "fortinet_fortigate.log"),
])
def test_event_dataset_is_the_integrations_name_and_family_routes(source: str, line: str, dataset: str) -> None:
    doc = parse(source, line)
    assert doc["event"]["dataset"] == dataset
    assert doc["event"]["module"] == dataset.split(".")[0]
    assert doc["logwarden"]["family"] == "firewall"


def test_icmp_error_keeps_its_own_addresses_not_the_quoted_packets() -> None:
    doc = parse("iptables", "Apr 14 00:22:38 gw01 kernel: REJECT-OUT: IN= OUT=eth0 SRC=192.168.10.1 "
                            "DST=203.0.113.45 LEN=80 TTL=64 ID=777 PROTO=ICMP TYPE=3 CODE=3 [SRC=203.0.113.45 "
                            "DST=192.168.10.1 LEN=52 TTL=50 ID=4321 PROTO=UDP SPT=40000 DPT=161 LEN=32 ]")
    assert (doc["source"]["ip"], doc["destination"]["ip"]) == ("192.168.10.1", "203.0.113.45")
    assert doc["network"]["transport"] == "icmp" and "port" not in doc["source"]
    assert (doc["network"]["bytes"], doc["iptables"]["id"]) == (80, "777")


def test_ubiquiti_prefix_glued_to_in_and_a_tag_without_hostname() -> None:
    doc = parse("iptables", "<4>Apr 14 00:22:36 kernel: [wan-lan-3001-D]IN=eth0 OUT=eth1 SRC=203.0.113.46 "
                            "DST=192.168.10.21 LEN=52 PROTO=TCP SPT=51241 DPT=3389 SYN")
    assert doc["rule"] == {"name": "wan-lan", "id": "3001"}
    assert (doc["event"]["action"], doc["event"]["type"]) == ("drop", ["connection", "denied"])
    assert (doc["observer"]["ingress"]["zone"], doc["observer"]["egress"]["zone"]) == ("wan", "lan")
    assert doc["log"]["syslog"]["appname"] == "kernel"  # the tag, not a host name
    assert "name" not in doc["observer"] and "hostname" not in doc["observer"]


def _asa(code: str, body: str, device: str = "asa9") -> dict[str, Any]:
    return parse("cisco_asa", f"<166>Apr 14 2020 00:20:11 {device} : %ASA-6-{code}: {body}")


def _roles(doc: dict[str, Any]) -> tuple[Any, ...]:
    s, d = doc["source"], doc["destination"]
    return s["ip"], s["port"], d["ip"], d["port"], doc["network"]["community_id"]


def test_built_and_teardown_agree_on_initiator_and_responder() -> None:
    # outbound to a high service port: the port rule alone would get it wrong, the Built line decides
    built = _asa("302015", "Built outbound UDP connection 90001 for outside:8.8.4.4/8080 (8.8.4.4/8080) "
                           "to inside:192.168.10.22/53001 (198.51.100.1/40002)")
    tear = _asa("302016", "Teardown UDP connection 90001 for outside:8.8.4.4/8080 to inside:192.168.10.22/53001 "
                          "duration 0:00:01 bytes 90")
    assert _roles(built) == _roles(tear) == ("192.168.10.22", 53001, "8.8.4.4", 8080, built["network"]["community_id"])
    assert tear["network"]["direction"] == "outbound"
    assert (built["event"]["action"], tear["event"]["action"]) == ("flow-creation", "flow-expiration")
    # no Built line seen (another device): the end with the lower port is the responder
    alone = _asa("302014", "Teardown TCP connection 5 for outside:203.0.113.9/51000 to inside:192.168.10.21/3389 "
                           "duration 0:00:01 bytes 1", device="asa10")
    assert _roles(alone)[:4] == ("203.0.113.9", 51000, "192.168.10.21", 3389)


def test_asa_interface_names_with_colons_and_106023_users() -> None:
    doc = _asa("302013", "Built inbound TCP connection 7 for v1:outside:203.0.113.50/51300 (203.0.113.50/51300) "
                         "to v1:inside:192.168.10.21/3389 (198.51.100.10/3389)")
    assert doc["observer"]["ingress"]["interface"]["name"] == "v1:outside"
    assert (doc["source"]["ip"], doc["destination"]["nat"]["ip"]) == ("203.0.113.50", "198.51.100.10")
    deny = parse("cisco_asa", '<164>Apr 14 2020 00:20:35: %ASA-4-106023: Deny tcp src inside:10.1.1.5/49800'
                              '(LOCAL\\alice) dst v1:outside:203.0.113.70/445 by access-group "out"')
    assert deny["source"]["user"] == {"name": "alice"} and deny["related"]["user"] == ["alice"]
    assert (deny["observer"]["egress"]["interface"]["name"], deny["rule"]["name"]) == ("v1:outside", "out")
    assert deny["event"]["action"] == "firewall-rule"


def test_fortigate_vpn_remote_peer_is_source_and_na_is_absent() -> None:
    doc = parse("fortigate", 'date=2020-04-14 time=00:31:40 devname="FG" logid="0101037124" type="event" '
                             'subtype="vpn" action="negotiate" remip=203.0.113.82 locip=198.51.100.7 remport=500 '
                             'locport=500 user="N/A" xauthuser="N/A" status="negotiate_error"')
    assert (doc["source"]["ip"], doc["destination"]["ip"]) == ("203.0.113.82", "198.51.100.7")
    assert "user" not in doc and "user" not in doc["source"]
    assert (doc["event"]["type"], doc["event"]["outcome"]) == (["connection"], "failure")


@pytest.fixture
def shanghai() -> Iterator[None]:
    saved = textlog.CONFIG._tz
    textlog.CONFIG.tz = timezone(timedelta(hours=8))
    yield
    textlog.CONFIG._tz = saved


@pytest.mark.parametrize(("time_format", "expected"), [
    ("Local", "2020-04-13T16:20:11.000Z"),  # the configured zone (+08:00)
    ("UTC", "2020-04-14T00:20:11.000Z"),
])
def test_windows_firewall_time_format(shanghai: None, time_format: str, expected: str) -> None:
    log = (f"#Version: 1.5\n#Time Format: {time_format}\n#Fields: date time action protocol src-ip dst-ip "
           "src-port dst-port\n2020-04-14 00:20:11 ALLOW TCP 203.0.113.45 192.168.10.21 51234 3389\n")
    items = list(registry.source("winfirewall").stream_parser()("pfirewall.log", io.BytesIO(log.encode())))
    assert [i.doc["@timestamp"] for i in items if isinstance(i, Event)] == [expected]
