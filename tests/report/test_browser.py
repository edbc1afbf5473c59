"""The report in a real headless browser (Debian's chromium): it loads from disk with the
network cut off, shows the verdict and every section, and renders its charts."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.results import RunResults
from report.html import SECTIONS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>")


@pytest.fixture(scope="module")
def chromium() -> str:
    if CHROMIUM is None:
        message = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must install it")
        pytest.skip(message)
    return CHROMIUM


def _run(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180, check=False)


class Dom(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: dict[str, str] = {}
        self.svgs = 0
        self._open: list[tuple[str, str | None, list[str]]] = []  # every open section, span
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.svgs += tag == "svg"
        if tag in ("section", "span"):
            self._open.append((tag, dict(attrs).get("id"), []))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("section", "span") and self._open:
            _, element_id, text = self._open.pop()
            if element_id:
                self.ids[element_id] = " ".join("".join(text).split())

    def handle_data(self, data: str) -> None:
        for _, _, text in self._open:
            text.append(data)


def test_page_renders_in_chromium(chromium: str, built_report: tuple[Path, RunResults],
                                  tmp_path: Path) -> None:
    page, results = built_report
    dumped = _run(chromium, tmp_path, "--dump-dom", page.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = Dom(dumped.stdout)
    assert dom.ids.get("verdict-word") == results.verdict.upper() == "FAIL"
    for section in SECTIONS:
        assert section in dom.ids, f"section {section} missing from the rendered DOM"
    assert "ATK001" in dom.ids["isolation"] and "search_2char" in dom.ids["performance"]
    assert dom.svgs >= 6


def test_screenshot_on_a_laptop_screen(chromium: str, built_report: tuple[Path, RunResults],
                                       tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = _run(chromium, tmp_path, "--window-size=1366,768", f"--screenshot={shot}",
                built_report[0].as_uri())
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1366, 768)
    assert len(data) > 20_000  # a rendered page, not a blank one
