"""Reading YAML that a person or an attacker may have written, within limits: the one loader for
rule files (`detection/rule_yaml.py`), `logwarden.yml` (`config.py`) and the dashboard sources
(`dashboards/spec.py`).

Two limits, both checked before anything is built from the text:
- size: at most `max_bytes` + 1 bytes are read (a FIFO or a device cannot make it read forever;
  PyYAML builds objects many times the text's size: a 65 MB rule file took minutes and 1.4 GB);
- aliases (`*name`) are refused while parsing: nine nested lists of nine aliases make a 622-byte
  file that expands to 387 million values (measured on a rule file: over 60 s and 2.7 GB). None of
  these files has a use for them; anchors alone are harmless and still load.
The safe loader is used in every case (no Python objects from tags). With libyaml present (PyYAML's
wheels carry it) the text is read by libyaml's parser twice, once for its events (an alias is refused
there, before anything is built) and once to load: 4.8x faster than the pure-Python loader on SigmaHQ's
2,407 Windows rules (35.3 s -> 7.3 s, the same documents), which `hunt` and the tests compile cold.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml


class YamlLimitError(ValueError):
    """The file is over a limit (message: which, the file's figure and the limit)."""


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases; `what` names the kind of file in the message."""

    what = "this file"

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _alias_error(self.peek_event(), self.what)
        return super().compose_node(parent, index)


def read_bounded(path: Path, max_bytes: int, limit_name: str) -> bytes:
    """The file's bytes, reading at most `max_bytes` + 1.

    Raises:
        YamlLimitError: the file is larger than `max_bytes` (the message names `limit_name`).
        OSError: the file cannot be read.
    """
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        try:
            size = f"{path.stat().st_size:,} bytes"
        except OSError:
            size = "larger"
        raise YamlLimitError(f"file too large: {size}, the limit is {max_bytes:,} bytes ({limit_name}); not parsed")
    return data


_C_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def load_all(text: str, what: str) -> Iterator[Any]:
    """The YAML documents of `text`, parsed safely without aliases.

    Raises:
        YamlLimitError: the text uses an alias (`what` names the file's kind in the message).
        yaml.YAMLError: not YAML.
    """
    if _C_LOADER is None:
        return yaml.load_all(text, Loader=_loader(what))  # noqa: S506 - a SafeLoader subclass
    for event in yaml.parse(text, Loader=_C_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise _alias_error(event, what)
    return yaml.load_all(text, Loader=_C_LOADER)  # noqa: S506 - libyaml's safe loader


def _alias_error(event: yaml.AliasEvent, what: str) -> YamlLimitError:
    line = event.start_mark.line + 1 if event.start_mark else "?"
    return YamlLimitError(f"YAML alias *{event.anchor} at line {line}: aliases are not allowed in {what} "
                          "(a few bytes of them can expand to billions of values)")


@functools.cache
def _loader(what: str) -> type[_NoAliasLoader]:
    return type("NoAliasLoader", (_NoAliasLoader,), {"what": what})


def load_file(path: Path, max_bytes: int, limit_name: str, what: str) -> Any:
    """The one YAML document of a file (None when empty), read within `max_bytes`, without aliases.

    Raises:
        YamlLimitError: over `max_bytes`, or an alias.
        UnicodeDecodeError: not UTF-8.
        yaml.YAMLError: not YAML, or more than one document.
        OSError: the file cannot be read.
    """
    documents = list(load_all(read_bounded(path, max_bytes, limit_name).decode("utf-8"), what))
    if len(documents) > 1:
        raise yaml.YAMLError(f"expected one YAML document, found {len(documents)}")
    return documents[0] if documents else None
