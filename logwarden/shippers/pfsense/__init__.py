"""pfSense / OPNsense filterlog CSV -> ECS firewall documents."""

from logwarden.shippers.pfsense.parser import parse, parse_line, parse_stream

__all__ = ["parse", "parse_line", "parse_stream"]
