"""The smoke study's report in a real browser: headless Chromium, offline.

Chromium (Debian package ``chromium``, installed by ``.ci/run``) is driven
over its DevTools protocol with ``websockets``; the printed PDF is read
with ``pypdf``. Nothing is installed here: without them the tests skip,
saying why, except in CI (``CI=true``), where they fail.
"""

import base64
import io
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections import defaultdict

import pytest
from smoke_study import TOC

pytestmark = pytest.mark.slow

#: A4 with the report's 14 mm print margins, in CSS pixels (96 per inch).
PAGE_CONTENT_HEIGHT = (297 - 2 * 14) / 25.4 * 96


def need(ok, reason):
    """Skip with ``reason`` unless ``ok``; in CI, fail instead."""
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


class DevTools:
    """A minimal Chrome DevTools protocol client over one page's websocket."""

    def __init__(self, socket):
        self.socket = socket
        self.events = []
        self.next_id = 0

    def send(self, method, **params):
        """Call ``method``; keep the events that arrive before its answer."""
        self.next_id += 1
        self.socket.send(
            json.dumps({"id": self.next_id, "method": method, "params": params})
        )
        while True:
            message = json.loads(self.socket.recv(timeout=120))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_for(self, method, timeout=60):
        """The first event called ``method``, waiting for it if need be."""
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(
                json.loads(
                    self.socket.recv(timeout=max(deadline - time.monotonic(), 0))
                )
            )
        return next(e for e in self.events if e.get("method") == method)

    def evaluate(self, expression):
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True
        )
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"]["value"]


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """A headless Chromium with remote debugging, closed after the module."""
    executable = shutil.which("chromium")
    need(executable, "headless Chromium is not installed (apt-get install chromium)")
    try:
        from websockets.sync.client import connect
    except ImportError:
        need(False, "websockets is not installed (pip install -r requirements-dev.txt)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [
            executable,
            "--headless",
            "--no-sandbox",  # CI containers run as root
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            assert proc.poll() is None, "Chromium exited at start-up"
            assert time.monotonic() < deadline, "Chromium opened no debugging port"
            time.sleep(0.2)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as response:
            pages = [t for t in json.load(response) if t["type"] == "page"]
        with connect(pages[0]["webSocketDebuggerUrl"], max_size=None) as socket:
            yield DevTools(socket)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def page(chromium, study):
    """The report loaded with the network switched off, every event recorded."""
    for domain in ("Page", "Runtime", "Log", "Network"):
        chromium.send(f"{domain}.enable")
    chromium.send(
        "Network.emulateNetworkConditions",
        offline=True,
        latency=0,
        downloadThroughput=-1,
        uploadThroughput=-1,
    )
    chromium.send("Page.navigate", url=(study / "results/report/report.html").as_uri())
    chromium.wait_for("Page.loadEventFired")
    # images decode asynchronously: wait until every one is complete
    chromium.evaluate(
        "Promise.all(Array.from(document.images, i => i.decode().catch(() => null)))"
        ".then(() => true)"
    )
    return chromium


def test_renders_offline_without_console_errors(page):
    requests = [
        e["params"]["request"]["url"]
        for e in page.events
        if e["method"] == "Network.requestWillBeSent"
    ]
    assert requests, "no request recorded at all"
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    errors = [
        e["params"]
        for e in page.events
        if e["method"] == "Runtime.exceptionThrown"
        or (
            e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] == "error"
        )
        or (
            e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"
        )
    ]
    assert errors == []
    assert page.evaluate("document.title")


def test_every_figure_loads_with_a_size(page, study):
    images = page.evaluate(
        """Array.from(document.images, i => {
            const box = i.getBoundingClientRect();
            return {alt: i.alt, complete: i.complete,
                    natural: i.naturalWidth * i.naturalHeight,
                    width: box.width, height: box.height};
        })"""
    )
    pngs = {p.stem for p in (study / "results/figures").glob("*.png")}
    assert {i["alt"] for i in images} == pngs  # every figure is in the report
    broken = [i for i in images if not (i["complete"] and i["natural"] > 0)]
    assert broken == []
    assert all(i["width"] > 100 and i["height"] > 50 for i in images), images


def test_every_contents_link_resolves_to_an_anchor(page):
    toc = page.evaluate("Array.from(document.querySelectorAll('nav a'), a => a.hash)")
    assert toc == [f"#{anchor}" for anchor in TOC]
    dangling = page.evaluate(
        """Array.from(document.querySelectorAll('a[href^="#"]'), a => a.hash)
             .filter(h => !document.getElementById(decodeURIComponent(h.slice(1))))"""
    )
    assert dangling == []


