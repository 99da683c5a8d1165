"""tests/ mirrors host/stridecue: one folder per stage (analysis/, link/, record/, coach/, live/,
review/, lab/, sim/, device/), plus firmware/ and shared/.  A few test modules share helpers
(test_summary_support, test_report, mpy): every folder is put on sys.path so they import by name
wherever they are (test module names are unique across folders).

Tests that need the real recordings in ../shared/data skip where that folder is absent (a fresh
clone with nothing beside it).  Such a skip must not pass unnoticed: the run ends with a loud line
naming how many were skipped, and with STRIDECUE_REQUIRE_DATA=1 (a machine that has the data) the
run fails instead."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for _folder in [HERE, *sorted(p for p in HERE.iterdir() if p.is_dir() and p.name.isidentifier() and p.name != "micropython")]:
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

DATA_REASON = "shared data not present"
REALTIME_FOLDERS = {"firmware"}  # the firmware runs paced by the wall clock (its main loop, its bench)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).parent.name in REALTIME_FOLDERS:
            item.add_marker(pytest.mark.realtime)


def _data_skips(terminalreporter) -> list:
    return [r for r in terminalreporter.stats.get("skipped", [])
            if isinstance(r.longrepr, tuple) and DATA_REASON in str(r.longrepr[-1])]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = _data_skips(terminalreporter)
    if skipped:
        terminalreporter.write_sep("!", f"{len(skipped)} tests on real recordings SKIPPED: ../shared/data is missing "
                                        f"(set STRIDECUE_SHARED_DATA); their figures are not checked by this run",
                                   red=True, bold=True)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and os.environ.get("STRIDECUE_REQUIRE_DATA") == "1" and _data_skips(reporter):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
