"""Palo Alto Networks PAN-OS TRAFFIC and THREAT CSV syslog -> ECS firewall documents."""

from logwarden.shippers.panos.parser import parse, parse_line, parse_stream

__all__ = ["parse", "parse_line", "parse_stream"]
