"""Windows event logs -> ECS documents (Winlogbeat shape + Elastic's security/sysmon enrichment).

Public API (others depend on these names):
- parse_stream(path, data): EVTX, Windows event XML or JSON lines from a byte stream
- iter_file(path, skip=0): the same for a file, resuming after `skip` records
- iter_paths(paths): files and folders -> sorted input files
- normalise(event, source=""): one pyevtx-rs style record -> ECS document
- to_event(doc, position): the Event with its deterministic id
"""

from logwarden.shippers.windows.normalise import normalise, to_event
from logwarden.shippers.windows.stream import iter_file, iter_paths, parse_stream

__all__ = ["iter_file", "iter_paths", "normalise", "parse_stream", "to_event"]
