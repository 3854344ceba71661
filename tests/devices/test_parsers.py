"""What each device parser makes of its formats, beyond the goldens: encodings, separators, NAT
sides, zones, the forms autodetect must and must not claim, and unknown variants as dead letters
that keep the line."""

from __future__ import annotations

import json

import pytest

from logwarden.shippers import autodetect
from logwarden.shippers.base import DeadLetter, Event
from logwarden.shippers.huawei_usg import parse_line as huawei
from logwarden.shippers.huorong import parse_line as huorong
from logwarden.shippers.mac import ecs_mac
from logwarden.shippers.ruijie import parse_line as ruijie
from logwarden.shippers.sangfor import parse_line as sangfor
from logwarden.shippers.secgate import parse_line as secgate

SANGFOR = ("<134>Apr 14 00:20:13 SANGFOR-AF fwlog: 日志类型:服务控制或应用控制, 用户:王五, 源IP:192.168.10.23, "
           "源端口:50300, 目的IP:192.168.10.21, 目的端口:445, 应用类型:文件共享, 应用名称:SMB, 系统动作:允许")


def event(item: Event | DeadLetter) -> Event:
    assert isinstance(item, Event), getattr(item, "reason", item)
    return item


def dead(item: Event | DeadLetter, raw: bytes) -> DeadLetter:
    assert isinstance(item, DeadLetter), item
    assert item.raw == raw
    return item


