"""Cisco ASA / FTD syslog (%ASA-n-NNNNNN) -> ECS firewall documents."""

from logwarden.shippers.cisco_asa.parser import parse, parse_line, parse_stream

__all__ = ["parse", "parse_line", "parse_stream"]
