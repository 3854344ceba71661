"""Symantec Endpoint Protection Manager syslog -> ECS AV documents."""

from logwarden.shippers.symantec.parser import parse, parse_line, parse_stream

__all__ = ["parse", "parse_line", "parse_stream"]
