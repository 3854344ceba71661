"""A SCRAM-SHA-512 Kafka user of a test's own, for the tests that have the secured lab refuse a
working client (a password changed, an ACL removed) without touching anybody else's user.

`ScramUser(cfg, role)` is named after the namespace (`<prefix>-<role>`); its ACLs are PREFIXED on
the namespace's topic prefix (topics, and consumer groups: tests name theirs with that prefix,
tests.services.helpers.group). `own_scram_user` creates one with a random password and the
operations given, and removes its ACLs and credentials afterwards."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourceType,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from logwarden.config import Config
from logwarden.kafka_io import admin


class ScramUser:
    """A SCRAM-SHA-512 user of the test's own with ACLs on the namespace's topics and groups."""

    def __init__(self, cfg: Config, role: str) -> None:
        self.cfg = cfg
        self.name = f"{cfg.topic_prefix.rstrip('.')}-{role}"
        self.password = ""
        self.topics = ResourcePattern(ResourceType.TOPIC, cfg.topic_prefix, ACLResourcePatternType.PREFIXED)
        self.groups = ResourcePattern(ResourceType.GROUP, cfg.topic_prefix, ACLResourcePatternType.PREFIXED)

    def _admin(self, call: Callable[[Any], Any]) -> Any:
        admin_client = admin(self.cfg)
        try:
            return call(admin_client)
        finally:
            admin_client.close()

    def set_password(self, password: str) -> None:
        result = self._admin(lambda a: a.alter_user_scram_credentials(
            [UserScramCredentialUpsertion(self.name, ScramMechanism.SCRAM_SHA_512, password)]))
        assert result == {self.name: None}, result
        self.password = password

    def allow(self, operations: Iterable[ACLOperation], groups: Iterable[ACLOperation] = ()) -> None:
        """ALLOW `operations` on the namespace's topics and `groups` on its consumer groups."""
        acls = [ACL(f"User:{self.name}", "*", operation, ACLPermissionType.ALLOW, pattern)
                for pattern, wanted in ((self.topics, operations), (self.groups, groups)) for operation in wanted]
        result = self._admin(lambda a: a.create_acls(acls))
        assert not result["failed"], result

    def deny(self, operation: ACLOperation) -> None:
        """Remove the ACL that allows `operation` on the topics (the others stay)."""
        self._admin(lambda a: a.delete_acls([ACLFilter(f"User:{self.name}", "*", operation, ACLPermissionType.ANY,
                                                       self.topics)]))

    def remove(self) -> None:
        """Every ACL of the user, then its credentials."""
        def remove_all(a: Any) -> None:
            a.delete_acls([ACLFilter(f"User:{self.name}", "*", ACLOperation.ANY, ACLPermissionType.ANY, pattern)
                           for pattern in (self.topics, self.groups)])
            a.alter_user_scram_credentials([UserScramCredentialDeletion(self.name, ScramMechanism.SCRAM_SHA_512)])
        self._admin(remove_all)

    def config(self, kafka_client: str = "kafka-python") -> Config:
        """The namespace's settings as this user, with `kafka_client`'s client."""
        mine = copy.copy(self.cfg)
        mine.kafka_user, mine.kafka_password, mine.kafka_client = self.name, self.password, kafka_client
        return mine


@contextmanager
def own_scram_user(cfg: Config, secure: bool, role: str, operations: Iterable[ACLOperation],
                   groups: Iterable[ACLOperation] = ()) -> Iterator[ScramUser]:
    """A ScramUser with a random password allowed `operations` on the topics and `groups` on the
    groups, removed on leaving. `secure`: the lab's (runtime.lab.Lab.secure); a plaintext lab fails
    the test, as its ACLs would prove nothing."""
    import pytest

    if not secure:
        pytest.fail("the lab runs without security (a plaintext lab was found on its ports)", pytrace=False)
    user = ScramUser(cfg, role)
    try:
        user.set_password(secrets.token_urlsafe(16))
        user.allow(operations, groups)
        yield user
    finally:
        user.remove()


__all__ = ["ScramUser", "own_scram_user"]
