"""FortiGate key=value logs (traffic, utm, event) -> ECS firewall documents."""

from logwarden.shippers.fortigate.parser import parse, parse_line, parse_stream

__all__ = ["parse", "parse_line", "parse_stream"]
