"""Where and when a figure was measured: written into `validate --json` and `bench --json`, so a
document that copies the figures (tools/doc_figures.py) names the machine that measured them, not
the one that copied them."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def measured_on() -> dict:
    """{"utc": ISO time to the minute, "machine": CPU, architecture, cores, Python}."""
    return {
        "utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu_name()}, {platform.machine()}, {os.cpu_count() or 0} cores, Python {platform.python_version()}",
    }
