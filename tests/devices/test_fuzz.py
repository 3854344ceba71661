"""Hypothesis on the device formats' own structure (the generic mutation fuzz over every source's
goldens is tests/textlogs/test_fuzz.py, which covers these parsers too): Sangfor bodies built from
its keys with any values, separators and encodings (UTF-8 or GB18030/GBK), and the key=value
devices with any value in any field. Every input gives exactly one result, never an exception; a
dead letter keeps the bytes; an event never holds an invalid address or port in a typed field."""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.huawei_usg import parse_line as huawei
from logwarden.shippers.ruijie import parse_line as ruijie
from logwarden.shippers.sangfor import parse_line as sangfor
from logwarden.shippers.secgate import parse_line as secgate

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
SANGFOR_KEYS = ["日志类型", "用户", "源IP", "源端口", "目的IP", "目的端口", "应用类型", "应用名称", "系统动作", "URL",
                "攻击类型", "严重级别", "协议", "用户名/主机", "上行流量(KB)", "下行流量(KB)", "总流量(KB)"]
TYPES = ["服务控制或应用控制", "网站访问", "WAF应用防护日志", "流量审计", "僵尸网络日志"]
ODD = ["(null)", "允许", "拒绝", "被记录", "", "-", "NULL", "999999", "1.2.3", "::1%eth0"]
values = st.one_of(st.text(max_size=30), st.integers(-10**6, 10**12).map(str), st.ip_addresses().map(str),
                   st.sampled_from(ODD))


def _valid(doc: dict[str, Any]) -> None:
    for side in ("source", "destination", "source.nat", "destination.nat"):
        node: Any = doc
        for part in side.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if "ip" in node:
            ipaddress.ip_address(node["ip"])
        if "port" in node:
            assert isinstance(node["port"], int) and 0 <= node["port"] <= 65535


def _check(parse: Any, raw: bytes) -> None:
    item = parse(raw, "fuzz", 3)
    assert isinstance(item, Event | DeadLetter)
    if isinstance(item, DeadLetter):
        assert item.raw == raw and item.reason
    else:
        assert item.doc["event"]["original"] and item.dataset == "firewall"
        _valid(item.doc)


@st.composite
def sangfor_lines(draw: st.DrawFn) -> bytes:
    keys = draw(st.lists(st.sampled_from(SANGFOR_KEYS), max_size=12))
    parts = [f"日志类型:{draw(st.sampled_from(TYPES))}"] + [f"{k}{draw(st.sampled_from([':', '：']))}{draw(values)}"
                                                         for k in keys]
    sep = draw(st.sampled_from([", ", "，", "\n", "\t", ",", " , "]))
    text = "<134>Apr 14 00:20:11 AF fwlog: " + sep.join(parts)
    return text.encode(draw(st.sampled_from(["utf-8", "gb18030"])))


@FUZZ
@given(sangfor_lines())
def test_fuzz_sangfor_bodies(raw: bytes) -> None:
    _check(sangfor, raw)


SECGATE = ('<6>Apr 14 00:20:11 fw kernel: devid={0} date="{1}" dname={2} logtype={3} pri={4} ver=0.3.0 '
           "rule_name={5} mod={6} sa={7} sport={8} type=NULL da={9} dport={10} code=NULL proto={11} policy={12} "
           'duration={13} rcvd={14} sent={15} pa={16} pport={17} act={18} sip={19} dip={20} fwlog=0 dsp_msg="{21}"')
HUAWEI = ("<190>{0} USG %%01{1}(l):vsys={2}, protocol={3}, source-ip={4}, source-port={5}, destination-ip={6}, "
          "destination-port={7}, SourceIP={4},SourcePort={5},DestinationIP={6},DestinationPort={7},"
          "SourceNatIP={8},SourceNatPort={9},BeginTime={10}, SrcIp={4}, SignName=\"{11}\", Action={12}.")
RUIJIE = "<189> {0}:{1} {2} %{3}-{4}-{5}: {6}"


@FUZZ
@given(st.lists(values, min_size=22, max_size=22), st.sampled_from(["pf", "webui", "newconfig", "ad", ""]),
       st.sampled_from(["POLICY_PERMIT", "POLICY_NAT_PERMIT", "POLICY_DENY", "X"]))
def test_fuzz_secgate_fields(fields: list[str], mod: str, policy: str) -> None:
    fields[6], fields[12] = mod, policy
    _check(secgate, SECGATE.format(*fields).encode("utf-8"))


@FUZZ
@given(st.lists(values, min_size=13, max_size=13),
       st.sampled_from(["POLICY/6/POLICYPERMIT", "POLICY/6/POLICYDENY", "SECLOG/6/SESSION_BUILT",
                        "SECLOG/6/SESSION_TEARDOWN", "IPS/4/DETECT", "SHELL/5/LOGIN"]),
       st.sampled_from(["Apr 14 2020 00:20:11", "2020-04-14 00:20:11", "Apr 14 2020 00:20:11+08:00 DST",
                        "Feb 30 2020 25:61:61", ""]))
def test_fuzz_huawei_fields(fields: list[str], brief: str, stamp: str) -> None:
    fields[0], fields[1] = stamp, brief
    _check(huawei, HUAWEI.format(*fields).encode("utf-8"))


@FUZZ
@given(st.lists(values, min_size=7, max_size=7), st.sampled_from(["SYS", "NAT", "A", "LINK_X"]),
       st.sampled_from(["0", "5", "7", "9"]))
def test_fuzz_ruijie_envelope(fields: list[str], module: str, level: str) -> None:
    fields[3], fields[4] = module, level
    _check(ruijie, RUIJIE.format(*fields).encode("utf-8"))
