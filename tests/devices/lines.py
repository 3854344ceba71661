"""Device lines for the incident's timeline, built from the layouts of the goldens
(logwarden/shippers/<device>/testdata): inbound RDP from public addresses, one internal host
reaching many others on SMB, and Huorong detections. Shared by the hunt and real-server tests."""

from __future__ import annotations

import json

# inbound RDP allowed from a public address, one line per device (and per Huawei log kind)
RDP_ALLOWED = {
    "huawei_usg": [
        "<190>Apr 14 2020 00:20:11 USG6330-01 %%01POLICY/6/POLICYPERMIT(l):vsys=public, protocol=6, "
        "source-ip=203.0.113.90, source-port=50700, destination-ip=192.168.10.21, destination-port=3389, "
        "time=2020/4/14 00:20:11, source-zone=untrust, destination-zone=trust, application-name=RDP, "
        "rule-name=vendor-rdp.",
        "<190>2020-04-14 00:25:00 USG6330-01 %%01SECLOG/6/SESSION_TEARDOWN(l):IPVer=4,Protocol=tcp,"
        "SourceIP=203.0.113.92,DestinationIP=192.168.10.22,SourcePort=50703,DestinationPort=3389,"
        "BeginTime=1586823600,EndTime=1586823900,SourceZone=untrust,DestinationZone=trust,PolicyName=rdp-map.",
    ],
    "secgate": [
        '<6>Apr 14 00:20:11 192.168.1.1 kernel: devid=0 date="2020/04/14 00:20:11" dname=themis logtype=1 pri=5 '
        "ver=0.3.0 rule_name=rdp-map mod=pf sa=203.0.113.80 sport=50100 type=NULL da=198.51.100.21 dport=3389 "
        "code=NULL proto=IPPROTO_TCP policy=POLICY_NAT_PERMIT duration=0 rcvd=52 sent=52 pa=192.168.10.21 "
        'pport=3389 fwlog=0 dsp_msg="包过滤日志"',
    ],
    "sangfor": [
        "<134>Apr 14 00:20:11 SANGFOR-AF fwlog: 日志类型:服务控制或应用控制, 用户:(null), 源IP:203.0.113.60, "
        "源端口:50211, 目的IP:192.168.10.21, 目的端口:3389, 应用类型:远程登录, 应用名称:RDP, 系统动作:允许",
    ],
}
# must not fire: denied, or from a private address, or only recorded
RDP_NOT = [
    "<190>Apr 14 2020 00:20:12 USG6330-01 %%01POLICY/6/POLICYDENY(l):vsys=public, protocol=6, "
    "source-ip=203.0.113.91, source-port=50701, destination-ip=192.168.10.21, destination-port=3389, "
    "time=2020/4/14 00:20:12, source-zone=untrust, destination-zone=trust, application-name=RDP, rule-name=default.",
    '<6>Apr 14 00:20:12 192.168.1.1 kernel: devid=0 date="2020/04/14 00:20:12" dname=themis logtype=1 pri=5 '
    "ver=0.3.0 rule_name=pf1 mod=pf sa=203.0.113.81 sport=50101 type=NULL da=198.51.100.21 dport=3389 code=NULL "
    'proto=IPPROTO_TCP policy=POLICY_DENY duration=0 rcvd=52 sent=52 fwlog=0 dsp_msg="包过滤日志"',
    "<134>Apr 14 00:20:13 SANGFOR-AF fwlog: 日志类型:服务控制或应用控制, 用户:(null), 源IP:203.0.113.62, "
    "源端口:50213, 目的IP:192.168.10.21, 目的端口:3389, 应用类型:远程登录, 应用名称:RDP, 系统动作:被记录",
    "<134>Apr 14 00:20:14 SANGFOR-AF fwlog: 日志类型:服务控制或应用控制, 用户:(null), 源IP:10.1.2.3, "
    "源端口:50214, 目的IP:192.168.10.21, 目的端口:3389, 应用类型:远程登录, 应用名称:RDP, 系统动作:允许",
]
RDP_SOURCES = {"huawei_usg": {"203.0.113.90", "203.0.113.92"}, "secgate": {"203.0.113.80"},
               "sangfor": {"203.0.113.60"}}
# the worm: one internal host per device reaching 25 internal hosts on TCP 445 within a minute
SMB_SPREADERS = {"huawei_usg": "192.168.10.31", "secgate": "192.168.10.32", "sangfor": "192.168.10.33"}


