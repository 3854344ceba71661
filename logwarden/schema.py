"""The one field schema of logwarden documents, and the one list of datasets.

Datasets: the Kafka topics `<topic_prefix><dataset>` and the indices `<index_prefix><dataset>-DAY`.
The list itself stays in `logwarden.shippers.base` (DATASETS, DEADLETTER: the shipper contract);
this module is where everything else takes it from.
"""

from __future__ import annotations

from logwarden.shippers.base import DATASETS, DEADLETTER

ALERTS = "alerts"
EVENT_DATASETS: tuple[str, ...] = tuple(d for d in DATASETS if d != ALERTS)  # what shippers produce
ALL_DATASETS: tuple[str, ...] = (*DATASETS, DEADLETTER)  # every topic and index family
