"""The error model: one exception type per exit code of the README, mapped by the CLI.

    0  ok
    1  InputError     problems in the input: dead letters, unreadable files, rules that fail
    2  UsageError     bad usage or configuration (ConfigError is one), and OutputError: an
                      output (file, stdout, checkpoint) that cannot be written
    3  ServerError    a server (Kafka, Elasticsearch, Kibana) unreachable or refusing
    70 an unexpected exception: a bug in logwarden (one line; --debug shows the traceback)

Commands raise these (or return 1 when they finished but the input had problems); `cli.main`
prints one line on stderr and exits with the code. `exit_code_for` also classifies the client
libraries' own exceptions, so a connection failure deep in a call is a 3, never a traceback,
and a full disk (ENOSPC, EDQUOT, EFBIG) met anywhere, standard output included, is a 2: the place
the user chose cannot take the output, which is no bug.
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_SERVER = 3
EXIT_BUG = 70  # EX_SOFTWARE (sysexits.h)
EXIT_INTERRUPTED = 130


class LogwardenError(Exception):
    """Base of the errors the CLI reports in one line; `exit_code` says which."""

    exit_code = EXIT_INPUT


class InputError(LogwardenError):
    """The input could not be (fully) read: a missing or unreadable file, a rule that fails."""

    exit_code = EXIT_INPUT


class UsageError(LogwardenError):
    """Bad arguments, or a setting that cannot be used."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """A configuration file or environment value that cannot be used."""


class OutputError(UsageError):
    """A file or stream the command must write cannot take it: a folder, a missing folder, no
    permission, a full disk, a closed stdout. The one rule for every output, report, standard
    output and checkpoint alike: exit 2, one line naming the place (the place the user chose or
    configured is unusable; the input was fine)."""


class ServerError(LogwardenError):
    """A server is unreachable, or refused the request (wrong credentials, a rejected body)."""

    exit_code = EXIT_SERVER


def _is_server_failure(exc: BaseException) -> bool:
    """Exceptions of the Kafka and Elasticsearch clients that mean "the server", not "our bug"."""
    module = type(exc).__module__ or ""
    if module.startswith("kafka"):  # kafka-python: NoBrokersAvailable, KafkaTimeoutError, ...
        return True
    if module.startswith(("elasticsearch", "elastic_transport")):
        return True
    return isinstance(exc, ConnectionError | TimeoutError)


def exit_code_for(exc: BaseException) -> int:
    """The README's exit code for an exception that reached the CLI."""
    if isinstance(exc, LogwardenError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if _is_server_failure(exc):
        return EXIT_SERVER
    if _is_disk_full(exc):
        return EXIT_USAGE
    return EXIT_BUG


_DISK_FULL = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EFBIG))


def _is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _DISK_FULL


def describe(exc: BaseException) -> str:
    """One line for stderr: the message, with the exception type where it adds something."""
    if isinstance(exc, OSError) and _is_disk_full(exc):
        where = f" to {exc.filename}" if exc.filename else ""
        return f"cannot write{where}: {exc.strerror or exc}"
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, LogwardenError):
        text = f"{type(exc).__name__}: {text}"
    return " ".join(text.split())  # one line, whatever the message held
