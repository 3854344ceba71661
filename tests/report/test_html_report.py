"""The HTML report in a real headless browser (Debian chromium): the script runs under the
report's CSP, the chart is drawn (screenshot pixels), and hostile log values stay text."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from logwarden.cli import main
from logwarden.shippers.windows import synth
from tests.report import events
from tests.report.png import read_rgb

PWN = "document.title='pwned';alert(1)"
HOSTILE = {
    "service_name": f"securebootthemes<img src=x onerror=\"{PWN}\">",
    "image_path": f"C:\\ProgramData\\xmrig.exe </script><script>{PWN}</script>",
    "command_line": f"vssadmin.exe delete shadows /all javascript:{PWN} \u202egpj.exe",
    "threat": f"<a href=\"javascript:{PWN}\">Ransom:Win32/Phobos</a>",
}
HIGH_RED = (0xD3, 0x2F, 0x2F)  # the chart's colour for `high` (report.js COLORS)


class _Elements(HTMLParser):
    """Every element of a page with its attribute names."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)
        self._in_title = tag == "title" and not self.title  # the page's, not a chart bar's tooltip

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            self._in_title = False


def _browser(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1400", *args],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def report(tmp_path: Path, capsys) -> Path:
    xml = tmp_path / "events.xml"
    xml.write_text(synth.events(*events.brute_force(25), *events.incident(**HOSTILE)), encoding="utf-8")
    out = tmp_path / "report.html"
    assert main(["hunt", str(xml), "--format", "html", "-o", str(out)]) == 0
    capsys.readouterr()
    return out


def test_the_file_is_self_contained_with_a_strict_csp(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = csp.group(1)
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    nonce = re.search(r"script-src 'nonce-([A-Za-z0-9_-]+)'", policy)
    assert nonce is not None
    assert page.count("<script") == 2  # the data block and the one script carrying the nonce
    assert f'<script nonce="{nonce.group(1)}">' in page
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", page)  # nothing loaded from anywhere


def test_browser_renders_report_and_hostile_values_stay_text(report: Path, chromium: str, tmp_path: Path) -> None:
    dom = _browser(chromium, tmp_path, "--dump-dom", f"{report.as_uri()}#open-all").stdout
    assert 'data-ready="1"' in dom, "the report's script did not run (CSP nonce?)"
    page = _Elements()
    page.feed(dom)
    assert page.title == "logwarden hunt report"  # the hostile values would have set it to "pwned"
    assert not page.tags & {"img", "a", "iframe", "object", "embed", "form"}
    assert not {a for a in page.attributes if a.startswith("on") or a in ("href", "src", "action")}
    assert page.tags >= {"svg", "rect", "table", "details"}
    rows = re.findall(r'<tr class="alert"', dom)
    assert len(rows) == 4  # one brute force (25 failed logons, count 20 from the window) + 3 single events
    assert "&lt;img src=x onerror=" in dom  # shown, as text
    assert "&lt;a href=\"javascript:document.title" in dom
    assert "\u202e" not in dom and "\\u202egpj.exe" in dom  # bidi override shown as an escape
    assert 'data-bars="' in dom and not re.search(r'data-bars="0"', dom)
    assert "Contributing events (1)" in dom and "record 501" in dom


def test_screenshot_shows_the_chart(report: Path, chromium: str, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    result = _browser(chromium, tmp_path, f"--screenshot={shot}", report.as_uri())
    assert shot.exists(), result.stderr[-2000:]
    width, height, pixels = read_rgb(shot)
    assert (width, height) == (1280, 1400)
    assert len(set(pixels)) > 50, "the page is blank"
    near = [p for p in pixels if all(abs(c - h) <= 12 for c, h in zip(p, HIGH_RED, strict=True))]
    assert len(near) > 200, "no `high` bar drawn in the timeline"
    chart_band = [p for i, p in enumerate(pixels) if 120 <= i // width <= 400
                  and all(abs(c - h) <= 12 for c, h in zip(p, HIGH_RED, strict=True))]
    assert len(chart_band) > 100, "the red is not where the chart is"
