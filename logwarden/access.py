"""Least privilege: what each logwarden component may do on Elasticsearch and Kafka, as data.

One table per server, built for a configuration's index and topic prefixes, used three ways:
`logwarden setup --access apply` creates the Elasticsearch roles and API keys and the Kafka ACLs,
`--access print` prints them for an administrator, and the secured lab writes the same roles to
its file realm (roles.yml) for its per-component users.

Elasticsearch roles (indices under the index prefix):
- indexer: create documents and indices, and refresh them (`index --once` makes what it wrote
  searchable before it exits), nothing else (no read, no delete);
- detector: read the indices, create documents in the alerts indices;
- dashboards: read the indices, and the Kibana features dashboards/discover/visualize/data views.

Kafka ACLs (principals `User:<name>`, LITERAL resources of the configured prefixes):
- shipper: write (and describe) the dataset and dead-letter topics;
- indexer: read the dataset topics with its group, write dead letters;
- stream: read the detection sources with its group, write alerts and dead letters, read and write
  its repartition topic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from logwarden.config import Config
from logwarden.shippers.base import DATASETS, DEADLETTER

ES_COMPONENTS = ("indexer", "detector", "dashboards")
KAFKA_COMPONENTS = ("shipper", "indexer", "stream")
DETECTION_SOURCES = ("windows", "firewall", "av")
ALERTS = "alerts"
KIBANA_FEATURES = ("feature_dashboard.all", "feature_discover.all", "feature_visualize.all",
                   "feature_indexPatterns.all")


def role_name(cfg: Config, component: str) -> str:
    """`logwarden-indexer` for the default prefix; the index prefix names the deployment."""
    return f"{cfg.index_prefix}{component}"


def es_roles(cfg: Config, index_pattern: str | None = None) -> dict[str, dict[str, Any]]:
    """The role descriptors by role name (the body of PUT _security/role/<name>), for the indices
    of `cfg.index_prefix`, or of `index_pattern` (the lab's `logwarden-*`: every test namespace)."""
    prefix = index_pattern or cfg.index_prefix
    everything = f"{prefix}*"
    alerts = f"{prefix}{ALERTS}-*"
    return {
        role_name(cfg, "indexer"): {
            "indices": [{"names": [everything],
                         "privileges": ["create_doc", "create_index", "auto_configure", "maintenance"]}],
        },
        role_name(cfg, "detector"): {
            "indices": [{"names": [everything], "privileges": ["read", "view_index_metadata"]},
                        {"names": [alerts], "privileges": ["create_doc", "create_index", "auto_configure"]}],
        },
        role_name(cfg, "dashboards"): {
            "indices": [{"names": [everything], "privileges": ["read", "view_index_metadata"]}],
            "applications": [{"application": "kibana-.kibana", "privileges": list(KIBANA_FEATURES),
                              "resources": ["space:default"]}],
        },
    }


@dataclass(frozen=True)
class KafkaAcl:
    """One ALLOW rule: `principal` may `operation` the `resource` (TOPIC or GROUP) named `name`."""

    principal: str
    resource: str
    name: str
    operation: str

    def command(self, bootstrap: str) -> str:
        """The `kafka-acls.sh` line an administrator would run."""
        flag = "--topic" if self.resource == "TOPIC" else "--group"
        return (f"kafka-acls.sh --bootstrap-server {bootstrap} --command-config admin.properties --add "
                f"--allow-principal {self.principal} --operation {self.operation.capitalize()} {flag} {self.name}")


def kafka_acls(cfg: Config, users: dict[str, str]) -> list[KafkaAcl]:
    """The ACLs of the components, for the users by component (`shipper`, `indexer`, `stream`)."""
    acls: list[KafkaAcl] = []

    def allow(component: str, resource: str, names: list[str], operation: str) -> None:
        acls.extend(KafkaAcl(f"User:{users[component]}", resource, name, operation) for name in names)

    datasets = [cfg.topic(d) for d in DATASETS]
    dead = [cfg.topic(DEADLETTER)]
    sources = [cfg.topic(d) for d in DETECTION_SOURCES]
    allow("shipper", "TOPIC", [*datasets, *dead], "WRITE")
    allow("shipper", "TOPIC", [*datasets, *dead], "DESCRIBE")
    allow("indexer", "TOPIC", [*datasets, *dead], "READ")
    allow("indexer", "GROUP", [cfg.group("indexer")], "READ")
    allow("indexer", "TOPIC", dead, "WRITE")
    allow("stream", "TOPIC", sources, "READ")
    allow("stream", "GROUP", [cfg.group("stream")], "READ")
    allow("stream", "TOPIC", [cfg.topic(ALERTS), *dead], "WRITE")
    repartition = [cfg.topic("stream-repartition")]  # its members' correlation hits (detection/repartition.py)
    allow("stream", "TOPIC", repartition, "READ")
    allow("stream", "TOPIC", repartition, "WRITE")
    return acls


def printed(cfg: Config, users: dict[str, str]) -> str:
    """The roles, API-key requests and ACLs as text for an administrator (Kibana Dev Tools
    requests, then kafka-acls.sh lines); holds no secret."""
    lines = ["# Elasticsearch: roles, then one API key per component (Kibana Dev Tools console)"]
    for name, body in es_roles(cfg).items():
        lines += [f"PUT _security/role/{name}", json.dumps(body, indent=1), ""]
    for component in ES_COMPONENTS:
        name = role_name(cfg, component)
        lines += ["POST _security/api_key", json.dumps({"name": name, "role_descriptors": {name: es_roles(cfg)[name]}},
                                                     indent=1), ""]
    lines.append("# Kafka: ACLs (the users exist already: kafka-configs.sh --alter --add-config "
                 "'SCRAM-SHA-512=[password=...]' --entity-type users --entity-name NAME)")
    lines += [acl.command(cfg.kafka) for acl in kafka_acls(cfg, users)]
    return "\n".join(lines) + "\n"
