"""Huorong (火绒) antivirus: its SQLite log database (log.db) -> ECS AV documents.

Declared here (`SOURCE`, see logwarden/shippers/source.py): not recognisable per line (no
autodetect signature); a log.db is followed by row id per table, and an exported row per line
(JSON) also parses. The reader is in parser.py, imported only when used.
"""

from logwarden.shippers.source import Source, lazy_exports, parser_exports

SOURCE = Source(
    name="huorong",
    package=__name__,
    dataset="av",
    summary="Huorong (火绒) log.db, or its rows as JSON lines",
    parse_stream=".parser:parse_stream",
    read_rows=".parser:read_db",
    positions="row",
    follow=True,
)

__getattr__ = lazy_exports(__name__, parser_exports("parse_line", "parse_stream", "read_db", "row_event"))
