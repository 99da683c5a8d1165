"""tools/doc_figures.py: figures are copied into a document with the measuring machine and time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "doc_figures.py"


def _run(*args):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True)


def test_the_block_gets_the_figures_and_the_machine_that_measured_them(tmp_path):
    report = {"quick": False, "measured_on": {"utc": "2026-01-02 03:04 UTC", "machine": "Test CPU, x86_64, 2 cores"},
              "figures": [{"group": "virtual", "name": "stride F1", "value": 0.99, "unit": "", "target": ">= 0.99",
                           "met": True, "note": "a|b"}], "suites": {}}
    (tmp_path / "v.json").write_text(json.dumps(report))
    doc = tmp_path / "doc.md"
    doc.write_text("before\n<!-- validate -->\nold table\n<!-- /validate -->\nafter\n")
    out = _run(tmp_path / "v.json", "validate", doc)
    assert out.returncode == 0, out.stderr
    text = doc.read_text()
    assert "old table" not in text and text.startswith("before\n") and text.endswith("after\n")
    assert "on 2026-01-02 03:04 UTC, Test CPU, x86_64, 2 cores" in text
    assert "| virtual | stride F1 | 0.99 | >= 0.99 | yes | a\\|b |" in text


def test_a_document_without_the_block_is_refused_and_left_alone(tmp_path):
    (tmp_path / "v.json").write_text(json.dumps({"figures": [], "suites": {}}))
    doc = tmp_path / "doc.md"
    doc.write_text("no block here\n")
    out = _run(tmp_path / "v.json", "validate", doc)
    assert out.returncode != 0 and "no <!-- validate -->" in (out.stderr + out.stdout)
    assert doc.read_text() == "no block here\n"


def test_an_old_report_says_the_machine_named_is_the_copying_one(tmp_path):
    (tmp_path / "v.json").write_text(json.dumps({"figures": [], "suites": {}}))
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- validate -->\n<!-- /validate -->\n")
    out = _run(tmp_path / "v.json", "validate", doc)
    assert out.returncode == 0, out.stderr
    assert "(the copying machine)" in doc.read_text()
