"""The incident replay (`logwarden lab replay phobos`): INCIDENT.md re-enacted as native logs.

One module per concern:
- `model`: what a generated record is (`Record`: time, host, source, payload, incident row) and
  the INCIDENT.md rows (`ROWS`) with the rules each one must raise;
- `timeline`: the attacker's records, row by row (13-14 April 2020);
- `background`: benign office activity, seeded, `scale` times over (must raise no alert);
- `writers`: records -> files in each source's native format (event XML, SecGate syslog,
  pfirewall.log, Huorong rows as JSON lines);
- `path`: the files through each source's own shipper into Kafka, then the indexer into
  Elasticsearch; and the same files parsed for `hunt` (no servers).

Same seed and scale: same files byte for byte, hence the same event ids.
"""
