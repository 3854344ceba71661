"""The datasets, defined once: what a source may produce (one Kafka topic and one index family
each), plus the alerts the detectors write. Every other list of datasets is derived from these
(the source contract, the field schema, the dashboards' data views)."""

from __future__ import annotations

from typing import Literal, get_args

SourceDataset = Literal["windows", "firewall", "av"]
SOURCE_DATASETS: tuple[str, ...] = get_args(SourceDataset)
DATASETS: tuple[str, ...] = (*SOURCE_DATASETS, "alerts")
DEADLETTER = "deadletter"  # the topic/index family of input no parser accepted
