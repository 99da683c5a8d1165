#!/usr/bin/env python3
"""Put `stridecue bench --json` or `stridecue validate --json` figures into a document, with the
date and the machine, so that no figure in the docs is typed by hand.

    stridecue bench --only firmware --json > /tmp/bench.json
    python3 tools/doc_figures.py /tmp/bench.json firmware docs/firmware.md
    stridecue validate --json > /tmp/validate.json
    python3 tools/doc_figures.py /tmp/validate.json validate docs/validation.md

Replaces the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` (a bench provider) or
`<!-- validate -->` and `<!-- /validate -->` (every validate figure) in the document with a table
of the figures (name, value, target, met, note), headed by when and where the run was made.
Figures are copied, never edited: the document says what the run measured.
"""

from __future__ import annotations

import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _rows(figures: list, with_group: bool) -> list[str]:
    rows = []
    for f in figures:
        met = {True: "yes", False: "**no**", None: "—"}[f.get("met")]
        value = f"{f['value']} {f.get('unit') or ''}".strip()
        group = f"{_cell(f.get('group', ''))} | " if with_group else ""
        rows.append(f"| {group}{_cell(f['name'])} | {_cell(value)} | {_cell(f.get('target') or '—')} | {met} | {_cell(f.get('note', ''))} |")
    return rows


def table(report: dict, name: str, when: str, machine: str) -> str:
    quick = " --quick" if report.get("quick") else ""
    if name == "validate":
        lines = [f"Measured by `stridecue validate --json`{quick} on {when}, {machine}; copied by `tools/doc_figures.py`.", "",
                 "| suite | figure | measured | target | met | how |", "| --- | --- | --- | --- | --- | --- |"]
        return "\n".join(lines + _rows(report["figures"], True))
    providers = [p for p in report["providers"] if p["name"] == name]
    if not providers:
        raise SystemExit(f"doc_figures: no provider {name!r} in the report")
    provider = providers[0]
    lines = [f"Measured by `stridecue bench --only {name} --json`{quick} on {when}, {machine}; copied by "
             "`tools/doc_figures.py`.", "", "| figure | measured | target | met | how |", "| --- | --- | --- | --- | --- |"]
    lines += _rows(provider.get("figures", []), False)
    for note in provider.get("notes", []):
        lines.append("")
        lines.append(f"Note: {note}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    report_path, name, doc_path = argv
    report = json.loads(Path(report_path).read_text())
    measured = report.get("measured_on")
    if measured:  # written by validate/bench themselves: the machine that measured
        when, machine = measured["utc"], measured["machine"]
    else:  # an older report: the file's time and this machine (the one copying)
        when = datetime.fromtimestamp(Path(report_path).stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        machine = f"{_cpu()}, {platform.machine()}, {_cores()} cores, Python {platform.python_version()} (the copying machine)"
    doc = Path(doc_path)
    text = doc.read_text()
    tag = "validate" if name == "validate" else f"bench:{name}"
    start, end = f"<!-- {tag} -->", f"<!-- /{tag} -->"
    if start not in text or end not in text:
        raise SystemExit(f"doc_figures: {doc_path} has no {start} ... {end} block")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    doc.write_text(f"{head}{start}\n{table(report, name, when, machine)}\n{end}{tail}")
    return 0


def _cpu() -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host"))
    from stridecue.lab.machine import cpu_name

    return cpu_name()


def _cores() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
