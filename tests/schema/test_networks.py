"""One definition of internal / public addresses (logwarden/networks.py), used by the Sigma rules
and the dashboards; a rule or a query that drifts from it fails here."""

from __future__ import annotations

import json

import pytest
import yaml

from logwarden import networks
from logwarden.config import ConfigError, load
from logwarden.dashboards import OUT, SRC, render
from logwarden.resources import rules_dir


def _rules():
    for path in sorted(rules_dir().rglob("*.yml")):
        if "tests" in path.relative_to(rules_dir()).parts:
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and "detection" in doc:
                yield path, doc


def test_every_rule_cidr_list_is_one_of_the_definitions():
    found = {path.name: networks.rule_problems(doc) for path, doc in _rules()}
    assert {name: p for name, p in found.items() if p} == {}
    # the four rules that classify addresses are really checked (not skipped as "no list")
    users = {path.name for path, doc in _rules() if "|cidr" in json.dumps(doc["detection"])}
    assert users == {"win_security_rdp_logon_public_source.yml", "win_security_logon_from_internal.yml",
                     "fw_inbound_rdp_public.yml", "fw_internal_smb.yml"}


def test_a_drifted_rule_list_is_reported():
    rule = {"detection": {"sel": {"IpAddress|cidr": ["10.0.0.0/8", "192.168.0.0/16"]}, "condition": "sel"}}
    (problem,) = networks.rule_problems(rule)
    assert "sel.IpAddress|cidr" in problem and "'internal'" in problem
    site_own = {"detection": {"sel": {"src_ip|cidr": ["10.20.30.0/24"]}, "condition": "sel"}}
    assert networks.rule_problems(site_own) == []


@pytest.mark.parametrize(("address", "internal", "public"), [
    ("10.1.2.3", True, False), ("172.31.255.255", True, False), ("172.32.0.1", False, True),
    ("192.168.10.21", True, False), ("fd12::1", True, False),
    ("127.0.0.1", False, False), ("::1", False, False), ("169.254.1.1", False, False),
    ("fe80::1%eth0", False, False), ("100.64.0.1", False, False), ("0.0.0.0", False, False),
    ("203.0.113.7", False, True), ("198.51.100.21", False, True), ("8.8.8.8", False, True),
    ("::ffff:192.168.1.1", True, False), ("2a00:1450::1", False, True),
    ("-", None, None), ("", None, None), (None, None, None), ("fc", None, None),
])
def test_classification(address, internal, public):
    assert networks.is_internal(address) is internal
    assert networks.is_public(address) is public


def test_site_ranges_from_the_config(tmp_path, monkeypatch):
    monkeypatch.delenv("LOGWARDEN_INTERNAL_NETWORKS", raising=False)
    (tmp_path / "logwarden.yml").write_text('internal_networks: "198.18.0.0/15, 2001:db8:1::/48"\n')
    cfg = load(str(tmp_path / "logwarden.yml"))
    extra = networks.parse_extra(cfg.internal_networks)
    assert networks.is_internal("198.18.4.5", extra) and not networks.is_public("198.18.4.5", extra)
    assert networks.is_public("198.18.4.5") is True  # the defaults alone
    (tmp_path / "bad.yml").write_text('internal_networks: "10.0.0.1/8"\n')
    with pytest.raises(ConfigError, match="internal_networks"):
        load(str(tmp_path / "bad.yml"))


def _queries(ndjson: str) -> list[str]:
    out = []
    for line in ndjson.splitlines():
        meta = json.loads(line)["attributes"].get("kibanaSavedObjectMeta")
        if meta:
            out.append(json.loads(meta["searchSourceJSON"])["query"]["query"])
    return out


def test_dashboard_queries_use_the_definition():
    queries = _queries(OUT.read_text(encoding="utf-8"))
    assert not [q for q in queries if "{{" in q]
    public = f"NOT source.ip:{networks.lucene_list(networks.NOT_PUBLIC)}"
    assert sum(public in q for q in queries) == 4  # the RDP panels of dashboards 1 and 3
    site = _queries(render(SRC, "logwarden-", networks.parse_extra("198.18.0.0/15")))
    assert sum(networks.lucene_list(networks.not_public(networks.parse_extra("198.18.0.0/15"))) in q
               for q in site) == 4


def test_leading_zero_addresses_are_not_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard (issue 7): 010.0.0.2 is neither internal nor public, and 010.0.0.0/8 is refused as a
    site network (Python's ipaddress refuses leading zeros since 3.9.5; inet_aton reads them as octal)."""
    assert networks.is_internal("010.0.0.2") is None and networks.is_public("010.0.0.2") is None
    assert networks.is_internal("10.0.0.2") is True
    monkeypatch.setenv("LOGWARDEN_INTERNAL_NETWORKS", "010.0.0.0/8")
    with pytest.raises(ConfigError, match="internal_networks"):
        load()
