"""Windows event logs -> ECS documents (Winlogbeat shape + Elastic's security/sysmon enrichment).

Declared here (`SOURCE`, see logwarden/shippers/source.py): a record parser (EVTX, event XML,
JSON lines are files of records, not lines), positions are record ordinals, not followed (use
`ship evtx`, which resumes by checkpoint).

Public API (others depend on these names), imported on first use:
- parse_stream(path, data): EVTX, Windows event XML or JSON lines from a byte stream
- iter_file(path, skip=0): the same for a file, resuming after `skip` records
- iter_paths(paths): files and folders -> sorted input files
- normalise(event, source=""): one pyevtx-rs style record -> ECS document
- to_event(doc, position): the Event with its deterministic id
"""

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from logwarden.shippers.source import Source, lazy_exports

if TYPE_CHECKING:
    from logwarden.shippers.windows.normalise import normalise, to_event
    from logwarden.shippers.windows.stream import iter_file, iter_paths, parse_stream

SOURCE = Source(
    name="windows",
    package=__name__,
    dataset="windows",
    summary="Windows .evtx, event XML, evtx_dump / Winlogbeat JSON lines",
    parse_line=None,
    parse_stream=".stream:parse_stream",
    positions="record",
)

__getattr__ = lazy_exports(__name__, {
    "iter_file": ".stream:iter_file",
    "iter_paths": ".stream:iter_paths",
    "parse_stream": ".stream:parse_stream",
    "normalise": ".normalise:normalise",
    "to_event": ".normalise:to_event",
})
__all__ = ["SOURCE", "iter_file", "iter_paths", "normalise", "parse_stream", "to_event"]


class _Package(ModuleType):
    """`normalise` is both a submodule and the function exported under that name. Importing the
    submodule sets the package attribute to the module; this keeps the name for the function
    (what `from logwarden.shippers.windows import normalise` always returned), loaded on use."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "normalise" and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
