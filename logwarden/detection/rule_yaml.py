"""Reading one Sigma rule file, within limits checked before any YAML parsing.

A rule file is a few kilobytes; a 65 MB one took minutes and 1.4 GB in `rules check` and `hunt`
(PyYAML and pySigma build objects many times the text's size). So a file over
MAX_RULE_FILE_BYTES, or with more than MAX_RULES_PER_FILE YAML documents (`---` lines), is
refused with a RuleLimitError before it is parsed; the commands report it as a rule error (exit 1)
and go on with the other files. The limits are constants, not settings: raise them here if a real
rule set ever needs it.

YAML aliases (`*name`) are refused while parsing: nine nested lists of nine aliases make a 622-byte
file that pySigma expands to 387 million values (measured: over 60 s and 2.7 GB before it was
stopped). Sigma rules have no use for them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

MAX_RULE_FILE_BYTES = 1024 * 1024  # the largest Sigma rule in SigmaHQ is well under 100 KB
MAX_RULES_PER_FILE = 1000

_SEPARATOR = re.compile(rb"^---(?:[ \t]|\r?$)", re.MULTILINE)


class RuleLimitError(ValueError):
    """The file is over a limit (message: which, the file's figure and the limit)."""


def read_rule_bytes(path: Path) -> bytes:
    """The file's bytes, reading at most MAX_RULE_FILE_BYTES + 1 (a device or a FIFO cannot make
    it read forever).

    Raises:
        RuleLimitError: the file is larger than MAX_RULE_FILE_BYTES.
        OSError: the file cannot be read.
    """
    with open(path, "rb") as fh:
        data = fh.read(MAX_RULE_FILE_BYTES + 1)
    if len(data) > MAX_RULE_FILE_BYTES:
        try:
            size = f"{path.stat().st_size:,} bytes"
        except OSError:
            size = "larger"
        raise RuleLimitError(f"rule file too large: {size}, the limit is {MAX_RULE_FILE_BYTES:,} bytes "
                             "(MAX_RULE_FILE_BYTES); not parsed")
    return data


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases (anchors alone are harmless)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise RuleLimitError(f"YAML alias *{event.anchor} at line {event.start_mark.line + 1}: aliases are "
                                 "not allowed in rule files (a few bytes of them can expand to billions of values)")
        return super().compose_node(parent, index)


def load_rule_documents(path: Path) -> list[Any]:
    """The non-empty YAML documents of a rule file.

    Raises:
        RuleLimitError: over MAX_RULE_FILE_BYTES or MAX_RULES_PER_FILE (checked before parsing), or
            the file uses a YAML alias.
        UnicodeDecodeError: not UTF-8.
        yaml.YAMLError: not YAML.
        OSError: the file cannot be read.
    """
    data = read_rule_bytes(path)
    documents = len(_SEPARATOR.findall(data)) + 1
    if documents > MAX_RULES_PER_FILE:
        raise RuleLimitError(f"too many rules in one file: {documents:,} YAML documents, the limit is "
                             f"{MAX_RULES_PER_FILE:,} (MAX_RULES_PER_FILE); not parsed")
    return [d for d in yaml.load_all(data.decode("utf-8"), Loader=_NoAliasLoader) if d]
