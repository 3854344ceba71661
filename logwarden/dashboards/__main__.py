"""`python -m logwarden.dashboards build|check|query|import` (same as `logwarden dashboards ...`)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from logwarden.commands import dashboards

    parser = argparse.ArgumentParser(prog="python -m logwarden.dashboards")
    parser.add_argument("--config", help="YAML config file (default: ./logwarden.yml if present)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    dashboards.register(sub)
    args = parser.parse_args(["dashboards", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
