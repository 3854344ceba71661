"""`logwarden dashboards build|check|query|import`: the Kibana saved objects for the SOC.

    build    dashboards/src/*.yml -> dashboards/logwarden.ndjson (default prefix), or with
             --index-prefix / --internal-networks a site's own file (-o FILE)
    check    exit 1 if the NDJSON is stale or structurally broken (CI)
    query    run every panel's query + aggregation on Elasticsearch (this config's index prefix)
    import   POST to Kibana's saved-objects import API the objects generated for this config's
             index prefix and internal networks (or --file as it is)
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from logwarden import networks
from logwarden.atomic_file import output
from logwarden.errors import InputError, ServerError, UsageError
from logwarden.networks import Range
from logwarden.safe_text import printable, redact_credentials


def register(sub: argparse._SubParsersAction) -> None:
    from logwarden.dashboards import INDEX_PREFIX, OUT, SRC

    p = sub.add_parser("dashboards", help="Kibana saved objects: build, check, query against ES, import")
    dsub = p.add_subparsers(dest="dashboards_command", metavar="ACTION")
    b = dsub.add_parser("build", help="generate the NDJSON from the YAML sources")
    c = dsub.add_parser("check", help="exit 1 if the NDJSON is stale or broken")
    for sp in (b, c):
        sp.add_argument("--src", type=Path, default=SRC, help=f"source folder (default {SRC})")
        sp.add_argument("--out", "-o", type=Path, default=OUT, help=f"NDJSON file (default {OUT})")
    b.add_argument("--index-prefix", default=INDEX_PREFIX,
                   help=f"the data views' index prefix (default {INDEX_PREFIX}, the committed file's)")
    b.add_argument("--internal-networks", default="",
                   help="the site's own CIDRs, comma-separated, added to the queries' network lists")
    b.set_defaults(func=run_build)
    c.set_defaults(func=run_check)
    q = dsub.add_parser("query", help="run every panel on Elasticsearch and print hits and top buckets")
    q.add_argument("--file", type=Path, default=OUT, help=f"NDJSON file (default {OUT})")
    q.add_argument("--from", dest="start", help="time range start (default: the range each dashboard opens on)")
    q.add_argument("--to", dest="end", help="time range end (default: the range each dashboard opens on)")
    q.add_argument("--json", action="store_true", help="one JSON line per panel")
    q.set_defaults(func=run_query)
    i = dsub.add_parser("import", help="import the NDJSON into Kibana (overwrites objects with the same ids)")
    for sp in (b, i):
        sp.add_argument("--time-from", help="every dashboard opens on this start (ISO UTC or date math, e.g. now-24h; "
                                            "default: each source's, the incident replay's days)")
        sp.add_argument("--time-to", help="... and this end (e.g. now); give both or neither")
    i.add_argument("--kibana", required=True, help="Kibana URL, e.g. http://localhost:5601")
    what = i.add_mutually_exclusive_group()
    what.add_argument("--file", type=Path, help="import this NDJSON file as it is")
    what.add_argument("--index-prefix", help="generate the objects for this index prefix (default: the config's)")
    i.add_argument("--space", help="Kibana space id (default: the default space)")
    i.add_argument("--user", help="basic auth user; password from LOGWARDEN_KIBANA_PASSWORD")
    i.add_argument("--api-key", help="API key (base64 id:key); or LOGWARDEN_KIBANA_API_KEY")
    i.add_argument("--timeout", type=float, default=60.0)
    i.set_defaults(func=run_import)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _site(index_prefix: str, internal_networks: str) -> tuple[str, tuple[Range, ...]]:
    """Validated site settings, as `logwarden.config` validates them.

    Raises:
        UsageError: a prefix or a network list that cannot be used.
    """
    from logwarden.config import Config, ConfigError, validate

    try:
        validate(Config(index_prefix=index_prefix, internal_networks=internal_networks))
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    return index_prefix, networks.parse_extra(internal_networks)


def _time_range(args: argparse.Namespace) -> tuple[str, str] | None:
    """(--time-from, --time-to), None when neither is given.

    Raises:
        UsageError: only one of them given.
    """
    if (args.time_from is None) != (args.time_to is None):
        raise UsageError("give both --time-from and --time-to, or neither")
    return None if args.time_from is None else (args.time_from, args.time_to)


def _render(src: Path, index_prefix: str, internal_extra: tuple[Range, ...],
            time_range: tuple[str, str] | None = None) -> str:
    """The NDJSON for a site, checked.

    Raises:
        UsageError: a source file is invalid.
        InputError: the generated objects are structurally broken.
    """
    from logwarden.dashboards import SpecError, parse_ndjson, problems, render

    try:
        text = render(src, index_prefix, internal_extra, time_range)
    except SpecError as exc:
        raise UsageError(str(exc)) from exc
    found = problems(parse_ndjson(text), index_prefix)
    if found:
        raise InputError("generated objects are broken: " + "; ".join(found))
    return text


def run_build(args: argparse.Namespace) -> int:
    index_prefix, internal_extra = _site(args.index_prefix, args.internal_networks)
    text = _render(args.src, index_prefix, internal_extra, _time_range(args))
    with output(args.out) as out:  # all or nothing: a full disk leaves the previous file (UsageError, exit 2)
        out.write(text)
    n = text.count("\n")
    print(f"dashboards: wrote {n} saved objects to {args.out}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from logwarden.dashboards import SpecError, check

    try:
        found = check(args.src, args.out)
    except SpecError as exc:
        print(f"dashboards: {exc}", file=sys.stderr)
        return 2
    for line in found:
        print(f"dashboards: {line}", file=sys.stderr)
    if not found:
        print(f"dashboards: {args.out} is up to date and well formed")
    return 1 if found else 0


def run_query(args: argparse.Namespace) -> int:
    from elasticsearch import ApiError, TransportError

    from logwarden import es_preflight
    from logwarden.config import ConfigError, load
    from logwarden.dashboards import parse_ndjson
    from logwarden.dashboards.query import panel_queries, run_panel
    from logwarden.es_io import bare_url, client
    from logwarden.server_errors import describe

    try:
        cfg = load(args.config)
    except ConfigError as exc:
        print(f"dashboards: {exc}", file=sys.stderr)
        return 2
    es = client(cfg)
    es_preflight.check(cfg, es, drain=True)  # unreachable or refusing: one line naming the cause, exit 3
    objects = parse_ndjson(args.file.read_text(encoding="utf-8"))
    failed = 0
    for pq in panel_queries(objects, cfg.index_prefix, args.start, args.end):
        try:
            r = run_panel(es, pq)
        except ApiError as exc:
            failed += 1
            print(printable(redact_credentials(
                f"dashboards: {pq.dashboard} / {pq.title}: Elasticsearch refused the query: {exc}")), file=sys.stderr)
            continue
        except TransportError as exc:  # the URL may carry a password: name the server by its bare URL
            raise ServerError(describe(exc, cfg) or f"Elasticsearch at {bare_url(cfg)}: {exc}") from exc
        if args.json:
            print(json.dumps({"dashboard": pq.dashboard, "panel": pq.panel, "title": pq.title, "index": pq.index,
                              "hits": r.hits, "top": r.top}))
        else:
            top = f"  top: {r.top}" if r.top is not None else ""
            print(f"{r.hits:>8}  {pq.dashboard} / {pq.title}{top}")
    return 1 if failed else 0


def multipart(field: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "logwarden-" + uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/ndjson\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def run_import(args: argparse.Namespace) -> int:
    from logwarden.config import load
    from logwarden.dashboards import SRC

    time_range = _time_range(args)
    if args.file:
        if time_range is not None:
            raise UsageError("--time-from/--time-to apply to generated objects, not to --file")
        content, name = args.file.read_bytes(), args.file.name
    else:
        cfg = load(args.config)
        index_prefix, internal_extra = _site(args.index_prefix or cfg.index_prefix, cfg.internal_networks)
        content, name = _render(SRC, index_prefix, internal_extra, time_range).encode("utf-8"), "logwarden.ndjson"
        print(f"dashboards: objects for index prefix {index_prefix!r}", file=sys.stderr)
    body, ctype = multipart("file", name, content)
    base = args.kibana.rstrip("/") + (f"/s/{args.space}" if args.space else "")
    req = urllib.request.Request(f"{base}/api/saved_objects/_import?overwrite=true", data=body, method="POST",
                                 headers={"kbn-xsrf": "true", "Content-Type": ctype})
    api_key = args.api_key or os.environ.get("LOGWARDEN_KIBANA_API_KEY")
    if api_key:
        req.add_header("Authorization", f"ApiKey {api_key}")
    elif args.user:
        token = base64.b64encode(f"{args.user}:{os.environ.get('LOGWARDEN_KIBANA_PASSWORD', '')}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=args.timeout) as resp:
            result = json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:500].decode("utf-8", "replace")
        raise ServerError(f"Kibana at {args.kibana} refused the import ({exc.code}): {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ServerError(f"Kibana at {args.kibana} unreachable: {exc}") from exc
    errors = result.get("errors") or []
    print(f"dashboards: imported {result.get('successCount', 0)} objects, {len(errors)} errors")
    for e in errors:
        print(f"  {e.get('type')} {e.get('id')} ({e.get('title', '')}): {json.dumps(e.get('error'))}", file=sys.stderr)
    return 0 if result.get("success") and not errors else 1
