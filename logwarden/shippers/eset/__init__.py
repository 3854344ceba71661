"""ESET (PROTECT / Security Management Center) JSON syslog export -> ECS AV documents."""

from logwarden.shippers.eset.parser import parse, parse_line, parse_stream

__all__ = ["parse", "parse_line", "parse_stream"]
