"""`logwarden dashboards import --kibana URL` against a stand-in for Kibana's import API (Kibana
cannot run here): the request is the documented multipart POST with kbn-xsrf, and the answer's
errors decide the exit code."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from logwarden.dashboards import OUT
from tests.support.paths import ROOT


class Recorder(BaseHTTPRequestHandler):
    requests: list[dict] = []
    answer: dict = {}
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        Recorder.requests.append({"path": self.path, "headers": headers, "body": body})
        data = json.dumps(Recorder.answer).encode()
        self.send_response(Recorder.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def kibana():
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Recorder.requests = []
    Recorder.status = 200
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _import(url: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logwarden.cli", "dashboards", "import", "--kibana", url, *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "LOGWARDEN_KIBANA_PASSWORD": "s3cret", **(env or {})})


def test_import_posts_the_file(kibana):
    n = OUT.read_text(encoding="utf-8").count("\n")
    Recorder.answer = {"success": True, "successCount": n, "errors": []}
    r = _import(kibana, "--space", "soc", "--user", "elastic")
    assert r.returncode == 0, r.stderr
    assert f"imported {n} objects" in r.stdout
    (req,) = Recorder.requests
    assert req["path"] == "/s/soc/api/saved_objects/_import?overwrite=true"
    assert req["headers"]["kbn-xsrf"] == "true"
    assert req["headers"]["authorization"].startswith("Basic ")
    assert req["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert OUT.read_bytes() in req["body"] and b'name="file"; filename="logwarden.ndjson"' in req["body"]


def test_import_errors_exit_1(kibana):
    Recorder.answer = {"success": False, "successCount": 0,
                       "errors": [{"type": "dashboard", "id": "x", "title": "Alerts", "error": {"type": "conflict"}}]}
    r = _import(kibana)
    assert r.returncode == 1 and "conflict" in r.stderr


def test_import_refused_exit_3_one_line_no_secret(kibana):
    Recorder.status, Recorder.answer = 401, {"statusCode": 401, "error": "Unauthorized", "message": "bad\ncredentials"}
    r = _import(kibana, "--user", "elastic")
    assert r.returncode == 3, r.stderr
    error = r.stderr.strip().splitlines()[-1]  # after the line naming the prefix the objects were built for
    assert error.startswith("logwarden dashboards: Kibana at") and "refused the import (401)" in error
    assert "Traceback" not in r.stderr
    assert "s3cret" not in r.stderr + r.stdout


def test_import_unreachable_exit_3():
    r = _import("http://127.0.0.1:9", "--timeout", "5")
    assert r.returncode == 3 and "unreachable" in r.stderr


def _posted_objects(req: dict) -> list[dict]:
    body = req["body"]
    start = body.index(b"\r\n\r\n") + 4
    end = body.rindex(b"\r\n--")
    return [json.loads(line) for line in body[start:end].decode().splitlines() if line]


def test_import_generates_the_objects_for_the_configured_site(kibana):
    Recorder.answer = {"success": True, "successCount": 1, "errors": []}
    r = _import(kibana, env={"LOGWARDEN_INDEX_PREFIX": "soc-", "LOGWARDEN_INTERNAL_NETWORKS": "198.18.0.0/15"})
    assert r.returncode == 0, r.stderr
    objects = _posted_objects(Recorder.requests[-1])
    titles = {o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    assert titles == {"soc-windows-*", "soc-firewall-*", "soc-av-*", "soc-alerts-*", "soc-deadletter-*",
                      "soc-windows-*,soc-firewall-*,soc-av-*"}
    queries = [json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
               for o in objects if o["type"] in ("visualization", "search")]
    assert sum('"198.18.0.0/15"' in q for q in queries) == 4  # the site's range in every "public" query
    r = _import(kibana, "--index-prefix", "edr-")
    assert r.returncode == 0, r.stderr
    assert "edr-windows-*" in {o["attributes"]["title"] for o in _posted_objects(Recorder.requests[-1])}


def test_import_refuses_a_bad_prefix(kibana):
    r = _import(kibana, "--index-prefix", "SOC-")
    assert r.returncode == 2 and "index_prefix" in r.stderr and not Recorder.requests