def smb_fan_out(device: str, n: int = 25) -> list[str]:
    src = SMB_SPREADERS[device]
    out = []
    for i in range(n):
        dst, sport = f"192.168.20.{100 + i}", 50000 + i
        if device == "huawei_usg":
            out.append(f"<190>Apr 14 2020 00:30:{i:02d} USG6330-01 %%01POLICY/6/POLICYPERMIT(l):vsys=public, "
                       f"protocol=6, source-ip={src}, source-port={sport}, destination-ip={dst}, destination-port=445, "
                       f"time=2020/4/14 00:30:{i:02d}, source-zone=trust, destination-zone=dmz, "
                       "application-name=SMB, rule-name=trust-dmz.")
        elif device == "secgate":
            out.append(f'<6>Apr 14 00:30:{i:02d} 192.168.1.1 kernel: devid=0 date="2020/04/14 00:30:{i:02d}" '
                       f"dname=themis logtype=1 pri=5 ver=0.3.0 rule_name=lan mod=pf sa={src} sport={sport} type=NULL "
                       f"da={dst} dport=445 code=NULL proto=IPPROTO_TCP policy=POLICY_PERMIT duration=0 rcvd=52 "
                       'sent=52 fwlog=0 dsp_msg="包过滤日志"')
        else:
            out.append(f"<134>Apr 14 00:30:{i:02d} SANGFOR-AF fwlog: 日志类型:服务控制或应用控制, 用户:(null), "
                       f"源IP:{src}, 源端口:{sport}, 目的IP:{dst}, 目的端口:445, 应用类型:文件共享, 应用名称:SMB, "
                       "系统动作:允许")
    return out


# Huorong rows (HrLogV3 layout, exported as JSON lines): a miner, a ransomware detection, a
# brute-force protection row (an alert, but not an AV detection) and a database update
HUORONG_ROWS = [
    {"id": 21, "ts": 1586826100, "fname": "filemon", "detail": json.dumps({"detail": {
        "virus_name": "Trojan/CoinMiner.WannaMine.c", "pathname": "C:\\Windows\\System32\\securebootthemes.exe",
        "procname": "C:\\Windows\\System32\\svchost.exe", "treatment": "已隔离"}}, ensure_ascii=False)},
    {"id": 22, "ts": 1586796600, "fname": "filemon", "detail": json.dumps({"detail": {
        "virus_name": "Trojan/Ransom.Phobos.a", "pathname": "C:\\Users\\Administrator\\Desktop\\eight.exe",
        "treatment": "删除"}}, ensure_ascii=False)},
    {"id": 23, "ts": 1586797300, "fname": "rlogin", "detail": json.dumps({"detail": {
        "detection": "RDP", "raddr": "203.0.113.100", "rdata": {"raddr": ["203.0.113.100", "203.0.113.101"]}}})},
    {"id": 24, "ts": 1586826200, "fname": "update", "detail": json.dumps({"detail": {"db_time": "2020-04-14 08:00"}})},
]
HUORONG_AV_RULES = {"Trojan/CoinMiner.WannaMine.c", "Trojan/Ransom.Phobos.a"}


# LAN attack logs (alerts of category intrusion_detection, not connections: no RDP/SMB rule fires):
# a Ruijie NFPP guard, a Huawei switch's SECE and a Huawei AntiDDoS attack, each naming its attacker
ATTACKS = [
    "<188>Apr 14 00:21:02 RG-EG3250 %NFPP_ARP_GUARD-4-DOS_DETECTED: Host<IP=192.168.10.66,MAC=00d0.f822.3344,"
    "port=Gi0/3,VLAN=10> was detected. (2020-04-14 00:21:01)",
    "<188>Apr 14 2020 00:31:00 S9706-CORE %%01SECE/4/ARPMISS(l)[124]:Attack occurred.(AttackType=Arp Miss Attack, "
    "SourceInterface=XGigabitEthernet2/0/0, SourceIP=192.168.10.67, AttackPackets=6 packets per second)",
    '<189>2020-04-14 00:32:00 192.168.110.1 %%01SEC/5/ATCKDF(l):log_type=ip_attack device_ip=192.168.110.1 '
    'device_type=DETECT zone_id=12 zone_name=w100 zone_ip=198.51.100.21 start_time_attack="2020-04-14 00:31:10" '
    'end_time="" attack_type=10 attack_status=ATTACK drop_packets=329216 attacker=203.0.113.97,203.0.113.121',
]
ATTACKERS = {("ruijie", "192.168.10.66"), ("huawei_usg", "192.168.10.67"), ("huawei_usg", "203.0.113.97")}


def firewall_lines() -> list[str]:
    """Every firewall line above: RDP allowed and not, the LAN attacks, and each device's SMB fan-out."""
    lines = [ln for group in RDP_ALLOWED.values() for ln in group] + RDP_NOT + ATTACKS
    for device in SMB_SPREADERS:
        lines += smb_fan_out(device)
    return lines


def huorong_jsonl() -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in HUORONG_ROWS)
