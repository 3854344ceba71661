"""Every name a SOC configures reaches the generated artifacts, no servers: rule exports name the
configured indices (dashboards: tests/dashboards/test_import.py; template: test_schema.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from sigma.rule import SigmaRule

from logwarden.detection.convert import _backend, convert, rule_indices
from logwarden.resources import rules_dir
from tests.support.paths import ROOT

UNTAGGED_RULE = """title: Untagged firewall deny
id: 3f9a1c52-5d7e-4c1b-9a44-0e2b6f1d7a10
status: experimental
logsource:
  category: firewall
detection:
  selection:
    dst_port: 3389
    action: denied
  condition: selection
level: low
"""


def test_esql_export_reads_the_configured_indices():
    conv = convert([rules_dir()], "esql", index_prefix="soc-")
    froms = {q.split(" metadata")[0] for _, q in conv.outputs}
    assert froms == {"from soc-windows-*", "from soc-firewall-*", "from soc-av-*"}
    assert len(conv.outputs) >= 15


def test_kibana_export_reads_the_configured_indices():
    # The backend the kibana target uses, with the indices it is given: pySigma's Kibana NDJSON
    # finaliser downloads MITRE ATT&CK data for every rule, which these tests (offline) cannot.
    rule = SigmaRule.from_yaml(UNTAGGED_RULE)
    assert rule_indices(rule, "soc-") == ["soc-firewall-*"]
    backend = _backend("lucene", True, rule_indices(rule, "soc-"))
    assert backend.index_names == ["soc-firewall-*"]
    unknown = SigmaRule.from_yaml(UNTAGGED_RULE.replace("category: firewall", "category: webserver"))
    assert rule_indices(unknown, "soc-") == ["soc-windows-*", "soc-firewall-*", "soc-av-*"]


def test_convert_cli_takes_the_prefix_from_the_environment():
    r = subprocess.run([sys.executable, "-m", "logwarden.cli", "rules", "convert", "--target", "esql"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300,
                       env={"PATH": "/usr/bin:/bin", "LOGWARDEN_INDEX_PREFIX": "soc-", "HOME": str(ROOT)})
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if line]
    assert lines and all("\tfrom soc-" in line for line in lines)
    assert json.dumps(lines)  # plain text, one query per line


def test_lucene_export_queries_caseless_only_where_the_template_has_it(tmp_path):
    rule = tmp_path / "fields.yml"
    rule.write_text(UNTAGGED_RULE.replace("    dst_port: 3389\n    action: denied\n",
                                          "    host.ip: 192.0.2.7\n    error.message: Boom\n    rule.name: Boom\n"))
    ((_, query),) = convert([rule], "lucene", index_prefix="soc-").outputs
    assert "host.ip:192.0.2.7" in query  # an ip field: no .caseless sub-field, value untouched
    assert "error.message:Boom" in query  # declared caseless: false
    assert "rule.name.caseless:boom" in query
