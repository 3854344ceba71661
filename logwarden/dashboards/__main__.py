"""`python -m logwarden.dashboards build|check|query|import` (same as `logwarden dashboards ...`,
and through the same CLI, so errors become the same one line and exit code)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from logwarden import cli

    return cli.main(["dashboards", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
