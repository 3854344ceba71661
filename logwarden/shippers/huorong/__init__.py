"""Huorong (火绒) antivirus: its SQLite log database (log.db) -> ECS AV documents."""

from logwarden.shippers.huorong.parser import parse_line, parse_stream, read_db, row_event

__all__ = ["parse_line", "parse_stream", "read_db", "row_event"]
