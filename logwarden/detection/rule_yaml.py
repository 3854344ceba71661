"""Reading one Sigma rule file, within limits checked before any YAML parsing.

A rule file is a few kilobytes; a 65 MB one took minutes and 1.4 GB in `rules check` and `hunt`
(PyYAML and pySigma build objects many times the text's size). So a file over
MAX_RULE_FILE_BYTES, or with more than MAX_RULES_PER_FILE YAML documents (`---` lines), is
refused with a RuleLimitError before it is parsed; the commands report it as a rule error (exit 1)
and go on with the other files. The limits are constants, not settings: raise them here if a real
rule set ever needs it.

YAML aliases (`*name`) are refused while parsing: nine nested lists of nine aliases make a 622-byte
file that pySigma expands to 387 million values (measured: over 60 s and 2.7 GB before it was
stopped). Sigma rules have no use for them. Both limits are `logwarden/bounded_yaml.py`'s, shared
with the config file and the dashboard sources.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from logwarden.bounded_yaml import YamlLimitError, load_all, read_bounded

MAX_RULE_FILE_BYTES = 1024 * 1024  # the largest Sigma rule in SigmaHQ is well under 100 KB
MAX_RULES_PER_FILE = 1000

_SEPARATOR = re.compile(rb"^---(?:[ \t]|\r?$)", re.MULTILINE)


RuleLimitError = YamlLimitError  # over a limit (message: which, the file's figure and the limit)


def read_rule_bytes(path: Path) -> bytes:
    """The file's bytes, reading at most MAX_RULE_FILE_BYTES + 1 (a device or a FIFO cannot make
    it read forever).

    Raises:
        RuleLimitError: the file is larger than MAX_RULE_FILE_BYTES.
        OSError: the file cannot be read.
    """
    try:
        return read_bounded(path, MAX_RULE_FILE_BYTES, "MAX_RULE_FILE_BYTES")
    except YamlLimitError as exc:
        raise RuleLimitError(f"rule {exc}") from None


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
    return [d for d in load_all(data.decode("utf-8"), "rule files") if d]
