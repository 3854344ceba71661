"""ClamAV clamd, clamscan and freshclam log lines -> ECS AV documents."""

from logwarden.shippers.clamav.parser import parse, parse_line, parse_stream

__all__ = ["parse", "parse_line", "parse_stream"]
