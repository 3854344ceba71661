"""Windows Firewall pfirewall.log (W3C extended format) -> ECS firewall documents."""

from logwarden.shippers.winfirewall.parser import W3CParser, new_feeder, parse_line, parse_stream

__all__ = ["W3CParser", "new_feeder", "parse_line", "parse_stream"]