def _without_original(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc["event"].pop("original"), doc["event"].pop("id")
    return doc


def test_sangfor_gbk_and_utf8_give_the_same_document() -> None:
    utf8, gbk = event(sangfor(SANGFOR.encode("utf-8"), "s", 1)), event(sangfor(SANGFOR.encode("gbk"), "s", 1))
    assert _without_original(utf8.doc) == _without_original(gbk.doc)
    assert gbk.doc["user"]["name"] == "王五" and gbk.doc["event"]["original"] == SANGFOR
    assert gbk.doc["destination"]["port"] == 445 and gbk.doc["event"]["type"] == ["connection", "allowed"]


@pytest.mark.parametrize("separator", ["\n", "\r\n", "\t", "，", ",\n"])
def test_sangfor_separators_and_full_width_colons(separator: str) -> None:
    body = SANGFOR.split("fwlog: ", 1)[1]
    other = body.replace(", ", separator).replace(":", "：")
    line = SANGFOR.split("fwlog: ", 1)[0] + "fwlog: " + other
    a, b = event(sangfor(SANGFOR.encode(), "s", 1)), event(sangfor(line.encode(), "s", 1))
    assert _without_original(a.doc) == _without_original(b.doc)


def test_sangfor_recorded_is_no_verdict_and_a_comma_in_a_url_stays_in_it() -> None:
    line = ("<134>Apr 14 00:31:40 AF fwlog: 日志类型:网站访问, 用户:(null), 源IP:192.168.10.40, 目的IP:198.51.100.7, "
            "应用名称:x, 系统动作:被记录, URL:http://198.51.100.7/a?b=1,c=2")
    doc = event(sangfor(line.encode(), "s", 1)).doc
    assert doc["event"]["type"] == ["connection"] and "outcome" not in doc["event"]
    assert doc["event"]["action"] == "recorded"
    assert doc["url"]["original"] == "http://198.51.100.7/a?b=1,c=2"
    assert "user" not in doc  # (null) is no user


def test_sangfor_record_split_at_its_line_breaks_gives_no_half_event() -> None:
    """`ship syslog` splits a UDP datagram at line breaks (senders that batch lines): a Sangfor
    record sent one key per line then arrives as parts, and every part must be a dead letter."""
    body = SANGFOR.split("fwlog: ", 1)[1].split(", ")
    parts = ["<134>Apr 14 00:20:13 SANGFOR-AF fwlog: " + body[0], *body[1:]]
    for part in parts:
        raw = part.encode()
        assert isinstance(autodetect.parse_line(raw, "s", 1), DeadLetter)
        assert isinstance(sangfor(raw, "s", 1), DeadLetter)
    assert "incomplete" in dead(sangfor(parts[0].encode(), "s", 1), parts[0].encode()).reason


@pytest.mark.parametrize("raw", [
    "<134>Apr 14 01:10:00 AF fwlog: 日志类型:僵尸网络日志, 源IP:192.168.10.36, 系统动作:拒绝".encode(),
    "<134>Apr 14 01:10:00 AF fwlog: 日志类型:IPS防护日志, 源IP:192.168.10.36".encode("gbk"),
    "<134>Apr 14 01:11:00 AF fwlog: 源IP 192.168.10.36 without a type".encode(),
])
def test_sangfor_unconfirmed_types_are_dead_letters(raw: bytes) -> None:
    item = dead(sangfor(raw, "s", 1), raw)
    assert item.reason.startswith("sangfor: ")
    assert "not confirmed" in item.reason or "no 日志类型" in item.reason


SECGATE = ('<6>Apr 14 00:20:11 192.168.1.1 kernel: devid=0 date="2020/04/14 00:20:11" dname=themis logtype=1 '
           "pri=5 ver=0.3.0 rule_name=r mod=pf sa={sa} sport=50100 type=NULL da={da} dport={dport} code=NULL "
           'proto=IPPROTO_TCP policy={policy} duration=3 rcvd=52 sent=52 pa={pa} pport=61000 fwlog=0 '
           'dsp_msg="包过滤日志"')


def test_secgate_nat_side_follows_the_addresses() -> None:
    inbound = event(secgate(SECGATE.format(sa="203.0.113.80", da="198.51.100.21", dport=3389,
                                           policy="POLICY_NAT_PERMIT", pa="192.168.10.21").encode(), "s", 1)).doc
    assert inbound["destination"]["nat"] == {"ip": "192.168.10.21", "address": "192.168.10.21", "port": 61000}
    assert "nat" not in inbound["source"] and inbound["network"]["direction"] == "inbound"
    assert inbound["event"]["duration"] == 3_000_000_000
    outbound = event(secgate(SECGATE.format(sa="192.168.10.30", da="198.51.100.53", dport=53,
                                            policy="POLICY_NAT_PERMIT", pa="198.51.100.21").encode(), "s", 1)).doc
    assert outbound["source"]["nat"]["ip"] == "198.51.100.21" and "nat" not in outbound["destination"]
    # no NAT policy, or both sides private: pa is kept as written, on no NAT side
    for policy, sa in (("POLICY_PERMIT", "203.0.113.80"), ("POLICY_NAT_PERMIT", "192.168.10.5")):
        doc = event(secgate(SECGATE.format(sa=sa, da="192.168.10.9", dport=445, policy=policy,
                                           pa="192.168.10.21").encode(), "s", 1)).doc
        assert "nat" not in doc["source"] and "nat" not in doc["destination"]
        assert doc["secgate"]["pa"] == "192.168.10.21"


def test_secgate_is_not_taken_for_fortigate() -> None:
    raw = SECGATE.format(sa="203.0.113.80", da="198.51.100.21", dport=3389, policy="POLICY_DENY",
                         pa="192.168.10.21").encode()
    item = event(autodetect.parse_line(raw, "s", 1))
    assert item.doc["event"]["module"] == "secgate"
    assert item.doc["event"]["type"] == ["connection", "denied"] and item.doc["observer"]["name"] == "themis"


@pytest.mark.parametrize("policy", ["POLICY_SOMETHING", ""])
def test_secgate_unconfirmed_policy_is_a_dead_letter(policy: str) -> None:
    raw = SECGATE.format(sa="192.168.10.1", da="192.168.10.2", dport=80, policy=policy, pa="-").encode()
    assert "not confirmed" in dead(secgate(raw, "s", 1), raw).reason


HUAWEI_IPS = ("{pre} %%01IPS/4/DETECT(l)[142]:An intrusion was detected. (SyslogId=514265, VSys=\"public\", "
              "Policy=\"p\", SrcIp=203.0.113.93, DstIp=192.168.10.21, SrcPort=36137, DstPort=53, SrcZone=untrust, "
              "DstZone=trust, User=\"unknown\", Protocol=UDP, Application=\"DNS\", Profile=\"default\", "
              "SignName=\"ISC BIND VERSION Request\", SignId=249760, EventNum=1, Target=server, Severity=low, "
              "Os=all, Category=Info-Disclosure, Reference=NA, Action=Alert)")


@pytest.mark.parametrize(("pre", "stamp"), [
    ("<134>Oct 15 2024 02:56:26+08:00 USG6585E_01", "2024-10-14T18:56:26.000Z"),
    ("Mar 26 2022 17:06:48+03:00 DST USG6585E_01", "2022-03-26T14:06:48.000Z"),
    ("<134>2024-10-15 02:56:26 USG6585E_01", "2024-10-15T02:56:26.000Z"),
    ("<134>Oct 15 2024 02:56:26 USG6585E_01", "2024-10-15T02:56:26.000Z"),
])
def test_huawei_timestamps_and_ips_alert(pre: str, stamp: str) -> None:
    doc = event(huawei(HUAWEI_IPS.format(pre=pre).encode(), "s", 1)).doc
    assert doc["@timestamp"] == stamp
    assert doc["observer"]["hostname"] == "USG6585E_01"
    assert doc["rule"] == {"name": "ISC BIND VERSION Request", "id": "249760", "category": "Info-Disclosure",
                           "ruleset": "default"}
    assert doc["event"]["kind"] == "alert" and doc["event"]["action"] == "alert"
    assert "allowed" not in doc["event"]["type"] and "user" not in doc  # "unknown" is no user


def test_huawei_unconfirmed_module_is_a_dead_letter_naming_it() -> None:
    raw = b"<188>Apr 14 2020 00:21:00 USG %%01ANTIATTACK/4/ATCKDF(l):something we cannot check"
    reason = dead(huawei(raw, "s", 1), raw).reason
    assert reason == "huawei_usg: Huawei log not confirmed, not parsed: ANTIATTACK/ATCKDF"


def test_ruijie_rfc5424_form_with_the_source_named_but_not_autodetected() -> None:
    raw = b'<133>1 2020-04-14T00:20:14.130290Z ruijie SYS 5 CONFIG [meta@4881 X="1"] Configured from console'
    doc = event(ruijie(raw, "s", 1)).doc
    assert doc["event"]["code"] == "SYS-5-CONFIG" and doc["message"] == "Configured from console"
    assert doc["observer"]["hostname"] == "ruijie" and doc["log"]["level"] == "notice"
    assert "source" not in doc and "destination" not in doc  # no field read from free text
    assert dead(autodetect.parse_line(raw, "s", 1), raw).reason == "unrecognised format"


def test_an_asa_line_stays_cisco_asa() -> None:
    raw = (b"<166>Apr 14 2020 00:20:13: %ASA-6-302013: Built inbound TCP connection 1234 for "
           b"outside:203.0.113.47/51236 (203.0.113.47/51236) to inside:192.168.10.21/3389 (198.51.100.21/3389)")
    assert event(autodetect.parse_line(raw, "s", 1)).doc["event"]["module"] == "cisco_asa"


def test_huorong_brute_force_row_is_an_intrusion_alert_not_malware() -> None:
    row = {"id": 5, "ts": 1586797300, "fname": "rlogin",
           "detail": json.dumps({"detail": {"detection": "RDP", "raddr": "203.0.113.100",
                                            "rdata": {"raddr": ["203.0.113.101", "bad", {"x": 1}]}}})}
    doc = event(huorong(json.dumps(row).encode(), "s", 1)).doc
    assert doc["event"]["category"] == ["intrusion_detection"] and doc["event"]["kind"] == "alert"
    assert doc["source"]["ip"] == "203.0.113.100"
    assert doc["related"]["ip"] == ["203.0.113.100", "203.0.113.101"]
    assert doc["rule"]["name"] == "Huorong brute-force protection: RDP" and doc["network"]["protocol"] == "rdp"
    assert doc["huorong"]["log_kind"] == "rlogin"


def test_huorong_plain_row_is_not_malware() -> None:
    row = {"id": 6, "ts": 1586826200, "fname": "update", "detail": {"detail": {"db_time": "2020-04-14 08:00"}}}
    doc = event(huorong(json.dumps(row).encode(), "s", 1)).doc
    assert doc["event"]["kind"] == "event" and doc["event"]["category"] == ["host"]
    assert doc["huorong"]["detail"]["db_time"] == "2020-04-14 08:00"


@pytest.mark.parametrize("raw", [
    b"<188>Apr 14 00:21:02 RG-S5750 %NFPP_ARP_GUARD-4-DOS_DETECTED: Host<IP=203.0.113.77,MAC=00d0.F822.33aa,"
    b"port=Gi0/1,VLAN=7> was detected. (2020-04-14 00:21:01)",
    # the log-buffer form of Ruijie's support notes: no sysname, a colon after the time
    b"*Apr 14 00:21:02:%NFPP_ARP_GUARD-4-DOS_DETECTED: Host < IP=203.0.113.77 , MAC=00d0.f822.33AA,port=Gi0/1,"
    b"VLAN=7 > was detected.(2020-04-14 00:21:01)",
])
def test_ruijie_nfpp_attack_names_the_attacker_and_is_autodetected(raw: bytes) -> None:
    doc = event(autodetect.parse_line(raw, "s", 1)).doc
    assert doc["event"]["module"] == "ruijie" and doc["event"]["kind"] == "alert"
    assert doc["event"]["category"] == ["network", "intrusion_detection"]
    assert doc["source"]["ip"] == "203.0.113.77" and doc["source"]["mac"] == "00-D0-F8-22-33-AA"
    assert doc["observer"]["ingress"]["interface"]["name"] == "Gi0/1" and doc["network"]["vlan"]["id"] == "7"
    assert doc["event"]["start"] == "2020-04-14T00:21:01.000Z" and doc["network"]["protocol"] == "arp"
    assert doc["rule"]["name"] == "Ruijie NFPP ARP guard: DoS attack"


def test_ruijie_nfpp_na_values_and_isolation_outcomes() -> None:
    isolated = event(ruijie(b"<188>Apr 14 00:21:03 RG %NFPP_IP_GUARD-4-ISOLATED:Host <IP=203.0.113.77, MAC= N/A,"
                            b"port=Gi0/1,VLAN=1> was isolated. (2020-04-14 00:21:02)", "s", 1)).doc
    assert isolated["event"]["type"] == ["denied"] and isolated["event"]["outcome"] == "success"
    assert "mac" not in isolated["source"] and isolated["event"]["kind"] == "event"
    failed = event(ruijie(b"<188>Apr 14 00:21:04 RG %NFPP_DHCP_GUARD-4-ISOLATE_FAILED: Failed to isolate host "
                          b"<IP=N/A,MAC=0000.0000.0001,port=Gi0/4,VLAN=20>. (2020-04-14 00:21:03)", "s", 1)).doc
    assert failed["event"]["outcome"] == "failure" and "ip" not in failed["source"]
    assert failed["source"]["mac"] == "00-00-00-00-00-01"


@pytest.mark.parametrize("raw", [
    b"<188>Apr 14 00:21:07 RG %NFPP_ARP_GUARD-4-SCAN: ARP scan table is full.",
    b"<188>Apr 14 00:21:07 RG %NFPP_ARP_GUARD-4-SCAN: Host<IP=N/A,MAC=N/A,port=Gi0/1,VLAN=1> was detected.",
])
def test_ruijie_nfpp_attack_without_an_attacker_is_a_dead_letter(raw: bytes) -> None:
    assert "Ruijie NFPP SCAN" in dead(ruijie(raw, "s", 1), raw).reason


def test_ruijie_other_nfpp_logs_keep_the_envelope_only() -> None:
    doc = event(ruijie(b"<188>Apr 14 00:21:06 RG %NFPP_ARP_GUARD-4-SCAN_TABLE_FULL: ARP scan table is full.",
                       "s", 1)).doc
    assert doc["event"]["type"] == ["info"] and "source" not in doc and "rule" not in doc


def test_huawei_sece_attacks_from_switches() -> None:
    arp = event(autodetect.parse_line(
        b"<188>Apr 14 2020 00:31:00 S9706 %%01SECE/4/ARPMISS(l)[124]:Attack occurred.(AttackType=Arp Miss Attack, "
        b"SourceInterface=XGigabitEthernet2/0/0, SourceIP=192.168.10.66, AttackPackets=6 packets per second)",
        "s", 1)).doc
    assert arp["event"]["module"] == "huawei_usg" and arp["event"]["kind"] == "alert"
    assert arp["source"]["ip"] == "192.168.10.66" and arp["huawei"]["attack_pps"] == 6
    assert arp["observer"]["type"] == "switch" and arp["rule"]["name"] == "Huawei SECE: Arp Miss Attack"
    user = event(huawei(b"<188>Apr 14 2020 00:31:01 S9706 %%01SECE/4/USER_ATTACK(l)[7]:User attack occurred.(Slot=MPU, "
                        b"SourceAttackInterface=Wlan-Dbss301:1666, OuterVlan/InnerVlan=301/0, "
                        b"UserMacAddress=509f-2706-c9b6, AttackPackets=32 packets per second)", "s", 1)).doc
    assert user["source"]["mac"] == "50-9F-27-06-C9-B6" and user["network"]["vlan"] == {"id": "301"}
    assert user["observer"]["ingress"]["interface"]["name"] == "Wlan-Dbss301:1666"


def test_huawei_antiddos_attack_lists_every_attacker_and_statistics_are_dead_letters() -> None:
    doc = event(huawei(b'<189>2020-04-14 00:32:00 10.0.0.1 %%01SEC/5/ATCKDF(l):log_type=ip_attack device_ip=10.0.0.1 '
                       b'zone_ip=198.51.100.21 start_time_attack="2020-04-14 00:31:10" end_time="" attack_type=15 '
                       b'attacker=203.0.113.1,not-an-ip,203.0.113.2', "s", 1)).doc
    assert doc["destination"]["ip"] == "198.51.100.21" and doc["source"]["ip"] == "203.0.113.1"
    assert doc["huawei"]["attackers"] == ["203.0.113.1", "203.0.113.2"] and doc["rule"]["id"] == "15"
    assert "end" not in doc["event"] and doc["event"]["start"] == "2020-04-14T00:31:10.000Z"
    raw = (b'<189>2020-04-14 00:32:02 10.0.0.1 %%01SEC/5/ATCKDF(l):log_type=ip_flow time="2020-04-14 00:32:02" '
           b"total_pps=1")
    assert "log_type='ip_flow' not mapped" in dead(huawei(raw, "s", 1), raw).reason


@pytest.mark.parametrize(("text", "mac"), [
    ("00d0.f822.33aa", "00-D0-F8-22-33-AA"), ("509f-2706-c9b6", "50-9F-27-06-C9-B6"),
    ("50:9f:27:06:c9:b6", "50-9F-27-06-C9-B6"), ("50-9F-27-06-C9-B6", "50-9F-27-06-C9-B6"),
    ("N/A", None), ("", None), (None, None), ("00d0.f822-33aa", None), ("00d0.f822.33a", None),
])
def test_ecs_mac_reads_the_device_notations_and_nothing_else(text: str | None, mac: str | None) -> None:
    assert ecs_mac(text) == mac


@pytest.mark.parametrize("line", [
    # the escape inside the JSON-in-a-string column, and directly in a JSON object column
    '{"id": 5, "ts": 1586796600, "fid": 3, '
    '"detail": "{\\"virus_name\\":\\"Trojan/\\\\ud800x\\",\\"path\\":\\"C:\\\\\\\\a.exe\\"}"}',
    '{"id": 6, "ts": 1586796600, "fid": 3, "detail": {"virus_name": "X\\ud800", "path": "C:\\\\a.exe"}}',
])
def test_huorong_lone_surrogate_is_replaced_and_flagged_not_a_crash(line: str) -> None:
    from logwarden.kafka_io import encode

    doc = event(huorong(line.encode(), "hr.log", 0)).doc
    assert "lone-surrogate-replaced" in doc["log"]["flags"]
    value = encode(doc)  # raised UnicodeEncodeError before: `parse` exit 70, `ship file` stopped
    assert "\ufffd" in json.loads(value)["huorong"]["detail"]["virus_name"]
