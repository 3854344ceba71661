"""`logwarden`: one CLI with subcommands. Each subcommand lives in logwarden/commands/<name>.py
and exposes `register(subparsers)`, which adds its parser and sets `func(args) -> int`.

Exit codes: 0 ok, 1 findings/errors in the input (e.g. rule check failed), 2 usage or config
error, 3 a server could not be reached.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("lab", "setup", "ship", "index", "parse", "detect", "stream", "hunt", "rules", "dashboards")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logwarden",
        description="Log-pipeline plugins for Kafka + Elasticsearch + Kibana security monitoring.",
        epilog="Exit codes: 0 ok, 1 problems found in the input, 2 usage/config error, 3 a server unreachable.",
    )
    parser.add_argument("--config", help="YAML config file (default: ./logwarden.yml if present)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"logwarden.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"logwarden.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
