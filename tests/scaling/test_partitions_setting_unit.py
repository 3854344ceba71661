"""`kafka_partitions`: the partition count `setup` gives new topics, from the file or
LOGWARDEN_KAFKA_PARTITIONS, refused with the variable's name when it is not a count."""

from __future__ import annotations

import pytest

from logwarden.config import Config, ConfigError, load, validate


def test_the_environment_sets_the_partition_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGWARDEN_KAFKA_PARTITIONS", "6")
    assert load().partitions == 6
    monkeypatch.delenv("LOGWARDEN_KAFKA_PARTITIONS")
    assert load().partitions == 2  # the default


@pytest.mark.parametrize("bad", ["0", "-1", "two", "2.5", "1001", ""])
def test_a_partition_count_that_is_not_a_count_is_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match="LOGWARDEN_KAFKA_PARTITIONS"):
        validate(Config(kafka_partitions=bad))
