"""The HTML report: self-contained (no external references), rendered in real headless
Chromium with networking off, and checked for what is on the page."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from test_summary_support import START, make_run, read_png, store_with

from stridecue.errors import UserError
from stridecue.coach.guided import GuidedProtocol, GuidedSettings
from stridecue.review.report import write_report
from stridecue.review.figures import load_summary

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def _chromium():
    if CHROMIUM is None:  # installed by `make test` (tools/apt-packages.txt): fail, never skip
        pytest.fail("chromium is not installed (Debian package from tools/apt-packages.txt; `make test` installs it)")


needs_chromium = pytest.mark.usefixtures("_chromium")


def chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", f"--user-data-dir={tmp / 'chromium-profile'}",
         "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: any network fetch would fail
         *args],
        capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)


class _Page(HTMLParser):
    """Text, elements and attributes of a DOM dump."""

    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "style":
            self._skip += 1

    def handle_endtag(self, tag):
        if tag == "style":
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)

    def count(self, tag: str, cls: str | None = None) -> int:
        return sum(1 for t, a in self.tags if t == tag and (cls is None or cls in (a.get("class") or "").split()))


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    base = tmp_path_factory.mktemp("data")
    for i in range(3):
        make_run(base, START + dt.timedelta(days=2 * i), 10, wobble=7.5 - 0.5 * i, seed=i)
    latest = make_run(base, START + dt.timedelta(days=7), 22, wobble=6.0, fatigue_per_10min=2.0, legs=("left", "right"),
                      cue_times=(240, 600, 900), cue_drop=1.5, seed=9, other_cues=((450, "cadence", "Quicker steps"),))
    guided = make_run(base, START + dt.timedelta(days=8), 6, guided=GuidedProtocol(GuidedSettings(warmup_s=30, baseline_s=60, focus_s=60,
                      normal_s=60)), guided_focus="foot", seed=4)
    out = tmp_path_factory.mktemp("reports")
    paths = {}
    with store_with(base) as store:
        store.sync()
        for key, run_path in (("latest", latest), ("guided", guided)):
            run = store.find(run_path.stem)
            summary = load_summary(store, run)
            paths[key] = (write_report(store, run, summary, out / f"{key}.html"), summary, run)
    return paths, out


def test_report_is_self_contained(reports):
    paths, _ = reports
    text = paths["latest"][0].read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "<script" not in text and "<link" not in text and "@import" not in text and "url(" not in text
    assert text.count("<svg") >= 6


@needs_chromium
def test_report_renders_in_chromium_with_its_content(reports, tmp_path):
    paths, _ = reports
    report, summary, run = paths["latest"]
    done = chromium(["--dump-dom", report.as_uri()], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    page = _Page()
    page.feed(done.stdout)
    text = " ".join(" ".join(page.text).split())
    assert f"Run report: {run['name']}" in text
    for heading in ("What happened", "Over the run", "Distributions", "Minute by minute", "Left and right", "Your runs", "Data quality"):
        assert heading in text, heading
    assert page.count("svg", "wobble-time") == 1 and page.count("svg", "load-time") == 1
    assert page.count("svg", "wobble-hist") == 1 and page.count("svg", "load-hist") == 1
    # a marker per cue (wobble and cadence) on each time chart, a row per minute, a row per run of this runner
    assert page.count("svg", "cadence-time") == 1
    assert page.count("line", "cue-marker") == 3 * (summary["cues"]["count"] + 1) == 12
    assert page.count("tr", "minute") == len(summary["per_minute"]) == 22
    assert page.count("tr", "history-run") == 4 and page.count("tr", "current") == 1
    assert page.count("circle", "run-point") >= 4 * 4  # four trend charts over four runs
    assert f"{summary['wobble_deg']['median']:.1f}°" in text
    # plain-language notes
    assert "The cues helped" in text and "Wobble rose by" in text and "previous 3 runs" in text


@needs_chromium
def test_report_screenshot_is_drawn(reports, tmp_path):
    """The page paints: its screenshot holds far more detail than an empty page's at the same size."""
    paths, out = reports
    blank = out / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    sizes = {}
    for name, page in (("report", paths["latest"][0]), ("blank", blank)):
        png = tmp_path / f"{name}.png"
        done = chromium(["--window-size=1000,2400", f"--screenshot={png}", page.as_uri()], tmp_path)
        assert done.returncode == 0 and png.exists(), done.stderr[-2000:]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        sizes[name] = png.stat().st_size
    assert sizes["report"] > 10 * sizes["blank"]


@needs_chromium
def test_guided_report_names_the_focus_and_exercises(reports, tmp_path):
    paths, _ = reports
    report, summary, _ = paths["guided"]
    assert summary["guided"]["focus"] == "foot"
    done = chromium(["--dump-dom", report.as_uri()], tmp_path)
    page = _Page()
    page.feed(done.stdout)
    text = " ".join(" ".join(page.text).split())
    assert "Hip or foot? Guided run" in text
    assert "Wobble fell more with the foot focus" in text
    assert "Toe and arch strengthening, single-leg balance" in text and "Towel curls" in text
    assert "95% CI" in text
    assert page.count("svg", "guided-wobble") == 1 and page.count("svg", "guided-load") == 1
    assert page.count("rect", "segment-bar") == 2 * 5  # baseline, hip, normal, foot, recheck
    verdict = [a for t, a in page.tags if t == "p" and "verdict" in (a.get("class") or "")]
    assert verdict and verdict[0]["data-focus"] == "foot"


