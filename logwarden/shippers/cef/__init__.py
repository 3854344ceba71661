"""ArcSight Common Event Format (generic CEF:0/1) -> ECS firewall or AV documents."""

from logwarden.shippers.cef.parser import parse, parse_line, parse_stream, split_cef

__all__ = ["parse", "parse_line", "parse_stream", "split_cef"]
