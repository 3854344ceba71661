"""Helpers shared by the test suite, imported as `tests.support.<module>` (tests/ is a package tree:
no sys.path edits, no conftest loaded under another name).

- `paths`: the checkout's root and ../shared/data (`need_shared` skips or, in CI, fails);
- `namespaces`: a test's own topic and index prefixes on the shared servers, and their cleanup;
- `cli`: the `logwarden` CLI run as a subprocess inside a namespace;
- `lab`: the running Kafka + Elasticsearch, and the shared samples indexed once per session;
- `cases`: documents with every string's case swapped (Sigma matching ignores case);
- `wheelhouse`: the wheel built and installed into a fresh venv outside the checkout, offline.
"""