def test_report_never_overwrites(reports):
    paths, _ = reports
    report, summary, run = paths["latest"]
    before = report.read_bytes()
    with pytest.raises(UserError, match="already exists"):
        write_report(None, run, summary, report)  # refused before the store is touched
    assert report.read_bytes() == before


def _layout(report: Path, tmp: Path) -> dict:
    """The laid-out boxes of the report's charts and their labels, measured by Chromium itself: a
    copy of the report with a script that writes getBoundingClientRect() of each into the DOM."""
    script = """<script>
    const out = {};
    for (const svg of document.querySelectorAll('svg.chart')) {
      const box = r => { const b = r.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
      out[svg.classList[1]] = {svg: box(svg), labels: [...svg.querySelectorAll('.threshold-label')].map(
        t => ({text: t.textContent, box: box(t)}))};
    }
    const pre = document.createElement('pre'); pre.id = 'layout'; pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
    </script>"""
    probe = tmp / "probe.html"
    probe.write_text(report.read_text().replace("</body>", script + "</body>"))
    done = chromium(["--window-size=1000,2400", "--dump-dom", probe.as_uri()], tmp)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(html.unescape(re.search(r'<pre id="layout">(.*?)</pre>', done.stdout, re.S).group(1)))


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@needs_chromium
def test_two_leg_threshold_labels_are_apart_and_inside_their_chart(reports, tmp_path):
    """Both legs' thresholds are equal in this run: their labels were drawn on top of each other."""
    paths, _ = reports
    report, summary, _ = paths["latest"]
    assert set(summary["wobble_deg"]["threshold"]) == {"left", "right"}
    layout = _layout(report, tmp_path)
    for chart in ("wobble-time", "wobble-hist"):
        labels = layout[chart]["labels"]
        assert sorted(x["text"].split()[1] for x in labels) == ["left", "right"], labels
        svg = layout[chart]["svg"]
        for x in labels:
            assert svg[0] <= x["box"][0] and x["box"][2] <= svg[2] and svg[1] <= x["box"][1] and x["box"][3] <= svg[3], (chart, x)
        assert not _overlap(labels[0]["box"], labels[1]["box"]), (chart, labels)


def _painted(page: Path, tmp: Path, chart: str, size: tuple[int, int]) -> np.ndarray:
    """Pixels (rows x columns x RGB) of one chart of the report, screenshotted alone by Chromium."""
    svg = re.search(rf'<svg class="chart {chart}".*?</svg>', page.read_text(), re.S).group(0)
    alone = tmp / f"{chart}.html"
    alone.write_text(f'<!DOCTYPE html><html><body style="margin:0">{svg}</body></html>')
    png = tmp / f"{chart}.png"
    done = chromium([f"--window-size={size[0]},{size[1]}", f"--screenshot={png}", "--hide-scrollbars", alone.as_uri()], tmp)
    assert done.returncode == 0 and png.exists(), done.stderr[-2000:]
    return read_png(png)


def _pixels_like(img: np.ndarray, colour: str, tol: int = 40) -> int:
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int(np.sum(np.all(np.abs(img[..., :3].astype(int) - rgb) <= tol, axis=-1)))


@needs_chromium
def test_histograms_draw_each_leg_in_its_colour(reports, tmp_path):
    """Left and right were pooled into one blue histogram: now each leg's strides are its own bars."""
    from stridecue.review.charts import LEG_COLOURS

    paths, _ = reports
    report, summary, run = paths["latest"]
    for chart in ("wobble-hist", "load-hist"):
        block = re.search(rf'<svg class="chart {chart}".*?</svg>', report.read_text(), re.S).group(0)
        counts = {leg: sum(int(n) for n in re.findall(rf'class="bar {leg}" data-count="(\d+)"', block)) for leg in ("left", "right")}
        assert counts == summary["asymmetry"]["strides"], (chart, counts)
    img = _painted(report, tmp_path, "wobble-hist", (420, 220))
    left, right = (_pixels_like(img, LEG_COLOURS[leg]) for leg in ("left", "right"))
    assert left > 500 and right > 500, (left, right)


@needs_chromium
def test_a_cadence_cue_has_its_marker(reports, tmp_path):
    from stridecue.review.charts import CUE_COLOURS

    paths, _ = reports
    report, _summary, _ = paths["latest"]
    page = _Page()
    page.feed(chromium(["--dump-dom", report.as_uri()], tmp_path).stdout)
    assert page.count("line", "cadence") == 3  # one on each time chart
    assert "cadence cue" in " ".join(page.text)
    img = _painted(report, tmp_path, "cadence-time", (860, 240))
    assert _pixels_like(img, CUE_COLOURS["cadence"], tol=30) >= 100  # a line the chart's height


@needs_chromium
def test_tiles_count_what_the_tables_add_up_to(reports, tmp_path):
    paths, _ = reports
    report, summary, run = paths["latest"]
    text = chromium(["--dump-dom", report.as_uri()], tmp_path).stdout
    cards = dict((label.strip(), value.strip()) for value, label in
                 re.findall(r'<div class="card"><b>(.*?)</b><span>(.*?)</span></div>', text))
    minutes = re.findall(r'<tr class="minute">(.*?)</tr>', text)
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in minutes]
    assert int(cards["running strides"]) == sum(int(c[1]) for c in cells) == summary["running_strides"]
    cue_card = next(k for k in cards if k.startswith("cues"))
    assert int(cards[cue_card]) == sum(int(c[-1]) for c in cells) == 4 and "1 cadence" in cue_card
    current = re.search(r'<tr class="history-run current">(.*?)</tr>', text).group(1)
    assert int(re.findall(r"<td>(.*?)</td>", current)[2]) == summary["running_strides"]
