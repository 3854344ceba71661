"""`logwarden`: one CLI with subcommands. Each subcommand lives in logwarden/commands/<name>.py
and exposes `register(subparsers)`, which adds its parser and sets `func(args) -> int`.

Errors follow logwarden/errors.py: a command raises a typed error (or a client library raises
its own), and `main` prints one line on stderr and returns the README's exit code: 0 ok,
1 problems in the input, 2 usage or config error, 3 a server unreachable or refusing,
70 a bug in logwarden (`--debug` prints its traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from logwarden import errors, logs
from logwarden.safe_text import printable, redact_credentials

COMMANDS = ("lab", "setup", "ship", "index", "parse", "detect", "stream", "hunt", "rules", "dashboards")


class _Parser(argparse.ArgumentParser):
    """argparse with the usage error on one line of stderr, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(errors.EXIT_USAGE, f"{self.prog}: {printable(message)} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="logwarden",
        description="Log-pipeline plugins for Kafka + Elasticsearch + Kibana security monitoring.",
        epilog="Exit codes: 0 ok, 1 problems found in the input, 2 usage/config error, "
               "3 a server unreachable or refusing, 70 a bug in logwarden.",
    )
    parser.add_argument("--config", help="YAML config file (default: ./logwarden.yml if present)")
    parser.add_argument("--log-level", default=os.environ.get("LOGWARDEN_LOG_LEVEL", "info"),
                        help=f"services' log level: {', '.join(logs.LEVELS)} (default info; LOGWARDEN_LOG_LEVEL)")
    parser.add_argument("--log-format", default=os.environ.get("LOGWARDEN_LOG_FORMAT", "text"),
                        help="services' log format: text or json (default text; LOGWARDEN_LOG_FORMAT)")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"logwarden.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
    except ImportError as exc:
        return _missing_dependency("logwarden", exc)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return errors.EXIT_USAGE
    prog = f"logwarden {args.command}"
    try:
        _check_named_config(args.config)
        logs.configure(args.log_level, args.log_format)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return errors.EXIT_INTERRUPTED
    except BrokenPipeError:  # `logwarden ... | head`: the reader left; not an error of ours
        _silence_stdout()
        return errors.EXIT_OK
    except ImportError as exc:  # a parser or client imported on first use
        return _missing_dependency(prog, exc)
    except Exception as exc:  # noqa: BLE001 - the one place every error becomes an exit code
        code = errors.exit_code_for(exc)
        if args.debug:
            traceback.print_exc()
        kind = "internal error (a bug; --debug shows the traceback): " if code == errors.EXIT_BUG else ""
        explained = _server_refusal(exc, args.config) if code == errors.EXIT_SERVER else None
        message = printable(redact_credentials(explained or errors.describe(exc)))
        print(f"{prog}: {kind}{message}", file=sys.stderr)
        return code


def _missing_dependency(prog: str, exc: ImportError) -> int:
    """One line and exit 2 for an install that lacks a dependency (a venv made before
    pyproject.toml gained it, a package removed by hand): the fix is to reinstall, not a bug."""
    print(f"{prog}: a dependency is not installed ({printable(exc.name or str(exc))}): reinstall "
          "logwarden (README: `make install`)", file=sys.stderr)
    return errors.EXIT_USAGE


def _check_named_config(option: str | None) -> None:
    """Refuse a config file named by --config or LOGWARDEN_CONFIG that cannot be read, before any
    command runs: commands that never load the configuration (`hunt`, `parse`, `rules`,
    `dashboards`) would otherwise ignore a mistyped name without a word.

    Raises:
        ConfigError: the file does not exist, is a folder, or may not be read.
    """
    named, where = (option, "--config") if option else (os.environ.get("LOGWARDEN_CONFIG"), "LOGWARDEN_CONFIG")
    if not named:
        return
    shown = printable(named)
    if not os.path.exists(named):
        raise errors.ConfigError(f"config {shown} ({where}): no such file")
    if os.path.isdir(named):
        raise errors.ConfigError(f"config {shown} ({where}): is a folder, not a file")
    if not os.access(named, os.R_OK):  # no open(): a FIFO without a writer would block it
        raise errors.ConfigError(f"config {shown} ({where}): cannot be read (permission denied)")


def _server_refusal(exc: BaseException, config_file: str | None) -> str | None:
    """The one line for credentials, a certificate or a permission a server refused (naming the
    server), or None (logwarden/server_errors.py)."""
    if isinstance(exc, errors.LogwardenError):
        return None
    from logwarden import config, server_errors

    try:
        return server_errors.describe(exc, config.load(config_file))
    except errors.LogwardenError:
        return None


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
