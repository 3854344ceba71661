"""Linux iptables/nftables/ufw LOG target kernel lines -> ECS firewall documents."""

from logwarden.shippers.iptables.parser import parse, parse_line, parse_stream

__all__ = ["parse", "parse_line", "parse_stream"]
