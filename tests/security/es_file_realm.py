"""A test's own Elasticsearch user and role in the secured lab's file realm, changed while a
service runs: the password (as an administrator rotating it would) and the role's privileges.

The lab's Elasticsearch cannot create native users or roles (its test distribution lacks the
analysis module the .security index needs: logwarden/runtime/lab.py), so the user goes into the
file realm's `users`, `users_roles` and `roles.yml` of the lab's install, which Elasticsearch
watches and reloads within about 5 s. Names carry the test's namespace; `remove()` takes every
line of ours out again. The password is stored as a `{PBKDF2}` hash (the format Elasticsearch's
own tool writes with that algorithm: PBKDF2-HMAC-SHA512, 10,000 rounds, 32-byte salt and key).
Each rewrite is a temporary file renamed into place, with the file's owner and mode kept, under
an flock so two tests of this machine never interleave their edits.
"""

from __future__ import annotations

import base64
import copy
import fcntl
import hashlib
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from elasticsearch import ApiError

from logwarden import es_io
from logwarden.config import Config
from logwarden.runtime.lab import Lab

LOCK = Path("/tmp/logwarden-test-file-realm.lock")
RELOAD_TIMEOUT = 60.0  # seconds for Elasticsearch to take a change in (it polls every 5 s)


def pbkdf2_hash(password: str) -> str:
    salt = secrets.token_bytes(32)
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 10_000, 32)
    return f"{{PBKDF2}}10000${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def writer_privileges(index_prefix: str) -> list[dict[str, Any]]:
    """What the indexer's role grants (logwarden/access.py), over `index_prefix`* only."""
    return [{"names": [f"{index_prefix}*"], "privileges": ["create_doc", "create_index", "auto_configure",
                                                           "maintenance"]}]


class FileRealmUser:
    """`name` with a password and a role of its own (`<name>-role`), made by `create`."""

    def __init__(self, lab: Lab, name: str) -> None:
        self.config_dir = lab.es_dir / "dist" / "config"
        self.lab_cfg = lab.cfg
        self.name = name
        self.role = f"{name}-role"
        self.password = ""

    def create(self, password: str, indices: list[dict[str, Any]]) -> None:
        """Add the role, the user and its password; returns once Elasticsearch accepts them."""
        self._set_role(indices)
        self._edit("users_roles", lambda lines: [*lines, f"{self.role}:{self.name}\n"])
        self.set_password(password)

    def config(self, cfg: Config) -> Config:
        """`cfg` authenticating as this user (with its current password)."""
        mine = copy.copy(cfg)
        mine.es_user, mine.es_password, mine.es_api_key = self.name, self.password, ""
        return mine

    def set_password(self, password: str) -> None:
        """Store `password` as the user's; returns once Elasticsearch accepts it."""
        entry = f"{self.name}:{pbkdf2_hash(password)}\n"
        self._edit("users", lambda lines: [*(x for x in lines if not x.startswith(f"{self.name}:")), entry])
        self.password = password
        self._until(lambda: self._authenticates(password), f"{self.name} authenticated with the new password")

    def set_indices(self, indices: list[dict[str, Any]], probe_index: str, allowed: bool) -> None:
        """Give the role `indices`; returns once Elasticsearch says the user may (`allowed`) or
        may not create documents in `probe_index`."""
        self._set_role(indices)
        self._until(lambda: self._may_create(probe_index) == allowed,
                    f"{self.name} {'allowed' if allowed else 'refused'} to write {probe_index}")

    def remove(self) -> None:
        self._edit("users", lambda lines: [x for x in lines if not x.startswith(f"{self.name}:")])
        self._edit("users_roles", lambda lines: [x for x in lines if x.strip() != f"{self.role}:{self.name}"])
        self._edit_roles(lambda roles: roles.pop(self.role, None))

    # -- the files
    def _set_role(self, indices: list[dict[str, Any]]) -> None:
        self._edit_roles(lambda roles: roles.__setitem__(self.role, {"indices": indices}))

    def _edit_roles(self, change: Callable[[dict[str, Any]], object]) -> None:
        def rewrite(lines: list[str]) -> list[str]:
            roles = yaml.safe_load("".join(lines)) or {}
            change(roles)
            return [yaml.safe_dump(roles, sort_keys=False)]

        self._edit("roles.yml", rewrite)

    def _edit(self, name: str, change: Callable[[list[str]], list[str]]) -> None:
        path = self.config_dir / name
        with _locked():
            stat = path.stat()
            lines = path.read_text().splitlines(keepends=True)
            text = "".join(change([x if x.endswith("\n") else x + "\n" for x in lines]))
            tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
            tmp.write_text(text)
            os.chown(tmp, stat.st_uid, stat.st_gid)
            os.chmod(tmp, stat.st_mode & 0o777)
            os.replace(tmp, path)

    # -- what Elasticsearch says
    def _authenticates(self, password: str) -> bool:
        mine = self.config(self.lab_cfg)
        mine.es_password = password
        try:
            es_io.client(mine).security.authenticate()
        except ApiError:
            return False
        return True

    def _may_create(self, index: str) -> bool:
        try:
            answer = es_io.client(self.config(self.lab_cfg)).security.has_privileges(
                index=[{"names": [index], "privileges": ["create_doc"]}])
        except ApiError:
            return False
        return bool(answer["has_all_requested"])

    @staticmethod
    def _until(condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + RELOAD_TIMEOUT
        while not condition():
            assert time.monotonic() < deadline, f"Elasticsearch did not reload its file realm: not {what}"
            time.sleep(0.5)


@contextmanager
def _locked() -> Iterator[None]:
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def file_realm_user(lab: Lab, name: str, indices: list[dict[str, Any]]) -> Iterator[FileRealmUser]:
    """A FileRealmUser with a random password, removed afterwards."""
    user = FileRealmUser(lab, name)
    try:
        user.create(secrets.token_urlsafe(16), indices)
        yield user
    finally:
        user.remove()