# Per viewport width: every scorecard word (letters and digits; a name may
# wrap after an underscore) on one line, and how far the table may overflow
# its scrolling box (a narrow window scrolls it rather than break words), and
# which of the page's blocks stick out of the window.
SCORECARD_LAYOUT = """(() => {
    const broken = [];
    for (const td of document.querySelectorAll('table.scorecard td')) {
        const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const m of node.data.matchAll(/[A-Za-z0-9]+/g)) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const lines = new Set(
                    Array.from(range.getClientRects(), r => Math.round(r.top)));
                if (lines.size > 1) broken.push(m[0]);
            }
        }
    }
    const box = document.querySelector('table.scorecard').parentElement;
    // whatever sticks out of the page's own width, named by its first words
    const page = document.documentElement.clientWidth;
    const wide = Array.from(document.querySelectorAll('body > *'))
        .filter(e => e.getBoundingClientRect().right > page + 0.5)
        .map(e => e.tagName + ': ' + e.textContent.trim().slice(0, 60));
    return {broken: broken, overflow: box.scrollWidth - box.clientWidth, wide: wide};
})()"""


@pytest.mark.parametrize("width", [1280, 1100, 900])
def test_scorecard_breaks_no_word_and_fits_a_desktop_window(page, width):
    page.send(
        "Emulation.setDeviceMetricsOverride",
        width=width,
        height=900,
        deviceScaleFactor=1,
        mobile=False,
    )
    try:
        layout = page.evaluate(SCORECARD_LAYOUT)
    finally:
        page.send("Emulation.clearDeviceMetricsOverride")
    assert layout["broken"] == []
    if width >= 1100:
        assert layout["overflow"] <= 0
        assert layout["wide"] == []  # no horizontal scrollbar on the page


def test_prints_to_pdf_without_cut_figures(page):
    try:
        import pypdf
    except ImportError:
        need(False, "pypdf is not installed (pip install -r requirements-dev.txt)")
    page.send("Emulation.setEmulatedMedia", media="print")
    try:
        figures = page.evaluate(
            """Array.from(document.querySelectorAll('figure'), f => {
                const img = f.querySelector('img');
                return {alt: img.alt, src: img.src,
                        size: img.naturalWidth + 'x' + img.naturalHeight,
                        height: f.getBoundingClientRect().height,
                        breakInside: getComputedStyle(f).breakInside};
            })"""
        )
    finally:
        page.send("Emulation.setEmulatedMedia", media="")
    # a figure kept whole (break-inside: avoid) that fits a page is never cut
    assert {f["breakInside"] for f in figures} == {"avoid"}
    too_tall = [f["alt"] for f in figures if f["height"] > PAGE_CONTENT_HEIGHT]
    assert too_tall == []
    pdf = base64.b64decode(
        page.send("Page.printToPDF", preferCSSPageSize=True, printBackground=True)[
            "data"
        ]
    )
    assert pdf[:5] == b"%PDF-"
    # and the printed PDF draws every figure on as many pages as the report
    # uses it (some figures appear twice): a figure cut across a page break
    # is drawn, clipped, on one page more. Images are told apart by size.
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 1
    printed = {}
    for number, pdf_page in enumerate(reader.pages):
        for ref, image in _images(pdf_page.get("/Resources")).items():
            size = f"{image['/Width']}x{image['/Height']}"
            printed.setdefault(size, defaultdict(set))[ref].add(number)
    used = defaultdict(lambda: defaultdict(int))
    for figure in figures:
        used[figure["size"]][figure["src"]] += 1
    assert {size: len(images) for size, images in printed.items()} == {
        size: len(srcs) for size, srcs in used.items()
    }
    for size, images in printed.items():
        assert sum(map(len, images.values())) <= sum(used[size].values()), size


def _images(resources):
    """The images a PDF page draws (through nested forms), by object number."""
    xobjects = None if resources is None else resources.get_object().get("/XObject")
    if xobjects is None:
        return {}
    images = {}
    for ref in xobjects.get_object().values():
        obj = ref.get_object()
        if obj.get("/Subtype") == "/Image":
            images[ref.idnum] = obj
        elif obj.get("/Subtype") == "/Form":
            images.update(_images(obj.get("/Resources")))
    return images
