"""Elasticsearch wiring: the client and template installation.

`client(cfg)` is the one place an Elasticsearch client is built: HTTPS trust (a CA file or a
certificate fingerprint; verification on unless es_verify is false), then an API key, a user and
password, or the user and password found in the URL, which is moved out of the URL so that no
error message or log line of the client can carry it. `ssl_context` and `auth_header` give the
same trust and credentials to the few plain-HTTP callers (the lab's health check).

The index template is generated from the field schema by logwarden/schema_template.py for the configured
index prefix, so `setup` with LOGWARDEN_INDEX_PREFIX=soc- installs a `soc-*` template and the
documents get the declared mappings whatever the prefix.
"""

from __future__ import annotations

import base64
import logging
import ssl
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from elasticsearch import Elasticsearch

from logwarden import schema_template
from logwarden.config import Config

log = logging.getLogger(__name__)


def bare_url(cfg: Config) -> str:
    """The Elasticsearch URL without user and password (the client gets them separately)."""
    url = urlsplit(cfg.elasticsearch)
    host = url.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{url.port}" if url.port else host
    return urlunsplit((url.scheme, netloc, url.path, url.query, url.fragment))


def credentials(cfg: Config) -> tuple[str, str] | None:
    """(user, password) from es_user/es_password or, failing that, from the URL; None without."""
    if cfg.es_user:
        return cfg.es_user, cfg.es_password
    url = urlsplit(cfg.elasticsearch)
    if url.username:
        return unquote(url.username), unquote(url.password or "")
    return None


def connection_options(cfg: Config) -> dict[str, Any]:
    """The client's keyword arguments for trust and authentication (see the module docstring)."""
    options: dict[str, Any] = {}
    if cfg.es_api_key:
        options["api_key"] = cfg.es_api_key
    elif (pair := credentials(cfg)) is not None:
        options["basic_auth"] = pair
    if urlsplit(cfg.elasticsearch).scheme == "https":
        if not cfg.es_verify_certs:
            log.warning("es_verify is false: the certificate of Elasticsearch at %s is not checked", bare_url(cfg))
            options.update(verify_certs=False, ssl_show_warn=False)
        elif cfg.es_fingerprint:
            options["ssl_assert_fingerprint"] = cfg.es_fingerprint.replace(":", "").lower()
        elif cfg.es_ca_file:
            options["ca_certs"] = cfg.es_ca_file
    return options


def client(cfg: Config, **overrides: Any) -> Elasticsearch:
    """An Elasticsearch client for `cfg`: no retries (callers own their retry policy), the
    configured request timeout, trust and credentials; `overrides` win."""
    options: dict[str, Any] = {"request_timeout": float(cfg.es_timeout), "max_retries": 0, "retry_on_timeout": False}
    options.update(connection_options(cfg))
    options.update(overrides)
    return Elasticsearch(bare_url(cfg), **options)


def ssl_context(cfg: Config) -> ssl.SSLContext | None:
    """The TLS context `client` would use, for urllib callers; None for plain http."""
    if urlsplit(cfg.elasticsearch).scheme != "https":
        return None
    if not cfg.es_verify_certs:
        context = ssl._create_unverified_context()  # noqa: S323 - the user turned verification off
        return context
    return ssl.create_default_context(cafile=cfg.es_ca_file or None)


def auth_header(cfg: Config) -> dict[str, str]:
    """The Authorization header `client` would send, for urllib callers ({} without credentials)."""
    if cfg.es_api_key:
        return {"Authorization": f"ApiKey {cfg.es_api_key}"}
    pair = credentials(cfg)
    if pair is None:
        return {}
    token = base64.b64encode(f"{pair[0]}:{pair[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def templates(index_prefix: str = schema_template.DEFAULT_INDEX_PREFIX) -> dict[str, dict[str, Any]]:
    """The index templates for `index_prefix`, by name (one: every dataset shares the schema)."""
    return {schema_template.template_name(index_prefix): schema_template.index_template(index_prefix)}


def install_templates(es: Elasticsearch, index_prefix: str = schema_template.DEFAULT_INDEX_PREFIX) -> list[str]:
    """Put the templates for `index_prefix` (replacing earlier versions of the same name).

    Returns:
        The names installed.
    Raises:
        elasticsearch.ApiError / TransportError: the server refused or was unreachable.
    """
    names = []
    for name, body in templates(index_prefix).items():
        es.indices.put_index_template(name=name, **body)
        names.append(name)
    return names


def delete_indices(es: Elasticsearch, pattern: str) -> int:
    """Delete the indices matching `pattern`, by name (wildcard deletes are refused by default,
    and 40 names per request keep the request line under Elasticsearch's 4 KiB limit)."""
    names = sorted(es.indices.get(index=pattern, allow_no_indices=True, expand_wildcards="all"))
    for i in range(0, len(names), 40):
        es.indices.delete(index=",".join(names[i:i + 40]), ignore_unavailable=True)
    return len(names)
