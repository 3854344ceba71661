"""`logwarden setup`: index templates into Elasticsearch, topics into Kafka, for the configured
index and topic prefixes; with `--access`, the least-privilege roles, API keys and ACLs of each
component (logwarden/access.py): `print` shows them for an administrator, `apply` creates them
(API keys go to the `--keys-out` file, mode 600, never to stdout)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from logwarden import access
from logwarden.config import Config, load
from logwarden.errors import ServerError, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("setup", help="install index templates (Elasticsearch) and create topics (Kafka); "
                                     "--access: least-privilege roles, API keys and ACLs")
    p.add_argument("--no-kafka", action="store_true", help="only the Elasticsearch templates (and roles)")
    p.add_argument("--no-es", action="store_true", help="only Kafka topics (and ACLs)")
    p.add_argument("--access", choices=["print", "apply"],
                   help="print: the roles, API-key requests and ACLs for an administrator (nothing is changed); "
                        "apply: create them")
    p.add_argument("--keys-out", help="apply: file for the new API keys (JSON, mode 600); required with Elasticsearch")
    for component in access.KAFKA_COMPONENTS:
        p.add_argument(f"--kafka-{component}-user", default=f"logwarden-{component}",
                       help=f"Kafka user of the {component} (default logwarden-{component})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Raises:
        ServerError: Elasticsearch or Kafka refused or could not be reached.
        UsageError: `--access apply` for Elasticsearch without `--keys-out`.
    """
    cfg = load(args.config)
    users = {c: getattr(args, f"kafka_{c}_user") for c in access.KAFKA_COMPONENTS}
    if args.access == "print":
        print(access.printed(cfg, users), end="")
        return 0
    if args.access == "apply" and not args.no_es and not args.keys_out:
        raise UsageError("setup --access apply: --keys-out FILE is needed for the new API keys (or --no-es)")
    if not args.no_es:
        _elasticsearch(cfg, args)
    if not args.no_kafka:
        _kafka(cfg, args, users)
    return 0


def _elasticsearch(cfg: Config, args: argparse.Namespace) -> None:
    from elasticsearch import ApiError, TransportError

    from logwarden import es_io, es_preflight, server_errors

    es = es_io.client(cfg)
    es_preflight.check(cfg, es, drain=True)  # unreachable or refusing: one line naming the cause, exit 3
    try:
        names = es_io.install_templates(es, cfg.index_prefix)
        print(f"index templates installed: {', '.join(names)} (indices {cfg.index_prefix}*)")
        if args.access == "apply":
            keys = _roles_and_keys(es, cfg)
            _write_private(Path(args.keys_out), json.dumps(keys, indent=1) + "\n")
            print(f"roles: {', '.join(access.es_roles(cfg))}; API keys written to {args.keys_out}")
    except (ApiError, TransportError) as exc:
        raise ServerError(server_errors.describe(exc, cfg)
                          or f"Elasticsearch at {cfg.es_shown} refused the setup: {exc}") from exc


def _roles_and_keys(es: Any, cfg: Config) -> dict[str, dict[str, str]]:
    """Put the roles, create one API key per component; returns {component: {id, name, encoded}}."""
    roles = access.es_roles(cfg)
    for name, body in roles.items():
        es.security.put_role(name=name, **body)
    keys = {}
    for component in access.ES_COMPONENTS:
        name = access.role_name(cfg, component)
        made = es.security.create_api_key(name=name, role_descriptors={name: roles[name]})
        keys[component] = {"id": made["id"], "name": name, "encoded": made["encoded"]}
    return keys


def _kafka(cfg: Config, args: argparse.Namespace, users: dict[str, str]) -> None:
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, ResourcePattern, ResourceType

    from logwarden.kafka_io import KafkaError, admin, ensure_topics

    try:
        created = ensure_topics(cfg)
        print(f"topics created: {', '.join(created) if created else 'none (all exist)'}")
        if args.access == "apply":
            acls = [ACL(acl.principal, "*", ACLOperation[acl.operation], ACLPermissionType.ALLOW,
                        ResourcePattern(ResourceType[acl.resource], acl.name))
                    for acl in access.kafka_acls(cfg, users)]
            client = admin(cfg, "logwarden-setup")
            try:
                result = client.create_acls(acls)
            finally:
                client.close()
            failed = result.get("failed", []) if isinstance(result, dict) else []
            if failed:
                raise ServerError(f"Kafka at {cfg.kafka} refused {len(failed)} ACL(s): {failed[0]!r}")
            print(f"Kafka ACLs created: {len(acls)} for users {', '.join(sorted(set(users.values())))}")
    except KafkaError as exc:
        raise ServerError(f"Kafka at {cfg.kafka}: {exc}") from exc


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
