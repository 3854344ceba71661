"""Agreement with Elastic's cisco_asa and iptables pipelines (as logwarden/shippers/conformance.py
reads them) on the golden inputs: only the differences docs/ecs-conformance.md keeps on purpose."""

from __future__ import annotations

from logwarden.shippers import conformance

DELIBERATE = {
    # Built/Teardown carry `allowed` (Sigma `action: allowed`); outbound Teardowns keep the Built roles;
    # `v1:outside` lines, which its 302xxx grok refuses
    "cisco_asa": {"event.type", "source.ip", "source.port", "destination.ip", "destination.port",
                  "observer.ingress.interface.name", "observer.egress.interface.name", "(line refused by its grok)"},
    # our verdict from the --log-prefix words; it reads an action only from `WORD:` lines without a host
    "iptables": {"event.type", "event.action"},
}


def test_only_deliberate_differences_remain() -> None:
    for source, expected in DELIBERATE.items():
        agree, total, misses = conformance.agreement(source)
        assert set(misses) <= expected, (source, misses)
        assert total > 150 and agree / total > 0.8, (source, agree, total)
